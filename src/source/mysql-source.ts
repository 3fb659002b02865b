import { readFile } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import { SluiceError } from '../core/errors.js';
import type {
  IndexInfo,
  KeyKind,
  MysqlConfig,
  ReadPlan,
  SourceRow,
  TableInfo,
  TlsConfig,
} from '../core/types.js';
import { toSluiceError, type MysqlErrorContext } from './mysql-errors.js';
import { quoteIdent } from './mysql-identifiers.js';
import { consoleStatement } from './mysql-statement.js';
import type { QueryResult, ServerInfo, Source } from './source.js';

/** Options of {@link createMysqlSource}. */
export interface MysqlSourceOptions {
  /** Server-side time limit of each read the engine makes, in ms; default 600000 (10 minutes). */
  queryTimeoutMs?: number;
  /** How long to wait for a new connection, in ms; default 10000. */
  connectTimeoutMs?: number;
}

const DEFAULT_QUERY_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Largest batch, tie page and console row cap. */
const MAX_ROWS = 1_000_000;
/** The console kills its statement this long after the limit if the server has not stopped it. */
const BACKSTOP_GRACE_MS = 2_000;

// UTC so TIMESTAMP columns read the same whatever the server's zone; utf8mb4 so emoji survive; and
// never NO_BACKSLASH_ESCAPES, because mysql2 escapes bound values with backslashes.
const SESSION_SETUP =
  "SET NAMES utf8mb4, time_zone = '+00:00', sql_mode = TRIM(BOTH ',' FROM " +
  "REPLACE(CONCAT(',', @@sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))";

/**
 * The callback-style connection under mysql2's promise API. mysql2 hands this one (not the promise
 * wrapper its typings claim) to the pool's `connection` event and as `PoolConnection.connection`.
 */
interface CoreConnection {
  readonly threadId: number | null;
  query(sql: string, callback: (err: Error | null) => void): void;
  query(options: { sql: string; rowsAsArray: boolean; values?: unknown[] }): CoreQuery;
  /** Back to the pool (a pooled connection). */
  release(): void;
  destroy(): void;
}

/** A streaming query: `result` fires per row (or once with an OK packet for statements without rows). */
interface CoreQuery {
  on(event: 'fields', listener: (fields: { name: string }[] | undefined) => void): this;
  on(event: 'result', listener: (row: unknown, resultIndex?: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end', listener: () => void): this;
}

/** The part of mysql2's promise pool this adapter calls. */
interface MysqlPool {
  query(options: { sql: string; rowsAsArray: boolean }, values?: unknown[]): Promise<[unknown]>;
  getConnection(): Promise<{ connection: CoreConnection }>;
  on(event: 'connection', listener: (connection: CoreConnection) => void): unknown;
  end(): Promise<void>;
}

/**
 * Connects to MySQL or MariaDB and returns a {@link Source} over `config.database`. Opens a pool of
 * at most 4 connections, each set to UTC and utf8mb4, and checks the connection before returning,
 * so a wrong host, password or database fails here with a classified SluiceError.
 */
export async function createMysqlSource(
  config: MysqlConfig,
  password: string,
  options: MysqlSourceOptions = {},
): Promise<Source> {
  const ctx: MysqlErrorContext = {
    host: config.host,
    port: config.port,
    user: config.user,
    database: config.database,
  };
  const queryTimeoutMs = checkTimeout(options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
  const pool = mysql.createPool({
    host: config.host,
    port: config.port,
    user: config.user,
    password,
    database: config.database,
    ssl: await tlsOptions(config.ssl),
    connectionLimit: 4,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    multipleStatements: false,
    // Exact values: BIGINT, DECIMAL and dates as the strings MySQL prints, JSON unparsed.
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4',
    // The server may ask the client for a local file (LOAD DATA LOCAL); never let it.
    flags: ['-LOCAL_FILES'],
  }) as unknown as MysqlPool;

  let setupError: unknown;
  pool.on('connection', (conn) => {
    // Queued before the command that asked for the connection, so nothing reads before it.
    conn.query(SESSION_SETUP, (err) => {
      if (err) {
        setupError = err;
        conn.destroy();
      }
    });
  });

  try {
    const [rows] = await pool.query({ sql: 'SELECT VERSION()', rowsAsArray: true });
    const version = String((rows as unknown[][])[0]?.[0]);
    const server: ServerInfo = {
      flavor: version.includes('MariaDB') ? 'mariadb' : 'mysql',
      version,
    };
    return new MysqlSource(pool, server, ctx, queryTimeoutMs);
  } catch (err) {
    await pool.end().catch(() => undefined);
    // A failed session setup shows up as a write to a destroyed connection; report its cause.
    throw toSluiceError(setupError ?? err, ctx);
  }
}

class MysqlSource implements Source {
  constructor(
    private readonly pool: MysqlPool,
    readonly server: ServerInfo,
    private readonly ctx: MysqlErrorContext,
    private readonly timeoutMs: number,
  ) {}

  async listTables(): Promise<{ name: string; kind: 'table' | 'view' }[]> {
    const rows = await this.rows(
      'SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
      [this.ctx.database],
    );
    return rows
      .flatMap(([name, type]) => {
        const kind = tableKind(type);
        return kind === undefined ? [] : [{ name: text(name), kind }];
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async describeTable(table: string): Promise<TableInfo | undefined> {
    const where = 'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?';
    const values = [this.ctx.database, table];
    // information_schema compares names case-insensitively on MariaDB; keep only the exact name.
    const exact = (rows: unknown[][]) => rows.filter((row) => text(row[0]) === table);
    const [tables, columns, stats] = await Promise.all([
      this.rows(`SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES ${where}`, values),
      this.rows(
        'SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, ' +
          `NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION FROM information_schema.COLUMNS ${where} ` +
          'ORDER BY ORDINAL_POSITION',
        values,
      ),
      this.rows(
        'SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS ' +
          `${where} ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
        values,
      ),
    ]);
    const kind = exact(tables).map(([, type]) => tableKind(type))[0];
    if (kind === undefined) return undefined;

    const indexes = new Map<string, IndexInfo & { expression: boolean }>();
    for (const [, name, nonUnique, column] of exact(stats)) {
      const key = text(name);
      const index = indexes.get(key) ?? {
        name: key,
        unique: Number(nonUnique) === 0,
        columns: [],
        expression: false,
      };
      // MySQL 8 functional index parts have no column name.
      if (column === null) index.expression = true;
      else index.columns.push(text(column));
      indexes.set(key, index);
    }
    return {
      name: table,
      kind,
      columns: exact(columns).map(([, name, dataType, columnType, nullable, ...sizes]) => ({
        name: text(name),
        dataType: text(dataType).toLowerCase(),
        columnType: text(columnType),
        nullable: text(nullable) === 'YES',
        maxLength: num(sizes[0]),
        numericPrecision: num(sizes[1]),
        numericScale: num(sizes[2]),
        datetimePrecision: num(sizes[3]),
      })),
      primaryKey: indexes.get('PRIMARY')?.columns ?? [],
      // An index over an expression cannot serve a column key, so it is left out.
      indexes: [...indexes.values()]
        .filter((index) => !index.expression)
        .map(({ name, unique, columns }) => ({ name, unique, columns })),
    };
  }

  async readAfter(plan: ReadPlan, after: string | null, limit: number): Promise<SourceRow[]> {
    const sql = keysetSelect(plan, after, limit);
    return keyAsText(await this.read(sql, after === null ? [] : [after], plan.table));
  }

  async streamAfter(
    plan: ReadPlan,
    after: string | null,
    limit: number,
    partRows: number,
    onRows: (rows: SourceRow[]) => void,
  ): Promise<number> {
    const sql = this.timed(keysetSelect(plan, after, limit));
    const size = checkRows(partRows, 'partRows');
    const ctx = { ...this.ctx, table: plan.table, timeoutMs: this.timeoutMs };
    let conn: CoreConnection;
    try {
      ({ connection: conn } = await this.pool.getConnection());
    } catch (err) {
      throw toSluiceError(err, ctx);
    }
    let failed = false;
    try {
      return await new Promise<number>((resolve, reject) => {
        let part: SourceRow[] = [];
        let count = 0;
        let refused: { error: unknown } | undefined;
        const deliver = () => {
          const rows = part;
          part = [];
          try {
            onRows(rows);
          } catch (error) {
            refused = { error };
          }
        };
        conn
          .query({ sql, values: after === null ? [] : [after], rowsAsArray: true })
          .on('result', (row) => {
            if (refused !== undefined || failed) return;
            const r = row as unknown[];
            r[0] = text(r[0]);
            part.push(r as SourceRow);
            count++;
            if (part.length >= size) deliver();
          })
          .on('error', (err) => {
            failed = true;
            reject(toSluiceError(err, ctx));
          })
          .on('end', () => {
            if (failed) return;
            if (refused === undefined && part.length > 0) deliver();
            if (refused !== undefined) reject(refused.error);
            else resolve(count);
          });
      });
    } finally {
      // A connection whose statement failed may be broken (lost, killed): the pool makes a new one.
      if (failed) conn.destroy();
      else conn.release();
    }
  }

  async readTies(
    plan: ReadPlan,
    key: string,
    page?: { afterIdentity: string | null; limit: number },
  ): Promise<SourceRow[]> {
    let sql = `${selectFrom(plan)} WHERE ${quoteIdent(plan.key)} = ${bound(plan.keyKind, plan.keyScale)}`;
    const values = [key];
    const [identity, ...more] = plan.identity;
    if (page !== undefined) {
      if (identity === undefined || more.length > 0 || plan.identityKind === null) {
        throw new SluiceError(
          'SECTION_INVALID',
          `table "${plan.table}": a tie group can be paged only by a one-column identity`,
          { table: plan.table, identity: plan.identity },
        );
      }
      const id = quoteIdent(identity);
      if (page.afterIdentity !== null) {
        // The identity's own scale is not in the plan: the widest cast keeps any value exact.
        const scale = plan.identityKind === 'decimal' ? 30 : 6;
        sql += ` AND ${id} > ${bound(plan.identityKind, scale)}`;
        values.push(page.afterIdentity);
      }
      sql += ` ORDER BY ${id} LIMIT ${checkRows(page.limit, 'page.limit')}`;
    } else if (identity !== undefined) {
      sql += ` ORDER BY ${plan.identity.map(quoteIdent).join(', ')}`;
    }
    return keyAsText(await this.read(sql, values, plan.table));
  }

  async maxKey(plan: ReadPlan): Promise<string | null> {
    const sql = `MAX(${quoteIdent(plan.key)}) FROM ${quoteIdent(plan.table)}`;
    return firstKey(await this.read(sql, [], plan.table));
  }

  async minKey(plan: ReadPlan, after: string | null): Promise<string | null> {
    const key = quoteIdent(plan.key);
    // MIN skips NULLs by itself. Written out, `key IS NOT NULL` made MariaDB walk the whole index
    // (0.45 s at the start of each first sync of a million rows) where a bare MIN(key) reads one
    // end of it.
    const where = after === null ? '' : ` WHERE ${key} > ${bound(plan.keyKind, plan.keyScale)}`;
    const sql = `MIN(${key}) FROM ${quoteIdent(plan.table)}${where}`;
    return firstKey(await this.read(sql, after === null ? [] : [after], plan.table));
  }

  async query(sql: string, options: { timeoutMs: number; rowCap: number }): Promise<QueryResult> {
    const statement = consoleStatement(sql);
    const timeoutMs = checkTimeout(options.timeoutMs);
    const rowCap = checkRows(options.rowCap, 'rowCap');
    const ctx = { ...this.ctx, timeoutMs };
    const started = performance.now();
    let conn: CoreConnection;
    try {
      ({ connection: conn } = await this.pool.getConnection());
    } catch (err) {
      throw toSluiceError(err, ctx);
    }
    // The server's limit can be lifted from inside the statement (a MAX_EXECUTION_TIME(0) hint or
    // SET STATEMENT) and MySQL's covers SELECT only; this kill is the limit that always holds.
    const backstop = setTimeout(() => this.kill(conn.threadId), timeoutMs + BACKSTOP_GRACE_MS);
    try {
      // START TRANSACTION READ ONLY alone lets DDL through (its implicit commit ends the
      // transaction first); a read-only session refuses DDL too.
      await run(conn, 'SET SESSION TRANSACTION READ ONLY');
      await run(
        conn,
        this.server.flavor === 'mariadb'
          ? `SET SESSION max_statement_time = ${timeoutMs / 1000}`
          : `SET SESSION MAX_EXECUTION_TIME = ${timeoutMs}`,
      );
      await run(conn, 'START TRANSACTION READ ONLY');
      const result = await stream(conn, statement, rowCap);
      return { ...result, durationMs: Math.round(performance.now() - started) };
    } catch (err) {
      throw toSluiceError(err, ctx);
    } finally {
      clearTimeout(backstop);
      // Destroyed, not released: a console statement can change session state the engine's reads
      // rely on (SET time_zone, user locks, the read-only mode itself); the server rolls back.
      conn.destroy();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private kill(threadId: number | null): void {
    if (threadId === null) return;
    this.pool.query({ sql: `KILL QUERY ${threadId}`, rowsAsArray: true }).catch(() => undefined);
  }

  /** A SELECT (given without the keyword) under the server's own form of the time limit. */
  private read(select: string, values: unknown[], table: string): Promise<unknown[][]> {
    return this.rows(this.timed(select), values, table);
  }

  /** The statement of a SELECT (given without the keyword) under the server's time limit. */
  private timed(select: string): string {
    return this.server.flavor === 'mariadb'
      ? `SET STATEMENT max_statement_time=${this.timeoutMs / 1000} FOR SELECT ${select}`
      : `SELECT /*+ MAX_EXECUTION_TIME(${this.timeoutMs}) */ ${select}`;
  }

  private async rows(sql: string, values: unknown[], table?: string): Promise<unknown[][]> {
    try {
      const [rows] = await this.pool.query({ sql, rowsAsArray: true }, values);
      return rows as unknown[][];
    } catch (err) {
      throw toSluiceError(err, { ...this.ctx, table, timeoutMs: this.timeoutMs });
    }
  }
}

async function tlsOptions(tls: TlsConfig | undefined): Promise<mysql.PoolOptions['ssl']> {
  if (tls === undefined) return undefined;
  // MySQL's REQUIRED mode: encrypted, the server's certificate is not checked.
  if (tls.mode === 'required') return { rejectUnauthorized: false };
  if (!tls.ca) {
    throw new SluiceError('CONFIG_INVALID', 'ssl.mode verify-ca needs ssl.ca (a PEM file path)', {
      field: 'ssl.ca',
    });
  }
  let ca: string;
  try {
    ca = await readFile(tls.ca, 'utf8');
  } catch (err) {
    const reason = (err as Error).message;
    throw new SluiceError('CONFIG_INVALID', `cannot read the CA file named by ssl.ca: ${reason}`, {
      field: 'ssl.ca',
      path: tls.ca,
    });
  }
  // MySQL's VERIFY_CA: the chain must lead to `ca`, the host name is not checked (mysql2's
  // checkServerIdentity returns undefined unless verifyIdentity is set).
  return { ca, rejectUnauthorized: true, verifyIdentity: false };
}

/**
 * The bound form of a key value. MySQL compares an integer column with a string literal as DOUBLE,
 * which loses precision past 2^53, so every value is cast to the column's own kind first.
 */
function bound(kind: KeyKind, scale: number): string {
  switch (kind) {
    case 'signed':
      return 'CAST(? AS SIGNED)';
    case 'unsigned':
      return 'CAST(? AS UNSIGNED)';
    case 'decimal':
      return `CAST(? AS DECIMAL(65,${checkScale(scale, 30)}))`;
    case 'date':
      return 'CAST(? AS DATE)';
    case 'datetime':
      return `CAST(? AS DATETIME(${checkScale(scale, 6)}))`;
    case 'string':
      return '?';
  }
}

/** The keyset read (without SELECT): rows with key > `after` (? when not null), in key order. */
function keysetSelect(plan: ReadPlan, after: string | null, limit: number): string {
  const key = quoteIdent(plan.key);
  const where =
    after === null ? `${key} IS NOT NULL` : `${key} > ${bound(plan.keyKind, plan.keyScale)}`;
  return `${selectFrom(plan)} WHERE ${where} ORDER BY ${key} LIMIT ${checkRows(limit, 'limit')}`;
}

function selectFrom(plan: ReadPlan): string {
  return `${plan.columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(plan.table)}`;
}

/** Rewrites each row's key (index 0) as MySQL prints it: INT arrives as a number, VARBINARY as a Buffer. */
function keyAsText(rows: unknown[][]): SourceRow[] {
  for (const row of rows) row[0] = text(row[0]);
  return rows;
}

function firstKey(rows: unknown[][]): string | null {
  const value = rows[0]?.[0];
  return value === null || value === undefined ? null : text(value);
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function tableKind(type: unknown): 'table' | 'view' | undefined {
  // MariaDB also lists SYSTEM VERSIONED tables (readable as usual) and SEQUENCEs (not data).
  const t = text(type);
  return t === 'BASE TABLE' || t === 'SYSTEM VERSIONED'
    ? 'table'
    : t === 'VIEW'
      ? 'view'
      : undefined;
}

function checkRows(n: number, what: string): number {
  if (Number.isInteger(n) && n >= 1 && n <= MAX_ROWS) return n;
  throw new SluiceError(
    'CONFIG_INVALID',
    `${what} must be a whole number from 1 to ${MAX_ROWS}, not ${n}`,
    {
      field: what,
    },
  );
}

function checkScale(scale: number, max: number): number {
  if (Number.isInteger(scale) && scale >= 0 && scale <= max) return scale;
  throw new SluiceError(
    'SECTION_INVALID',
    `key scale must be a whole number from 0 to ${max}, not ${scale}`,
    {
      field: 'keyScale',
    },
  );
}

function checkTimeout(ms: number): number {
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  throw new SluiceError(
    'CONFIG_INVALID',
    `a time limit must be a positive number of ms, not ${ms}`,
    {
      field: 'timeoutMs',
    },
  );
}

function run(conn: CoreConnection, sql: string): Promise<void> {
  return new Promise((resolve, reject) =>
    conn.query(sql, (err) => (err ? reject(err) : resolve())),
  );
}

/** Runs one statement and keeps the first `rowCap` rows of its first result; stops reading past them. */
function stream(
  conn: CoreConnection,
  sql: string,
  rowCap: number,
): Promise<Omit<QueryResult, 'durationMs'>> {
  return new Promise((resolve, reject) => {
    let columns: string[] | undefined;
    const rows: unknown[][] = [];
    let settled = false;
    const finish = (truncated: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ columns: columns ?? [], rows, truncated });
    };
    conn
      .query({ sql, rowsAsArray: true })
      .on('fields', (fields) => {
        columns ??= fields?.map((field) => field.name);
      })
      .on('result', (row, resultIndex) => {
        if (settled || !Array.isArray(row) || (resultIndex ?? 0) !== 0) return;
        if (rows.length === rowCap) finish(true);
        else rows.push(row.map(displayValue));
      })
      .on('error', (err) => {
        if (settled) return;
        settled = true;
        reject(err);
      })
      .on('end', () => finish(false));
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Binary values for display: their text when they are valid UTF-8, else `0x` and hex. */
function displayValue(value: unknown): unknown {
  if (!Buffer.isBuffer(value)) return value;
  try {
    return utf8.decode(value);
  } catch {
    return `0x${value.toString('hex')}`;
  }
}
