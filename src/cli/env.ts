import { z } from 'zod';

/** The environment Sluice reads, validated once here; nothing else reads process.env. */
const envSchema = z.object({
  /** The data folder (SQLite store, key file); default `./.sluice`. */
  SLUICE_DATA_DIR: z.string().min(1).optional(),
  /** Encrypts stored MySQL passwords; without it a key file in the data folder is used. */
  SLUICE_SECRET_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
});

export interface Env {
  dataDir: string | undefined;
  secretKey: string | undefined;
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
    get: (name: string) => frozen[name],
  });
}
