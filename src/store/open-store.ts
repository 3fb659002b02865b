import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../core/errors.js';
import { openSecretBox } from './secret-box.js';
import type { ScheduleStore } from './schedule-store.js';
import { openSqliteScheduleStore } from './sqlite-schedule-store.js';
import { openSqliteOutboxStore } from './sqlite-outbox-store.js';
import {
  openSqliteStore,
  sqliteKyselyOf,
  sqliteSinkTokenOf,
  type SqliteStoreOptions,
} from './sqlite-store.js';
import type { DataQueries } from './data-queries.js';
import { openSqliteDataQueries } from './sqlite-data-queries.js';
import { openSqliteTokenStore } from './sqlite-token-store.js';
import { openSqliteUserStore } from './sqlite-user-store.js';
import type { OutboxStore } from './outbox-store.js';
import type { TokenStore } from './token-store.js';
import type { UserStore } from './user-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** The data folder: holds `sluice.db` and, without `secretKey`, `secret.key`. Created when missing. */
  dataDir: string;
  /** Passphrase for stored secrets (the CLI passes SLUICE_SECRET_KEY); default: the key file. */
  secretKey?: string;
  /** Where the embedded store commits batches (see SqliteStoreOptions.writer). */
  writer?: SqliteStoreOptions['writer'];
  writerThreadUrl?: URL;
  /** See SqliteStoreOptions.foldEvery (tests only). */
  foldEvery?: SqliteStoreOptions['foldEvery'];
}

/** The store file's name inside the data folder. */
export const STORE_FILE = 'sluice.db';

/**
 * Opens the store the CLI and server use: `<dataDir>/sluice.db`, created and migrated on first
 * use. The one composition point for stores; a PostgreSQL URL will select that store here.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  try {
    await mkdir(options.dataDir, { recursive: true });
  } catch (err) {
    throw new SluiceError(
      'STORE_FAILED',
      `cannot create the data folder ${options.dataDir}: ${(err as Error).message}`,
      { dataDir: options.dataDir },
      { cause: err },
    );
  }
  const secretBox = await openSecretBox({ dataDir: options.dataDir, secretKey: options.secretKey });
  const sqlite: SqliteStoreOptions = { file: join(options.dataDir, STORE_FILE), secretBox };
  if (options.writer !== undefined) sqlite.writer = options.writer;
  if (options.writerThreadUrl !== undefined) sqlite.writerThreadUrl = options.writerThreadUrl;
  if (options.foldEvery !== undefined) sqlite.foldEvery = options.foldEvery;
  return openSqliteStore(sqlite);
}

/**
 * The schedule state store living in the same database as `store` (opened by {@link openStore});
 * it needs no closing of its own: closing `store` closes it.
 */
export function openScheduleStore(store: Store): ScheduleStore {
  const db = sqliteKyselyOf(store);
  if (db === undefined) {
    throw new SluiceError('INTERNAL', 'the schedule store needs a store opened by openStore()');
  }
  return openSqliteScheduleStore(db);
}

/** Users, sessions and the audit log, in the same database as `store` (closed with it). */
export function openUserStore(store: Store): UserStore {
  const db = sqliteKyselyOf(store);
  if (db === undefined) {
    throw new SluiceError('INTERNAL', 'the user store needs a store opened by openStore()');
  }
  return openSqliteUserStore(db);
}

/** The data module's queries over the rollups of `store` (closed with it). */
export function openDataQueries(store: Store): DataQueries {
  const db = sqliteKyselyOf(store);
  if (db === undefined) {
    throw new SluiceError('INTERNAL', 'the data queries need a store opened by openStore()');
  }
  return openSqliteDataQueries(db);
}

/** Tenant tokens of the ingest API and their rejects, in the same database as `store` (closed with it). */
export function openTokenStore(store: Store): TokenStore {
  const db = sqliteKyselyOf(store);
  if (db === undefined) {
    throw new SluiceError('INTERNAL', 'the token store needs a store opened by openStore()');
  }
  return openSqliteTokenStore(db);
}

/** The outbox of sections with a Planhat sink, in the same database as `store` (closed with it). */
export function openOutboxStore(store: Store): OutboxStore {
  const db = sqliteKyselyOf(store);
  const sinkToken = sqliteSinkTokenOf(store);
  if (db === undefined || sinkToken === undefined) {
    throw new SluiceError('INTERNAL', 'the outbox store needs a store opened by openStore()');
  }
  return openSqliteOutboxStore(db, sinkToken);
}
