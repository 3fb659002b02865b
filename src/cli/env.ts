import { z } from 'zod';

/** The environment Sluice reads, validated once here; nothing else reads process.env. */
const envSchema = z.object({
  /** The data folder (SQLite store, key file); default `./.sluice`. */
  SLUICE_DATA_DIR: z.string().min(1).optional(),
  /** Encrypts stored MySQL passwords; without it a key file in the data folder is used. */
  SLUICE_SECRET_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** IANA time zone of `daily at HH:00` schedules; default UTC. */
  SLUICE_TIME_ZONE: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone name, like UTC or Europe/Berlin')
    .optional(),
  /** `inline` commits batches on the store's own connection instead of its writer thread. */
  SLUICE_STORE_WRITER: z.enum(['thread', 'inline']).optional(),
});

export interface Env {
  dataDir: string | undefined;
  secretKey: string | undefined;
  /** IANA time zone of daily schedules (SLUICE_TIME_ZONE); default UTC. */
  timeZone: string;
  /** Where the embedded store commits batches (SLUICE_STORE_WRITER); default: its writer thread. */
  storeWriter: 'thread' | 'inline' | undefined;
  /** Any variable, for `passwordEnv` lookups. */
  get(name: string): string | undefined;
}

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`environment: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const frozen = Object.freeze({ ...source });
  return Object.freeze({
    dataDir: parsed.data.SLUICE_DATA_DIR,
    secretKey: parsed.data.SLUICE_SECRET_KEY,
    timeZone: parsed.data.SLUICE_TIME_ZONE ?? 'UTC',
    storeWriter: parsed.data.SLUICE_STORE_WRITER,
    get: (name: string) => frozen[name],
  });
}
