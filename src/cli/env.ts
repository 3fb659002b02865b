/** The environment variables Sluice reads; nothing else reads process.env. */
const STORE_WRITERS = ['thread', 'inline'] as const;

/** A valid IANA time zone name (what Intl accepts). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the variables Sluice reads (by hand: a schema library would cost every command a tenth
 * of a second to load): `SLUICE_DATA_DIR` (the data folder; default `./.sluice`),
 * `SLUICE_SECRET_KEY` (encrypts stored MySQL passwords; without it a key file in the data folder
 * is used), `SLUICE_TIME_ZONE` (IANA zone of `daily at HH:00`; default UTC) and
 * `SLUICE_STORE_WRITER` (`inline` commits batches on the store's own connection instead of its
 * writer thread). Returns the first problem, named like `SLUICE_X: what is wrong`.
 */
function envProblem(source: NodeJS.ProcessEnv): string | undefined {
  const { SLUICE_DATA_DIR, SLUICE_SECRET_KEY, SLUICE_TIME_ZONE, SLUICE_STORE_WRITER } = source;
  if (SLUICE_DATA_DIR !== undefined && SLUICE_DATA_DIR.length === 0) {
    return 'SLUICE_DATA_DIR: must not be empty';
  }
  if (SLUICE_SECRET_KEY !== undefined && SLUICE_SECRET_KEY.length < 16) {
    return 'SLUICE_SECRET_KEY: must be at least 16 characters';
  }
  if (SLUICE_TIME_ZONE !== undefined && !isTimeZone(SLUICE_TIME_ZONE)) {
    return 'SLUICE_TIME_ZONE: must be an IANA time zone name, like UTC or Europe/Berlin';
  }
  if (
    SLUICE_STORE_WRITER !== undefined &&
    !(STORE_WRITERS as readonly string[]).includes(SLUICE_STORE_WRITER)
  ) {
    return `SLUICE_STORE_WRITER: must be one of ${STORE_WRITERS.join(', ')}`;
  }
  return undefined;
}

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
  const problem = envProblem(source);
  if (problem !== undefined) throw new Error(`environment: ${problem}`);
  const frozen = Object.freeze({ ...source });
  return Object.freeze({
    dataDir: source.SLUICE_DATA_DIR,
    secretKey: source.SLUICE_SECRET_KEY,
    timeZone: source.SLUICE_TIME_ZONE ?? 'UTC',
    storeWriter: source.SLUICE_STORE_WRITER as Env['storeWriter'],
    get: (name: string) => frozen[name],
  });
}
