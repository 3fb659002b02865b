/**
 * The raw limits a sync is compared with: how fast this machine reads the rows out of MySQL and
 * writes them into SQLite with nothing of Sluice in between.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from '../store/kysely.js';
import { migrateToLatest } from '../store/migrations.js';
import { SQLITE_PRAGMAS } from '../store/sqlite-pragmas.js';
import { EVENT_COLUMNS, connectMysql, eventRow, type MysqlTarget } from './dataset.js';

export interface Timed {
  rows: number;
  ms: number;
}

/** Rows per keyset query and per SQLite transaction, as in the benchmark's sections. */
export const BATCH = 10_000;

/**
 * The `mariadb` command-line client reading every events row in one query (`--quick`: row by row,
 * no client-side buffering) into /dev/null: the server's and the wire's speed, with a C client.
 */
export async function rawReadCli(target: MysqlTarget, rows: number): Promise<Timed> {
  const args = [
    '--quick',
    '--batch',
    `-h${target.host}`,
    `-P${target.port}`,
    `-u${target.user}`,
    target.database,
    '-e',
    `SELECT ${EVENT_COLUMNS.join(', ')} FROM events`,
  ];
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mariadb', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      // The client's own way to take a password without putting it on the command line.
      env: { ...process.env, MYSQL_PWD: target.password },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`cannot run the mariadb client: ${err.message}`)));
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`mariadb client exited with ${code}: ${stderr.trim()}`)),
    );
  });
  return { rows, ms: performance.now() - started };
}

/**
 * A plain mysql2 keyset read of the same rows, 10,000 per query, with the options Sluice's source
 * uses (rows as arrays, big numbers and dates as strings, UTC): the best a Node process reading
 * batch by batch can do. Rows are counted and dropped.
 */
export async function rawReadMysql2(target: MysqlTarget, rows: number): Promise<Timed> {
  const conn = await connectMysql(target, target.database);
  try {
    await conn.query("SET time_zone = '+00:00'");
    const sql = `SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE id > CAST(? AS UNSIGNED) ORDER BY id LIMIT ${BATCH}`;
    let after = '0';
    let read = 0;
    const started = performance.now();
    for (;;) {
      const [batch] = (await conn.query({ sql, rowsAsArray: true }, [after])) as unknown as [
        unknown[][],
      ];
      read += batch.length;
      if (batch.length < BATCH) break;
      after = String(batch[batch.length - 1]?.[0]);
    }
    const ms = performance.now() - started;
    if (read !== rows) throw new Error(`raw read: expected ${rows} rows, read ${read}`);
    return { rows: read, ms };
  } finally {
    await conn.end();
  }
}

/**
 * The same rows bulk-inserted into a fresh store file with one prepared single-row INSERT,
 * 10,000 rows per transaction: the store's schema (migrations run as is, so every index of
 * `activities` is there), the store's pragmas (SQLITE_PRAGMAS), no
 * engine. The records are built before each transaction and only the transactions are timed.
 */
export async function rawWrite(dir: string, rows: number): Promise<Timed> {
  const sqlite = new BetterSqlite3(join(dir, 'raw-write.db'));
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
    await migrateToLatest(db);
    const now = new Date().toISOString();
    sqlite
      .prepare(
        `INSERT INTO integrations (id, name, host, port, user_name, database_name, created_at, updated_at)
         VALUES (1, 'bench', '127.0.0.1', 3306, 'root', 'sluice_bench', ?, ?)`,
      )
      .run(now, now);
    sqlite
      .prepare(
        `INSERT INTO sections (id, integration_id, name, data_type, direction, table_name, key_column,
           batch_size, schedule, mapping, info, created_at, updated_at)
         VALUES (1, 1, 'activities', 'activities', 'receive', 'events', 'id', ${BATCH}, 'every 1h', '{}', '[]', ?, ?)`,
      )
      .run(now, now);
    const insert = sqlite.prepare(
      `INSERT INTO activities (section_id, row_id, email, external_id, name, company_external_id,
         action, weight, date, info, landed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    type Params = [
      number,
      string,
      string | null,
      string | null,
      string,
      string,
      string,
      number,
      string,
      null,
      string,
    ];
    const land = sqlite.transaction((batch: Params[]) => {
      for (const p of batch) insert.run(...p);
    });
    let ms = 0;
    for (let from = 1; from <= rows; from += BATCH) {
      const to = Math.min(rows, from + BATCH - 1);
      const batch: Params[] = [];
      for (let id = from; id <= to; id++) {
        const r = eventRow(id);
        const created = r.createdAt;
        batch.push([
          1,
          String(id),
          r.userEmail,
          r.userId,
          r.fullName,
          r.accountId,
          r.eventName,
          r.qty ?? 1,
          `${created.slice(0, 10)}T${created.slice(11, 23)}Z`,
          null,
          now,
        ]);
      }
      const started = performance.now();
      land(batch);
      ms += performance.now() - started;
    }
    return { rows, ms };
  } finally {
    await db.destroy();
  }
}
