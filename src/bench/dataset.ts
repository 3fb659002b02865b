/**
 * The benchmark's data set: two MySQL tables whose every value is a pure function of the row's
 * key, so the raw-write limit can regenerate exactly the rows MySQL holds without reading them
 * back, and a second run on the same database reuses the rows instead of inserting them again.
 */
import mysql from 'mysql2/promise';

/** Bump when the generator changes: a database with another version is rebuilt. */
export const GENERATOR_VERSION = 1;

/** Distinct endusers, companies and actions in `events`. */
export const USERS = 10_000;
export const COMPANIES = 500;
export const METRICS = [
  'seats_used',
  'api_calls',
  'storage_gb',
  'active_users',
  'reports_run',
  'mrr',
];

/** Where the benchmark's MySQL lives and what the database is called. */
export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** The columns Sluice reads for the activities section, key first (as a ReadPlan orders them). */
export const EVENT_COLUMNS = [
  'id',
  'user_email',
  'user_id',
  'account_id',
  'event_name',
  'qty',
  'created_at',
  'full_name',
] as const;

/** The columns Sluice reads for the metrics section, key first. */
export const USAGE_COLUMNS = ['seq', 'metric', 'amount', 'company_id', 'day'] as const;

/** One `events` row, as mysql2 returns it with dateStrings (DATETIME(3) as `YYYY-MM-DD hh:mm:ss.mmm`). */
export interface EventRow {
  id: number;
  userEmail: string | null;
  userId: string | null;
  accountId: string;
  eventName: string;
  qty: number | null;
  createdAt: string;
  fullName: string;
}

/** One `daily_usage` row; `amount` is DECIMAL(12,2) text, `day` a DATE. */
export interface UsageRow {
  seq: number;
  metric: string;
  amount: string;
  companyId: string;
  day: string;
}

// --- the deterministic generator ------------------------------------------------------------

/** A 32-bit integer hash (lowbias32): good avalanche, no state, same result in every run. */
function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A uniform number in [0, 1) for (row, salt). */
function unit(id: number, salt: number): number {
  return hash32(hash32(id) ^ Math.imul(salt, 0x9e3779b9)) / 4_294_967_296;
}

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0').slice(-digits);
}

const FIRST = [
  'Ada',
  'Ben',
  'Chloe',
  'Dev',
  'Elena',
  'Farid',
  'Grace',
  'Hugo',
  'Ines',
  'Jonas',
  'Kira',
  'Liam',
  'Maya',
  'Noor',
  'Oscar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tara',
  'Umar',
  'Vera',
  'Wei',
  'Ximena',
  'Yusuf',
  'Zoe',
  'Anna',
  'Marco',
  'Lena',
  'Tomas',
];
const LAST = [
  'Andersen',
  'Baker',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Hansen',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Larsen',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quispe',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Usman',
  'Varga',
  'Weber',
  'Xu',
  'Yilmaz',
  'Zhang',
];
const DOMAIN_WORDS = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'vandelay',
  'stark',
  'wayne',
  'tyrell',
  'cyberdyne',
  'soylent',
  'wonka',
  'gringotts',
  'oscorp',
  'aperture',
];
/** Actions with their relative frequency. */
const ACTIONS: [string, number][] = [
  ['page_view', 40],
  ['feature_click', 25],
  ['search', 10],
  ['login', 10],
  ['export_report', 5],
  ['upload_file', 4],
  ['invite_user', 3],
  ['logout', 3],
];
const ACTION_TOTAL = ACTIONS.reduce((sum, [, w]) => sum + w, 0);

const companies = Array.from({ length: COMPANIES }, (_, c) => ({
  id: `acc_${hex(hash32(c + 1_000_003), 8)}`,
  domain: `${DOMAIN_WORDS[c % DOMAIN_WORDS.length] as string}${c}.example.com`,
}));

const users = Array.from({ length: USERS }, (_, u) => {
  const first = FIRST[hash32(u * 3 + 1) % FIRST.length] as string;
  const last = LAST[hash32(u * 3 + 2) % LAST.length] as string;
  const company = companies[hash32(u * 3 + 3) % COMPANIES] as (typeof companies)[number];
  return {
    id: `usr_${hex(hash32(u + 7_000_001), 8)}${hex(u, 4)}`,
    email: `${first.toLowerCase()}.${last.toLowerCase()}.${u}@${company.domain}`,
    name: `${first} ${last}`,
    company: company.id,
  };
});

const EVENTS_EPOCH_MS = Date.UTC(2024, 0, 1);
const USAGE_EPOCH_MS = Date.UTC(2022, 0, 1);
const DAY_MS = 86_400_000;

/** `YYYY-MM-DD hh:mm:ss.mmm`, as MySQL prints a DATETIME(3). */
function mysqlDatetime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** The `events` row with this id (1-based). */
export function eventRow(id: number): EventRow {
  // Squared: a few users are very active, most are not, as in real product usage.
  const u = Math.floor(USERS * unit(id, 1) ** 2);
  const user = users[u] as (typeof users)[number];
  let pick = unit(id, 2) * ACTION_TOTAL;
  let eventName = ACTIONS[0]?.[0] as string;
  for (const [name, weight] of ACTIONS) {
    if (pick < weight) {
      eventName = name;
      break;
    }
    pick -= weight;
  }
  const q = unit(id, 3);
  const who = unit(id, 4);
  return {
    id,
    // 3% of rows lack the email, 2% the external id; never both, so no row is rejected.
    userEmail: who < 0.03 ? null : user.email,
    userId: who >= 0.03 && who < 0.05 ? null : user.id,
    accountId: user.company,
    eventName,
    qty: q < 0.3 ? null : 1 + Math.floor(q * 20),
    // About 25 s apart on average, always increasing with the id.
    createdAt: mysqlDatetime(EVENTS_EPOCH_MS + id * 25_000 + Math.floor(unit(id, 5) * 25_000)),
    fullName: user.name,
  };
}

/** The `daily_usage` row with this seq (1-based): every company reports every metric every day. */
export function usageRow(seq: number): UsageRow {
  const i = seq - 1;
  const perDay = COMPANIES * METRICS.length;
  const day = new Date(USAGE_EPOCH_MS + Math.floor(i / perDay) * DAY_MS).toISOString().slice(0, 10);
  const company = companies[
    Math.floor((i % perDay) / METRICS.length)
  ] as (typeof companies)[number];
  const m = i % METRICS.length;
  const scale = [50_000, 100_000_000, 1_000_000, 50_000, 20_000, 10_000_000][m] as number;
  const cents = Math.floor(unit(seq, 6) * scale);
  return {
    seq,
    metric: METRICS[m] as string,
    amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    companyId: company.id,
    day,
  };
}

// --- creating the database ------------------------------------------------------------------

/** Rows per multi-row INSERT statement. */
const INSERT_ROWS = 5_000;

const DDL = [
  `CREATE TABLE events (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     user_email VARCHAR(120) NULL,
     user_id VARCHAR(40) NULL,
     account_id VARCHAR(40) NULL,
     event_name VARCHAR(60) NULL,
     qty INT NULL,
     created_at DATETIME(3) NULL,
     full_name VARCHAR(80) NULL
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE daily_usage (
     seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     metric VARCHAR(40) NULL,
     amount DECIMAL(12,2) NULL,
     company_id VARCHAR(40) NULL,
     day DATE NULL
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/** Values are generated from fixed ASCII lists: quoting without escaping is safe, and checked. */
function q(s: string | null): string {
  if (s === null) return 'NULL';
  if (/['\\]/.test(s)) throw new Error(`generated value needs escaping: ${s}`);
  return `'${s}'`;
}

function eventValues(id: number): string {
  const r = eventRow(id);
  return `(${r.id},${q(r.userEmail)},${q(r.userId)},${q(r.accountId)},${q(r.eventName)},${r.qty ?? 'NULL'},${q(r.createdAt)},${q(r.fullName)})`;
}

function usageValues(seq: number): string {
  const r = usageRow(seq);
  return `(${r.seq},${q(r.metric)},${r.amount},${q(r.companyId)},${q(r.day)})`;
}

export interface DatasetResult {
  /** True when the database already held this generator's rows and was kept as it is. */
  reused: boolean;
  /** Time spent creating and filling the tables (0 when reused), ms. */
  generateMs: number;
  serverVersion: string;
}

export function connectMysql(target: MysqlTarget, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ...(database !== undefined ? { database } : {}),
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4',
  });
}

/**
 * Makes sure `target.database` holds `rows` events and `rows` daily_usage rows from this
 * generator. The `bench_version` table is written last, so its presence means a complete fill.
 */
export async function ensureDataset(
  target: MysqlTarget,
  rows: number,
  log: (line: string) => void,
): Promise<DatasetResult> {
  const conn = await connectMysql(target);
  try {
    const [[versionRow]] = (await conn.query({
      sql: 'SELECT VERSION()',
      rowsAsArray: true,
    })) as unknown as [[[string]]];
    const serverVersion = versionRow[0];
    if (await holdsDataset(conn, target.database, rows)) {
      log(
        `dataset: reusing ${target.database} (${rows} rows per table, generator v${GENERATOR_VERSION})`,
      );
      return { reused: true, generateMs: 0, serverVersion };
    }
    log(
      `dataset: creating ${target.database} with ${rows} rows per table (once; later runs reuse it)`,
    );
    const started = performance.now();
    const db = conn.escapeId(target.database);
    await conn.query(`DROP DATABASE IF EXISTS ${db}`);
    await conn.query(`CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
    await conn.query(`USE ${db}`);
    for (const ddl of DDL) await conn.query(ddl);
    await conn.query('SET SESSION unique_checks = 0');
    await fill(conn, 'events', EVENT_COLUMNS, rows, eventValues, log);
    await fill(conn, 'daily_usage', USAGE_COLUMNS, rows, usageValues, log);
    await conn.query('SET SESSION unique_checks = 1');
    await conn.query(
      `CREATE TABLE bench_version (version INT NOT NULL, rows_per_table BIGINT NOT NULL, created_at DATETIME NOT NULL)
       COMMENT 'sluice bench data set; rebuilt when version or rows differ'`,
    );
    await conn.query('INSERT INTO bench_version VALUES (?, ?, UTC_TIMESTAMP())', [
      GENERATOR_VERSION,
      rows,
    ]);
    // Fresh statistics, so the optimizer's plans match those of a long-lived table.
    await conn.query('ANALYZE TABLE events, daily_usage');
    return { reused: false, generateMs: performance.now() - started, serverVersion };
  } finally {
    await conn.end();
  }
}

async function holdsDataset(
  conn: mysql.Connection,
  database: string,
  rows: number,
): Promise<boolean> {
  const [marker] = (await conn.query(
    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'bench_version'",
    [database],
  )) as unknown as [unknown[]];
  if (marker.length === 0) return false;
  const db = conn.escapeId(database);
  const [[v]] = (await conn.query({
    sql: `SELECT (SELECT MAX(version) FROM ${db}.bench_version), (SELECT MAX(rows_per_table) FROM ${db}.bench_version),
       (SELECT COUNT(*) FROM ${db}.events), (SELECT MAX(id) FROM ${db}.events),
       (SELECT COUNT(*) FROM ${db}.daily_usage), (SELECT MAX(seq) FROM ${db}.daily_usage)`,
    rowsAsArray: true,
  })) as unknown as [[unknown[]]];
  const [version, markerRows, events, maxId, usage, maxSeq] = v.map((x) => Number(x));
  return (
    version === GENERATOR_VERSION &&
    markerRows === rows &&
    events === rows &&
    maxId === rows &&
    usage === rows &&
    maxSeq === rows
  );
}

/** Multi-row INSERTs; the next statement is built while the previous one runs on the server. */
async function fill(
  conn: mysql.Connection,
  table: string,
  columns: readonly string[],
  rows: number,
  values: (id: number) => string,
  log: (line: string) => void,
): Promise<void> {
  const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
  let inFlight: Promise<unknown> | undefined;
  let nextLog = 200_000;
  for (let from = 1; from <= rows; from += INSERT_ROWS) {
    const to = Math.min(rows, from + INSERT_ROWS - 1);
    const parts: string[] = [];
    for (let id = from; id <= to; id++) parts.push(values(id));
    const sql = head + parts.join(',');
    await inFlight;
    inFlight = conn.query(sql);
    if (to >= nextLog) {
      log(`  ${table}: ${to} rows`);
      nextLog += 200_000;
    }
  }
  await inFlight;
}
