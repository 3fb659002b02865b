import type { MysqlConfig, ReadPlan, SourceRow, TableInfo } from '../core/types.js';

/** What the server said it is, detected on connect: MySQL and MariaDB differ in a few forms. */
export interface ServerInfo {
  flavor: 'mysql' | 'mariadb';
  /** As `SELECT VERSION()` prints it. */
  version: string;
}

/** The result of a read-only console query. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** True when the row cap cut the result. */
  truncated: boolean;
  durationMs: number;
}

/**
 * A connected MySQL/MariaDB database. Session time zone is UTC; big numbers, decimals and dates
 * arrive as strings, exactly as MySQL prints them.
 */
export interface Source {
  readonly server: ServerInfo;
  /** Base tables and views of the database, by name. */
  listTables(): Promise<{ name: string; kind: 'table' | 'view' }[]>;
  /** Columns, primary key and indexes of one table; `undefined` when it does not exist. */
  describeTable(table: string): Promise<TableInfo | undefined>;
  /**
   * Keyset read: rows with key > `after` (all non-NULL keys when `after` is null), in key order, at
   * most `limit`. Values in `plan.columns` order; the key (index 0) is always a string.
   */
  readAfter(plan: ReadPlan, after: string | null, limit: number): Promise<SourceRow[]>;
  /**
   * The keyset read of `readAfter`, delivered while it arrives: `onRows` gets the rows in key
   * order, in parts of at most `partRows`, and the promise settles with the number of rows read
   * once the last part was delivered. When `onRows` throws, the rest of the result is read and
   * dropped and the promise rejects with that error.
   */
  streamAfter(
    plan: ReadPlan,
    after: string | null,
    limit: number,
    partRows: number,
    onRows: (rows: SourceRow[]) => void,
  ): Promise<number>;
  /**
   * All rows whose key equals `key` (MySQL equality, so the column's collation decides), used to
   * finish a tie group at a batch boundary. When `afterIdentity` is given (single-column identity
   * only), returns at most `limit` rows with identity > afterIdentity in identity order.
   */
  readTies(
    plan: ReadPlan,
    key: string,
    page?: { afterIdentity: string | null; limit: number },
  ): Promise<SourceRow[]>;
  /** The largest key in the table (for progress and lag), or null when empty. */
  maxKey(plan: ReadPlan): Promise<string | null>;
  /** The smallest key greater than `after` (for progress), or null. */
  minKey(plan: ReadPlan, after: string | null): Promise<string | null>;
  /**
   * The super-admin console: runs ONE statement inside a read-only transaction (the database
   * session enforces it), with a time limit (MariaDB `max_statement_time`, MySQL
   * `MAX_EXECUTION_TIME`) and a row cap; MySQL's own error message is kept in the thrown SluiceError.
   */
  query(sql: string, options: { timeoutMs: number; rowCap: number }): Promise<QueryResult>;
  close(): Promise<void>;
}

export type SourceFactory = (config: MysqlConfig, password: string) => Promise<Source>;
