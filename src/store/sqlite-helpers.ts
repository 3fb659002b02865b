/**
 * Plumbing shared by the ports that run on the SQLite store's Kysely instance (tokens, users,
 * data queries, schedules).
 */
import { sql } from './kysely.js';
import type { Kysely } from 'kysely';
import { SluiceError, isSluiceError } from '../core/errors.js';
import type { Database } from './schema.js';

/**
 * Runs `fn`; a driver error becomes SluiceError('STORE_FAILED') with the message
 * `<store> <operation> failed: <driver message>`, a Sluice error passes through.
 */
export async function guard<T>(
  operation: string,
  fn: () => Promise<T>,
  store = 'store',
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isSluiceError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new SluiceError('STORE_FAILED', `${store} ${operation} failed: ${message}`, undefined, {
      cause: err,
    });
  }
}

/** One IMMEDIATE transaction (takes the write lock first: read-then-write never hits BUSY). */
export async function writeImmediate<T>(
  db: Kysely<Database>,
  fn: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (err) {
      // SQLite may have rolled back already (SQLITE_FULL, ...): a second ROLLBACK would throw.
      await sql`ROLLBACK`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}
