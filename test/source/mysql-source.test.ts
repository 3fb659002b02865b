import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { isSluiceError, type SluiceError } from '../../src/core/errors.js';
import type { MysqlConfig, ReadPlan, SourceRow } from '../../src/core/types.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import type { Source } from '../../src/source/source.js';
import { createTestDatabase, TEST_MYSQL, type TestDatabase } from '../helpers/mariadb.js';

let db: TestDatabase;
let source: Source;

function config(overrides: Partial<MysqlConfig> = {}): MysqlConfig {
  const { host, port, user } = TEST_MYSQL;
  return { host, port, user, database: db.name, ...overrides };
}

type PlanInput = Pick<ReadPlan, 'table' | 'key' | 'keyKind'> & Partial<ReadPlan>;

function plan(input: PlanInput): ReadPlan {
  return {
    keyScale: 0,
    keyUnique: true,
    identity: [input.key],
    identityKind: input.keyKind,
    columns: [input.key],
    ...input,
  };
}

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (err) {
    if (isSluiceError(err)) return err;
    throw err;
  }
  throw new Error('expected a SluiceError, got a result');
}

const keys = (rows: unknown[][]) => rows.map((row) => row[0]);

beforeAll(async () => {
  db = await createTestDatabase('sluice_src');
  await db.exec(`
    CREATE TABLE \`order\` (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      \`customer email\` VARCHAR(191) NOT NULL,
      \`we\`\`ird\` INT NULL,
      \`événement\` DATETIME(3) NULL,
      amount DECIMAL(12,2) NOT NULL DEFAULT 0,
      PRIMARY KEY (id),
      UNIQUE KEY \`uq email\` (\`customer email\`, \`we\`\`ird\`),
      KEY by_event (\`événement\`)
    );
    INSERT INTO \`order\` (\`customer email\`, \`we\`\`ird\`, \`événement\`, amount)
      VALUES ('a@x.io', 1, '2024-01-01 10:00:00.5', 9.99), ('b@x.io', NULL, NULL, 0);
    CREATE TABLE pk2 (b INT NOT NULL, a INT NOT NULL, PRIMARY KEY (b, a));
    CREATE VIEW recent_orders AS SELECT id, \`customer email\` FROM \`order\`;
    CREATE TABLE big_u (id BIGINT UNSIGNED PRIMARY KEY, v VARCHAR(10));
    INSERT INTO big_u VALUES (1, 'one'), (2, 'two'), (9007199254740993, '2^53+1'),
      (18446744073709551614, 'max-1'), (18446744073709551615, 'max');
    CREATE TABLE big_s (id BIGINT PRIMARY KEY);
    INSERT INTO big_s VALUES (-9223372036854775808), (-5), (0), (7), (9223372036854775807);
    CREATE TABLE int_s (id INT PRIMARY KEY);
    INSERT INTO int_s VALUES (-3), (4), (2147483647);
    CREATE TABLE dec_k (k DECIMAL(30,10) PRIMARY KEY);
    INSERT INTO dec_k VALUES (-1.5), (0.0000000001), (12345678901234567890.1234567890),
      (12345678901234567890.1234567891);
    CREATE TABLE events (id INT PRIMARY KEY, at DATETIME(6) NOT NULL, ts TIMESTAMP(3) NULL,
      day DATE NOT NULL, KEY (at), KEY (ts));
    SET time_zone = '+05:00';
    INSERT INTO events VALUES
      (1, '2024-01-01 00:00:00.000001', '2024-03-01 12:00:00.250', '2024-01-01'),
      (2, '2024-01-01 00:00:00.000002', '2024-03-01 12:00:00.500', '2024-01-02'),
      (3, '2024-02-29 23:59:59.999999', NULL, '2024-01-02');
    SET time_zone = '+00:00';
    CREATE TABLE codes (code VARCHAR(32) COLLATE utf8mb4_bin PRIMARY KEY, label VARCHAR(50));
    INSERT INTO codes VALUES ('a', 'plain'), ('a😀', 'grin 😀'), ('a🎉', 'party 🎉'), ('ä', 'umlaut');
    CREATE TABLE ties (id INT PRIMARY KEY, k INT NOT NULL, v VARCHAR(10), KEY (k));
    INSERT INTO ties VALUES (1, 1, 'a'), (14, 2, 'e'), (10, 2, 'a'), (12, 2, 'c'), (11, 2, 'b'),
      (13, 2, 'd'), (20, 3, 'z');
    CREATE TABLE ci_ties (id INT PRIMARY KEY, code VARCHAR(32) COLLATE utf8mb4_unicode_ci NOT NULL);
    INSERT INTO ci_ties VALUES (1, 'x😀'), (2, 'x🎉'), (3, 'X😀'), (4, 'y');
    CREATE TABLE empty_t (id INT PRIMARY KEY);
    CREATE TABLE kinds (id INT PRIMARY KEY, i INT, b BIGINT, d DECIMAL(6,2), f DOUBLE, dt DATETIME,
      bl BLOB, j JSON);
    INSERT INTO kinds VALUES (1, 5, 5, 1.50, 0.5, '2024-01-01 00:00:00', 'x', '{"a": 1}');
    CREATE VIEW slow AS SELECT 1 AS k, SLEEP(1) AS s;
  `);
  source = await createMysqlSource(config(), TEST_MYSQL.password);
});

afterAll(async () => {
  await source?.close();
  await db?.drop();
});

describe('connecting', () => {
  it('detects MariaDB', () => {
    expect(source.server.flavor).toBe('mariadb');
    expect(source.server.version).toContain('MariaDB');
  });

  it('refuses a wrong password with MYSQL_ACCESS_DENIED', async () => {
    const err = await failure(createMysqlSource(config(), 'not-the-password'));
    expect(err.code).toBe('MYSQL_ACCESS_DENIED');
    expect(err.message).toBe(
      `MySQL refused user "${TEST_MYSQL.user}" (access denied): check the user name and password`,
    );
    expect(err.details).toMatchObject({ errno: 1045, mysqlCode: 'ER_ACCESS_DENIED_ERROR' });
  });

  it('reports a closed port as MYSQL_UNREACHABLE', async () => {
    const err = await failure(createMysqlSource(config({ port: 3999 }), ''));
    expect(err.code).toBe('MYSQL_UNREACHABLE');
    expect(err.message).toBe(`cannot reach MySQL at ${TEST_MYSQL.host}:3999: connection refused`);
    expect(err.transient).toBe(true);
  });

  it('reports an unknown host as MYSQL_UNREACHABLE', async () => {
    const err = await failure(createMysqlSource(config({ host: 'no-such-host.invalid' }), ''));
    expect(err.code).toBe('MYSQL_UNREACHABLE');
  });

  it('reports a missing database as MYSQL_UNKNOWN_DATABASE', async () => {
    const err = await failure(createMysqlSource(config({ database: `${db.name}_nope` }), ''));
    expect(err.code).toBe('MYSQL_UNKNOWN_DATABASE');
    expect(err.message).toBe(
      `database "${db.name}_nope" does not exist on ${TEST_MYSQL.host}:${TEST_MYSQL.port}`,
    );
  });

  it('reports MYSQL_TLS when TLS is required and the server has none', async () => {
    const err = await failure(createMysqlSource(config({ ssl: { mode: 'required' } }), ''));
    expect(err.code).toBe('MYSQL_TLS');
  });

  it('refuses verify-ca with an unreadable CA file before connecting', async () => {
    const ssl = { mode: 'verify-ca' as const, ca: '/nonexistent/ca.pem' };
    const err = await failure(createMysqlSource(config({ ssl }), ''));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('ssl.ca');
  });
});

describe('listTables and describeTable', () => {
  it('lists tables and views by name', async () => {
    const tables = await source.listTables();
    expect(tables.map((t) => t.name)).toEqual([...tables.map((t) => t.name)].sort());
    expect(tables).toContainEqual({ name: 'order', kind: 'table' });
    expect(tables).toContainEqual({ name: 'recent_orders', kind: 'view' });
  });

  it('describes columns, primary key and indexes of a table with odd names', async () => {
    const info = await source.describeTable('order');
    expect(info).toMatchObject({ name: 'order', kind: 'table', primaryKey: ['id'] });
    expect(info?.columns.map((c) => c.name)).toEqual([
      'id',
      'customer email',
      'we`ird',
      'événement',
      'amount',
    ]);
    expect(info?.columns[0]).toEqual({
      name: 'id',
      dataType: 'bigint',
      columnType: 'bigint(20) unsigned',
      nullable: false,
      maxLength: null,
      numericPrecision: 20,
      numericScale: 0,
      datetimePrecision: null,
    });
    expect(info?.columns[1]).toMatchObject({ dataType: 'varchar', maxLength: 191 });
    expect(info?.columns[2]).toMatchObject({ dataType: 'int', nullable: true });
    expect(info?.columns[3]).toMatchObject({ dataType: 'datetime', datetimePrecision: 3 });
    expect(info?.columns[4]).toMatchObject({ numericPrecision: 12, numericScale: 2 });
    expect(info?.indexes).toEqual([
      { name: 'PRIMARY', unique: true, columns: ['id'] },
      { name: 'by_event', unique: false, columns: ['événement'] },
      { name: 'uq email', unique: true, columns: ['customer email', 'we`ird'] },
    ]);
  });

  it('keeps primary key columns in key order', async () => {
    expect((await source.describeTable('pk2'))?.primaryKey).toEqual(['b', 'a']);
  });

  it('describes a view without keys', async () => {
    const info = await source.describeTable('recent_orders');
    expect(info).toMatchObject({ kind: 'view', primaryKey: [], indexes: [] });
    expect(info?.columns.map((c) => c.name)).toEqual(['id', 'customer email']);
  });

  it('returns undefined for an unknown table, and matches names exactly', async () => {
    expect(await source.describeTable('nope')).toBeUndefined();
    expect(await source.describeTable('ORDER')).toBeUndefined();
  });
});

/** The reserved-word table with odd column names, read whole. */
const ORDER = plan({
  table: 'order',
  key: 'id',
  keyKind: 'unsigned',
  columns: ['id', 'customer email', 'we`ird', 'événement', 'amount'],
});

describe('readAfter', () => {
  it('reads a reserved-word table with odd column names', async () => {
    const p = ORDER;
    expect(await source.readAfter(p, null, 10)).toEqual([
      ['1', 'a@x.io', 1, '2024-01-01 10:00:00.500', '9.99'],
      ['2', 'b@x.io', null, null, '0.00'],
    ]);
  });

  it('reads BIGINT UNSIGNED keys near 2^64 exactly', async () => {
    const p = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned', columns: ['id', 'v'] });
    expect(await source.readAfter(p, null, 10)).toEqual([
      ['1', 'one'],
      ['2', 'two'],
      ['9007199254740993', '2^53+1'],
      ['18446744073709551614', 'max-1'],
      ['18446744073709551615', 'max'],
    ]);
    expect(keys(await source.readAfter(p, '18446744073709551614', 10))).toEqual([
      '18446744073709551615',
    ]);
    // MySQL compares an uncast string with a BIGINT as DOUBLE, where 2^53+1 equals 2^53.
    expect(keys(await source.readAfter(p, '9007199254740992', 1))).toEqual(['9007199254740993']);
    expect(keys(await source.readAfter(p, '18446744073709551615', 10))).toEqual([]);
  });

  it('pages with LIMIT in key order', async () => {
    const p = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned' });
    expect(keys(await source.readAfter(p, null, 2))).toEqual(['1', '2']);
    expect(keys(await source.readAfter(p, '2', 2))).toEqual([
      '9007199254740993',
      '18446744073709551614',
    ]);
  });

  it('reads signed keys, negative ones included, as strings', async () => {
    const big = plan({ table: 'big_s', key: 'id', keyKind: 'signed' });
    expect(keys(await source.readAfter(big, null, 10))).toEqual([
      '-9223372036854775808',
      '-5',
      '0',
      '7',
      '9223372036854775807',
    ]);
    expect(keys(await source.readAfter(big, '-5', 2))).toEqual(['0', '7']);
    const small = plan({ table: 'int_s', key: 'id', keyKind: 'signed' });
    expect(keys(await source.readAfter(small, '-3', 10))).toEqual(['4', '2147483647']);
  });

  it('reads DECIMAL(30,10) keys exactly, as MySQL prints them', async () => {
    const p = plan({ table: 'dec_k', key: 'k', keyKind: 'decimal', keyScale: 10 });
    expect(keys(await source.readAfter(p, null, 10))).toEqual([
      '-1.5000000000',
      '0.0000000001',
      '12345678901234567890.1234567890',
      '12345678901234567890.1234567891',
    ]);
    expect(keys(await source.readAfter(p, '12345678901234567890.1234567890', 10))).toEqual([
      '12345678901234567890.1234567891',
    ]);
    expect(keys(await source.readAfter(p, '0', 1))).toEqual(['0.0000000001']);
  });

  it('reads DATETIME(6) keys to the microsecond', async () => {
    const p = plan({ table: 'events', key: 'at', keyKind: 'datetime', keyScale: 6 });
    expect(keys(await source.readAfter(p, null, 10))).toEqual([
      '2024-01-01 00:00:00.000001',
      '2024-01-01 00:00:00.000002',
      '2024-02-29 23:59:59.999999',
    ]);
    expect(keys(await source.readAfter(p, '2024-01-01 00:00:00.000001', 1))).toEqual([
      '2024-01-01 00:00:00.000002',
    ]);
  });

  it('reads TIMESTAMP keys as UTC whatever zone wrote them', async () => {
    const p = plan({ table: 'events', key: 'ts', keyKind: 'datetime', keyScale: 3 });
    expect(keys(await source.readAfter(p, null, 10))).toEqual([
      '2024-03-01 07:00:00.250',
      '2024-03-01 07:00:00.500',
    ]);
    expect(keys(await source.readAfter(p, '2024-03-01 07:00:00.250', 10))).toEqual([
      '2024-03-01 07:00:00.500',
    ]);
  });

  it('reads DATE keys', async () => {
    const p = plan({ table: 'events', key: 'day', keyKind: 'date', keyUnique: false });
    expect(keys(await source.readAfter(p, '2024-01-01', 10))).toEqual(['2024-01-02', '2024-01-02']);
  });

  it('reads string keys with emoji, and emoji survive in other columns', async () => {
    const p = plan({ table: 'codes', key: 'code', keyKind: 'string', columns: ['code', 'label'] });
    expect(await source.readAfter(p, null, 10)).toEqual([
      ['a', 'plain'],
      ['a🎉', 'party 🎉'],
      ['a😀', 'grin 😀'],
      ['ä', 'umlaut'],
    ]);
    expect(keys(await source.readAfter(p, 'a🎉', 10))).toEqual(['a😀', 'ä']);
  });

  it('keeps mysql2 value types in non-key columns', async () => {
    const p = plan({
      table: 'kinds',
      key: 'id',
      keyKind: 'signed',
      columns: ['id', 'i', 'b', 'd', 'f', 'dt', 'bl', 'j'],
    });
    const [row] = await source.readAfter(p, null, 1);
    expect(row).toEqual([
      '1',
      5,
      '5',
      '1.50',
      0.5,
      '2024-01-01 00:00:00',
      Buffer.from('x'),
      '{"a": 1}',
    ]);
  });

  it('applies the time limit', async () => {
    const quick = await createMysqlSource(config(), TEST_MYSQL.password, { queryTimeoutMs: 200 });
    try {
      const err = await failure(
        quick.readAfter(plan({ table: 'slow', key: 'k', keyKind: 'signed' }), null, 1),
      );
      expect(err.code).toBe('MYSQL_TIMEOUT');
    } finally {
      await quick.close();
    }
  });

  it('reports a dropped table as MYSQL_TABLE_MISSING', async () => {
    await db.exec('CREATE TABLE gone (id INT PRIMARY KEY, v INT); INSERT INTO gone VALUES (1, 1)');
    const p = plan({ table: 'gone', key: 'id', keyKind: 'signed', columns: ['id', 'v'] });
    expect(await source.readAfter(p, null, 10)).toEqual([['1', 1]]);
    await db.exec('ALTER TABLE gone DROP COLUMN v');
    expect((await failure(source.readAfter(p, null, 10))).code).toBe('MYSQL_TABLE_MISSING');
    await db.exec('DROP TABLE gone');
    const err = await failure(source.readAfter(p, null, 10));
    expect(err.code).toBe('MYSQL_TABLE_MISSING');
    expect(err.message).toContain('table "gone"');
    expect(err.details).toMatchObject({ errno: 1146, table: 'gone' });
  });

  it('refuses a limit outside 1..1000000', async () => {
    const p = plan({ table: 'int_s', key: 'id', keyKind: 'signed' });
    for (const limit of [0, 1.5, 1_000_001, Number.NaN]) {
      expect((await failure(source.readAfter(p, null, limit))).code).toBe('CONFIG_INVALID');
    }
  });
});

describe('streamAfter', () => {
  /** Streams a keyset read, keeping the parts as delivered. */
  async function parts(p: ReadPlan, after: string | null, limit: number, partRows: number) {
    const got: SourceRow[][] = [];
    const count = await source.streamAfter(p, after, limit, partRows, (rows) => got.push(rows));
    return { count, got };
  }

  it('delivers the keyset read in parts of at most partRows, in key order, keys exact', async () => {
    const p = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned', columns: ['id', 'v'] });
    expect(await parts(p, null, 10, 2)).toEqual({
      count: 5,
      got: [
        [
          ['1', 'one'],
          ['2', 'two'],
        ],
        [
          ['9007199254740993', '2^53+1'],
          ['18446744073709551614', 'max-1'],
        ],
        [['18446744073709551615', 'max']],
      ],
    });
    expect(await parts(p, '9007199254740992', 2, 10)).toEqual({
      count: 2,
      got: [
        [
          ['9007199254740993', '2^53+1'],
          ['18446744073709551614', 'max-1'],
        ],
      ],
    });
    expect(await parts(p, '18446744073709551615', 10, 10)).toEqual({ count: 0, got: [] });
  });

  it('reads a reserved-word table with odd column names, as readAfter does', async () => {
    const p = ORDER;
    const { got } = await parts(p, null, 10, 1000);
    expect(got).toEqual([await source.readAfter(p, null, 10)]);
  });

  it('rejects with the error of a part it could not hand over, and reads on afterwards', async () => {
    const p = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned', columns: ['id', 'v'] });
    const seen: string[] = [];
    const refused = new Error('consumer refused');
    await expect(
      source.streamAfter(p, null, 10, 2, (rows) => {
        seen.push(...rows.map((r) => r[0] as string));
        throw refused;
      }),
    ).rejects.toBe(refused);
    // Nothing is delivered after the part that failed.
    expect(seen).toEqual(['1', '2']);
    expect((await parts(p, null, 10, 10)).count).toBe(5);
  });

  it('reports a dropped table as MYSQL_TABLE_MISSING and reads on with a new connection', async () => {
    await db.exec('CREATE TABLE gone2 (id INT PRIMARY KEY); INSERT INTO gone2 VALUES (1)');
    const p = plan({ table: 'gone2', key: 'id', keyKind: 'signed', columns: ['id'] });
    expect(await parts(p, null, 10, 10)).toEqual({ count: 1, got: [[['1']]] });
    await db.exec('DROP TABLE gone2');
    const err = await failure(source.streamAfter(p, null, 10, 10, () => undefined));
    expect(err).toMatchObject({ code: 'MYSQL_TABLE_MISSING', details: { table: 'gone2' } });
    const ok = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned', columns: ['id', 'v'] });
    expect((await parts(ok, null, 10, 10)).count).toBe(5);
  });

  it('refuses a part size outside 1..1000000', async () => {
    const p = plan({ table: 'int_s', key: 'id', keyKind: 'signed' });
    for (const size of [0, 2.5]) {
      const err = await failure(source.streamAfter(p, null, 10, size, () => undefined));
      expect(err.code).toBe('CONFIG_INVALID');
    }
  });
});

describe('readTies', () => {
  const p = plan({
    table: 'ties',
    key: 'k',
    keyKind: 'signed',
    keyUnique: false,
    identity: ['id'],
    identityKind: 'signed',
    columns: ['k', 'id', 'v'],
  });

  it('reads every row that shares a key, in identity order', async () => {
    expect(await source.readTies(p, '2')).toEqual([
      ['2', 10, 'a'],
      ['2', 11, 'b'],
      ['2', 12, 'c'],
      ['2', 13, 'd'],
      ['2', 14, 'e'],
    ]);
    expect(await source.readTies(p, '4')).toEqual([]);
  });

  it('pages a tie group by identity', async () => {
    const ids = async (afterIdentity: string | null) =>
      (await source.readTies(p, '2', { afterIdentity, limit: 2 })).map((row) => row[1]);
    expect(await ids(null)).toEqual([10, 11]);
    expect(await ids('11')).toEqual([12, 13]);
    expect(await ids('13')).toEqual([14]);
    expect(await ids('14')).toEqual([]);
  });

  it('refuses to page without a one-column identity', async () => {
    const noIdentity = { ...p, identity: [], identityKind: null };
    const err = await failure(source.readTies(noIdentity, '2', { afterIdentity: null, limit: 2 }));
    expect(err.code).toBe('SECTION_INVALID');
  });

  it('uses the column collation: all emoji are equal under utf8mb4_unicode_ci', async () => {
    const ci = plan({
      table: 'ci_ties',
      key: 'code',
      keyKind: 'string',
      keyUnique: false,
      identity: ['id'],
      identityKind: 'signed',
      columns: ['code', 'id'],
    });
    expect(await source.readTies(ci, 'x😀')).toEqual([
      ['x😀', 1],
      ['x🎉', 2],
      ['X😀', 3],
    ]);
  });
});

describe('maxKey and minKey', () => {
  const p = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned' });

  it('returns the largest and next keys as strings', async () => {
    expect(await source.maxKey(p)).toBe('18446744073709551615');
    expect(await source.minKey(p, null)).toBe('1');
    expect(await source.minKey(p, '2')).toBe('9007199254740993');
    expect(await source.minKey(p, '18446744073709551615')).toBeNull();
    expect(await source.maxKey(plan({ table: 'int_s', key: 'id', keyKind: 'signed' }))).toBe(
      '2147483647',
    );
  });

  it('returns null for an empty table', async () => {
    const empty = plan({ table: 'empty_t', key: 'id', keyKind: 'signed' });
    expect(await source.maxKey(empty)).toBeNull();
    expect(await source.minKey(empty, null)).toBeNull();
  });

  it('reads one end of the key index, not the whole of it, and skips NULL keys', async () => {
    // 20,000 rows, the first thousand without a key; MariaDB's per-table statistics
    // (userstat) count the rows a statement reads.
    await db.exec(`
      CREATE TABLE long_t (id INT PRIMARY KEY, k INT NULL, KEY (k));
      INSERT INTO long_t SELECT seq, IF(seq <= 1000, NULL, seq * 3) FROM seq_1_to_20000;`);
    const [[status]] = await db.conn.query<mysql.RowDataPacket[]>(
      "SHOW GLOBAL VARIABLES LIKE 'userstat'",
    );
    const rowsRead = async (): Promise<number> => {
      const [rows] = await db.conn.query<mysql.RowDataPacket[]>(
        `SELECT ROWS_READ FROM information_schema.TABLE_STATISTICS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'long_t'`,
        [db.name],
      );
      return Number(rows[0]?.ROWS_READ ?? 0);
    };
    await db.exec('SET GLOBAL userstat = ON');
    try {
      for (const key of ['id', 'k']) {
        const p = plan({ table: 'long_t', key, keyKind: 'signed' });
        const before = await rowsRead();
        expect(await source.minKey(p, null)).toBe(key === 'id' ? '1' : '3003');
        expect(await source.maxKey(p)).toBe(key === 'id' ? '20000' : '60000');
        expect(await source.minKey(p, key === 'id' ? '19000' : '3003')).toBe(
          key === 'id' ? '19001' : '3006',
        );
        // A full index walk reads 20,000 rows.
        expect(await rowsRead()).toBeLessThan(before + 10);
      }
    } finally {
      await db.exec(`SET GLOBAL userstat = ${String(status?.Value) === 'ON' ? 'ON' : 'OFF'}`);
    }
  });
});

describe('query (console)', () => {
  const limits = { timeoutMs: 5_000, rowCap: 100 };

  it('returns columns and rows of a SELECT', async () => {
    const result = await source.query('SELECT id, v FROM big_u ORDER BY id;', limits);
    expect(result.columns).toEqual(['id', 'v']);
    expect(result.rows).toHaveLength(5);
    expect(result.rows[4]).toEqual(['18446744073709551615', 'max']);
    expect(result.truncated).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('runs SHOW and DESCRIBE', async () => {
    const tables = await source.query('SHOW TABLES', limits);
    expect(tables.rows).toContainEqual(['order']);
    const columns = await source.query('DESCRIBE `order`', limits);
    expect(columns.columns[0]).toBe('Field');
    expect(columns.rows.map((row) => row[0])).toContain('we`ird');
  });

  it('cuts the result at the row cap', async () => {
    const sql = 'SELECT id FROM big_u ORDER BY id';
    const capped = await source.query(sql, { ...limits, rowCap: 2 });
    expect(capped).toMatchObject({ rows: [['1'], ['2']], truncated: true });
    const exact = await source.query(sql, { ...limits, rowCap: 5 });
    expect(exact).toMatchObject({ truncated: false });
    expect(exact.rows).toHaveLength(5);
  });

  it('shows binary values as text when they are UTF-8, else as hex', async () => {
    const result = await source.query("SELECT x'6869', x'ff00', 'é😀'", limits);
    expect(result.rows).toEqual([['hi', '0xff00', 'é😀']]);
  });

  it.each([
    "INSERT INTO big_u VALUES (3, 'three')",
    "UPDATE big_u SET v = 'changed'",
    'DELETE FROM big_u',
    'CREATE TABLE console_made (id INT)',
    'DROP TABLE big_u',
    'TRUNCATE big_u',
  ])('refuses a write with MySQL read-only error: %s', async (sql) => {
    const err = await failure(source.query(sql, limits));
    expect(err.code).toBe('MYSQL_QUERY_FAILED');
    expect(err.message).toContain('Cannot execute statement in a READ ONLY transaction');
    expect(err.details).toMatchObject({ errno: 1792 });
    const p = plan({ table: 'big_u', key: 'id', keyKind: 'unsigned', columns: ['id', 'v'] });
    const rows = await source.readAfter(p, null, 10);
    expect(rows).toHaveLength(5);
    expect(rows.map((row) => row[1])).not.toContain('changed');
    expect((await source.listTables()).map((t) => t.name)).not.toContain('console_made');
  });

  it('runs one statement at a time', async () => {
    for (const sql of ['SELECT 1; SELECT 2', 'SELECT 1;\nDELETE FROM big_u;']) {
      const err = await failure(source.query(sql, limits));
      expect(err.code).toBe('MYSQL_QUERY_FAILED');
      expect(err.message).toContain('one statement at a time');
    }
    const quoted = await source.query("SELECT ';' AS `a;b` -- trailing; comment\n;", limits);
    expect(quoted).toMatchObject({ columns: ['a;b'], rows: [[';']] });
  });

  it('refuses statements a read-only transaction would let through', async () => {
    for (const sql of [
      "SET time_zone = '+05:00'",
      'DO 1',
      'COMMIT',
      "SELECT 1 INTO OUTFILE '/tmp/x'",
    ]) {
      expect((await failure(source.query(sql, limits))).code).toBe('MYSQL_QUERY_FAILED');
    }
  });

  it('stops a statement at its time limit with MYSQL_TIMEOUT', async () => {
    const started = Date.now();
    const err = await failure(source.query('SELECT SLEEP(3)', { timeoutMs: 500, rowCap: 10 }));
    expect(err.code).toBe('MYSQL_TIMEOUT');
    expect(err.message).toContain('500 ms');
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});
