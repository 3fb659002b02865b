import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/core/errors.js';
import type { ActivityRecord, ReadPlan, SourceRow } from '../../src/core/types.js';
import { applyConfig } from '../../src/engine/config-ops.js';
import { Engine } from '../../src/engine/engine.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import type { Source } from '../../src/source/source.js';
import { SPILL_AFTER_BYTES } from '../../src/store/batch-parts.js';
import { openStore } from '../../src/store/open-store.js';
import type { BatchHead, BatchStream, Store } from '../../src/store/store.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createHarness, testConfig, type Harness } from '../helpers/sluice.js';

let db: TestDatabase;
let h: Harness;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createHarness(db);
});
afterEach(async () => {
  await h.close();
});

/** Reads the landed data straight from the SQLite file, as a user with sqlite3 would. */
function landed(sql: string, params: unknown[] = []): Record<string, unknown>[] {
  const sqlite = new Database(join(h.dataDir, 'sluice.db'), { readonly: true });
  try {
    return sqlite.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    sqlite.close();
  }
}

const activity = (table: string, key: string, extra: Record<string, unknown> = {}) => ({
  name: table,
  dataType: 'activities',
  table,
  key,
  batchSize: 3,
  mapping: { email: 'email', action: 'action' },
  ...extra,
});

/** The harness's store with some of its methods replaced (the others bound to it). */
function storeWith(replaced: Partial<Store>): Store {
  return new Proxy(h.store, {
    get(target, prop) {
      const own: unknown = Reflect.get(replaced, prop);
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** An engine on `store`, reading this file's test database. */
function engineOn(store: Store): Engine {
  return new Engine({
    store,
    connect: () => createMysqlSource({ ...TEST_MYSQL, database: db.name }, TEST_MYSQL.password),
  });
}

describe('activities', () => {
  it('lands every row once, with defaults, and lands nothing when caught up', async () => {
    await db.exec(`CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100), user_id VARCHAR(20),
      action VARCHAR(50), qty DECIMAL(10,2), created_at DATETIME(3), plan VARCHAR(20))`);
    await db.exec(`INSERT INTO events (email, user_id, action, qty, created_at, plan) VALUES
      ('a@x.io', 'u1', 'login', NULL, '2024-05-01 10:00:00.250', 'pro'),
      ('b@x.io', NULL, 'click', 2.5, NULL, 'free'),
      (NULL, 'u3', 'click', 1, '2024-05-02 00:00:00', NULL),
      ('😀@x.io', NULL, 'émoji 🚀', 1, '2024-05-03 00:00:00', NULL),
      ('e@x.io', 'u5', 'login', 3, '2024-05-04 00:00:00', NULL),
      ('f@x.io', 'u6', 'login', 1, '2024-05-05 00:00:00', NULL),
      ('g@x.io', 'u7', 'login', 1, '2024-05-06 00:00:00', NULL)`);
    await h.apply([
      activity('events', 'id', {
        mapping: {
          email: 'email',
          externalId: 'user_id',
          action: 'action',
          weight: 'qty',
          date: 'created_at',
        },
        info: ['plan'],
      }),
    ]);
    const before = new Date().toISOString();
    const first = await h.sync('events');
    expect(first).toMatchObject({
      status: 'succeeded',
      rowsRead: 7,
      landed: 7,
      rejected: 0,
      cursor: '7',
    });
    const rows = landed(
      'SELECT row_id, email, external_id, action, weight, date, info FROM activities ORDER BY id',
    );
    expect(rows).toHaveLength(7);
    expect(rows[0]).toMatchObject({
      row_id: '1',
      email: 'a@x.io',
      weight: 1,
      date: '2024-05-01T10:00:00.250Z',
      info: '{"plan":"pro"}',
    });
    expect(rows[1]).toMatchObject({ email: 'b@x.io', external_id: null, weight: 2.5 });
    expect(String(rows[1]?.date) >= before).toBe(true);
    expect(rows[3]).toMatchObject({ email: '😀@x.io', action: 'émoji 🚀' });
    const again = await h.sync('events');
    expect(again).toMatchObject({ status: 'succeeded', rowsRead: 0, landed: 0, cursor: '7' });
    expect(landed('SELECT count(*) AS n FROM activities')[0]?.n).toBe(7);
  });

  it('keeps bad rows as rejects with key and reason and lands the rest', async () => {
    await db.exec(
      `CREATE TABLE bad_events (id BIGINT PRIMARY KEY, email VARCHAR(300), action VARCHAR(300), w VARCHAR(20), d VARCHAR(40))`,
    );
    await db.exec(`INSERT INTO bad_events VALUES
      (1, 'ok@x.io', 'a', '2', '2024-01-01'),
      (2, NULL, 'no identity', NULL, NULL),
      (3, 'w@x.io', 'a', 'heavy', NULL),
      (4, 'd@x.io', 'a', NULL, 'yesterday'),
      (5, 'l@x.io', REPEAT('x', 256), NULL, NULL),
      (6, 'ok2@x.io', 'a', NULL, '1714557600')`);
    await h.apply([
      activity('bad_events', 'id', {
        mapping: { email: 'email', action: 'action', weight: 'w', date: 'd' },
      }),
    ]);
    const r = await h.sync('bad_events');
    expect(r).toMatchObject({
      status: 'succeeded',
      rowsRead: 6,
      landed: 2,
      rejected: 4,
      cursor: '6',
    });
    const section = (await h.store.listSections()).find((s) => s.name === 'bad_events');
    const rejects = await h.store.listRejects({ sectionId: section?.id ?? 0 });
    expect(rejects.map((x) => [x.key, x.code, x.field])).toEqual([
      ['2', 'missing_identity', 'email'],
      ['3', 'not_a_number', 'weight'],
      ['4', 'bad_date', 'date'],
      ['5', 'too_long', 'action'],
    ]);
    expect(rejects[1]?.reason).toContain('column w');
    expect(rejects[1]?.input).toBe('heavy');
    expect(landed('SELECT date FROM activities WHERE row_id = ?', ['6'])[0]?.date).toBe(
      '2024-05-01T10:00:00.000Z',
    );
  });
});

describe('metrics', () => {
  it('lands metric points with the section model and exact values', async () => {
    await db.exec(
      `CREATE TABLE daily_usage (seq BIGINT UNSIGNED PRIMARY KEY, metric VARCHAR(50), amount DECIMAL(20,4), company_id VARCHAR(20), day DATE)`,
    );
    await db
      .exec(
        `INSERT INTO daily_usage VALUES (1, 'seats', 12.5, 'c1', '2024-05-01'), (2, 'seats', NULL, 'c2', '2024-05-01'),
      (3, 'seats', 7, 'c1', '2024-05-02'), (4, 'logins', 'abc', 'c1', NULL)`,
      )
      .catch(async () => {
        // DECIMAL refuses 'abc' in strict mode; insert the non-numeric case through a VARCHAR table below.
        await db.exec(
          `INSERT INTO daily_usage VALUES (1, 'seats', 12.5, 'c1', '2024-05-01'), (2, 'seats', NULL, 'c2', '2024-05-01'), (3, 'seats', 7, 'c1', '2024-05-02')`,
        );
      });
    await h.apply([
      {
        name: 'seats',
        dataType: 'metrics',
        model: 'EndUser',
        table: 'daily_usage',
        key: 'seq',
        batchSize: 2,
        mapping: { dimensionId: 'metric', value: 'amount', externalId: 'company_id', date: 'day' },
      },
    ]);
    const r = await h.sync('seats');
    expect(r).toMatchObject({ status: 'succeeded', rowsRead: 3, landed: 2, rejected: 1 });
    expect(
      landed('SELECT model, external_id, dimension_id, value, date FROM metric_points ORDER BY id'),
    ).toEqual([
      {
        model: 'Enduser',
        external_id: 'c1',
        dimension_id: 'seats',
        value: 12.5,
        date: '2024-05-01T00:00:00.000Z',
      },
      {
        model: 'Enduser',
        external_id: 'c1',
        dimension_id: 'seats',
        value: 7,
        date: '2024-05-02T00:00:00.000Z',
      },
    ]);
  });
});

describe('keys', () => {
  it('reads BIGINT UNSIGNED keys up to 2^64-1 exactly', async () => {
    await db.exec(
      `CREATE TABLE big (id BIGINT UNSIGNED PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    await db.exec(`INSERT INTO big VALUES (18446744073709551610, 'a@x', 'a'), (18446744073709551613, 'b@x', 'a'),
      (18446744073709551614, 'c@x', 'a'), (18446744073709551615, 'd@x', 'a')`);
    await h.apply([activity('big', 'id', { batchSize: 2 })]);
    const r = await h.sync('big');
    expect(r).toMatchObject({ rowsRead: 4, landed: 4, cursor: '18446744073709551615' });
    expect(landed('SELECT row_id FROM activities ORDER BY id').map((x) => x.row_id)).toEqual([
      '18446744073709551610',
      '18446744073709551613',
      '18446744073709551614',
      '18446744073709551615',
    ]);
    await h.store.setCursor(r.sectionId, '18446744073709551614');
    expect(await h.sync('big')).toMatchObject({
      rowsRead: 1,
      landed: 0,
      cursor: '18446744073709551615',
    });
  });

  it('reads DECIMAL and string keys exactly, in MySQL order', async () => {
    await db.exec(
      `CREATE TABLE dec_keys (k DECIMAL(30,10) PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    await db.exec(
      `INSERT INTO dec_keys VALUES (12345678901234567890.0000000001, 'a@x', 'a'), (12345678901234567890.0000000002, 'b@x', 'a'), (-1.5, 'c@x', 'a')`,
    );
    await db.exec(
      `CREATE TABLE str_keys (k VARCHAR(32) PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    await db.exec(
      `INSERT INTO str_keys VALUES ('2024-01-01-a', 'a@x', 'a'), ('2024-01-01-b', 'b@x', 'a'), ('2024-01-02', 'c@x', 'a'), ('2024-01-03-😀', 'd@x', 'a')`,
    );
    await h.apply([
      activity('dec_keys', 'k', { batchSize: 2 }),
      activity('str_keys', 'k', { batchSize: 2 }),
    ]);
    expect(await h.sync('dec_keys')).toMatchObject({
      landed: 3,
      cursor: '12345678901234567890.0000000002',
    });
    expect(await h.sync('str_keys')).toMatchObject({ landed: 4, cursor: '2024-01-03-😀' });
    await db.exec(`INSERT INTO dec_keys VALUES (12345678901234567890.0000000003, 'd@x', 'a')`);
    expect(await h.sync('dec_keys')).toMatchObject({ rowsRead: 1, landed: 1 });
  });

  it('lands rows that share a key at a batch boundary exactly once', async () => {
    await db.exec(
      `CREATE TABLE ts_events (id INT PRIMARY KEY, ts DATETIME, email VARCHAR(50), action VARCHAR(10), KEY (ts))`,
    );
    const values: string[] = [];
    // 5 rows per timestamp: every batch of 3 ends inside a tie group.
    for (let i = 1; i <= 20; i++)
      values.push(
        `(${i}, '2024-01-01 00:00:${String(Math.ceil(i / 5)).padStart(2, '0')}', 'u${i}@x', 'a')`,
      );
    await db.exec(`INSERT INTO ts_events VALUES ${values.join(',')}`);
    await h.apply([activity('ts_events', 'ts', { batchSize: 3 })]);
    const r = await h.sync('ts_events');
    expect(r).toMatchObject({ status: 'succeeded', landed: 20, cursor: '2024-01-01 00:00:04' });
    expect(landed('SELECT count(DISTINCT row_id) AS d, count(*) AS n FROM activities')[0]).toEqual({
      d: 20,
      n: 20,
    });
  });

  it('lands a tie group larger than the batch size, with and without a primary key', async () => {
    await db.exec(
      `CREATE TABLE ties_pk (id INT PRIMARY KEY, ts DATE, email VARCHAR(50), action VARCHAR(10), KEY (ts))`,
    );
    await db.exec(
      `CREATE TABLE ties_nopk (ts DATE, email VARCHAR(50), action VARCHAR(10), KEY (ts))`,
    );
    const rows: string[] = [];
    for (let i = 1; i <= 25; i++)
      rows.push(
        `'${i <= 2 ? '2024-01-01' : i <= 23 ? '2024-01-02' : '2024-01-03'}', 'u${i % 4}@x', 'a'`,
      );
    await db.exec(`INSERT INTO ties_pk VALUES ${rows.map((r, i) => `(${i + 1}, ${r})`).join(',')}`);
    // Identical rows on purpose: without a key they are told apart by their rank.
    await db.exec(`INSERT INTO ties_nopk VALUES ${rows.map((r) => `(${r})`).join(',')}`);
    await h.apply([
      activity('ties_pk', 'ts', { batchSize: 4 }),
      activity('ties_nopk', 'ts', { batchSize: 4 }),
    ]);
    expect(await h.sync('ties_pk')).toMatchObject({ landed: 25, cursor: '2024-01-03' });
    expect(await h.sync('ties_nopk')).toMatchObject({ landed: 25, cursor: '2024-01-03' });
    // A reset re-reads everything and lands nothing twice, identical rows included.
    for (const name of ['ties_pk', 'ties_nopk']) {
      const s = (await h.store.listSections()).find((x) => x.name === name);
      await h.store.setCursor(s?.id ?? 0, null);
      expect(await h.sync(name)).toMatchObject({
        landed: 0,
        rowsRead: expect.any(Number) as number,
      });
    }
    expect(landed('SELECT count(*) AS n FROM activities')[0]?.n).toBe(50);
  });

  it('streams a table without a unique key in parts, numbering identical rows across them', async () => {
    // 6,000 rows, the first 3,000 sharing one timestamp, then groups of 700; 150 different rows
    // per group, each about 20 times over, spread through its group: identical rows fall in
    // different parts (256 rows) of a batch (2,500), and in both batches a group straddles.
    await db.exec(
      `CREATE TABLE ties_none (ts DATETIME, email VARCHAR(50), action VARCHAR(10), KEY (ts))`,
    );
    const values = Array.from({ length: 6000 }, (_, k) => {
      const i = k + 1;
      const second = i <= 3000 ? 0 : Math.floor(i / 700);
      return `('2024-01-01 00:00:${String(second).padStart(2, '0')}', 'u${i % 50}@x.io', 'a${i % 3}')`;
    });
    await db.exec(`INSERT INTO ties_none VALUES ${values.join(',')}`);
    await h.apply([activity('ties_none', 'ts', { batchSize: 2500 })]);
    const exact = () =>
      landed(`SELECT count(*) AS n, count(DISTINCT row_id) AS d,
        (SELECT sum(activity_count) FROM endusers) AS counted FROM activities`)[0];
    expect(await h.sync('ties_none')).toMatchObject({
      landed: 6000,
      cursor: '2024-01-01 00:00:08',
    });
    expect(exact()).toEqual({ n: 6000, d: 6000, counted: 6000 });
    // A reset re-reads it all, in other batches' company: nothing lands twice.
    const s = (await h.store.listSections()).find((x) => x.name === 'ties_none');
    await h.store.setCursor(s?.id ?? 0, null);
    expect(await h.sync('ties_none')).toMatchObject({ landed: 0, rowsRead: 6000 });
    expect(exact()).toEqual({ n: 6000, d: 6000, counted: 6000 });
  });

  it('lands identical rows once when a case-insensitive key interleaves them with others', async () => {
    // 'k' and 'K' are one key to MySQL's collation and come in any order; 900 rows of it, 20
    // different ones over and over, then 300 of 'm': batches of 500 end inside the group, parts
    // of 256 split it, and the next batch starts after all of it.
    await db.exec(
      `CREATE TABLE ties_ci (k VARCHAR(10) COLLATE utf8mb4_general_ci, email VARCHAR(50),
         action VARCHAR(10), KEY (k))`,
    );
    const values = Array.from({ length: 1200 }, (_, i) =>
      i < 900
        ? `('${i % 2 === 0 ? 'k' : 'K'}', 'u${i % 10}@x.io', 'a')`
        : `('m', 'u${i % 7}@x.io', 'a')`,
    );
    await db.exec(`INSERT INTO ties_ci VALUES ${values.join(',')}`);
    await h.apply([activity('ties_ci', 'k', { batchSize: 500 })]);
    const exact = () =>
      landed(`SELECT count(*) AS n, count(DISTINCT row_id) AS d,
        (SELECT sum(activity_count) FROM endusers) AS counted FROM activities`)[0];
    expect(await h.sync('ties_ci')).toMatchObject({ landed: 1200, cursor: 'm' });
    expect(exact()).toEqual({ n: 1200, d: 1200, counted: 1200 });
    const s = (await h.store.listSections()).find((x) => x.name === 'ties_ci');
    await h.store.setCursor(s?.id ?? 0, null);
    expect(await h.sync('ties_ci')).toMatchObject({ landed: 0 });
    expect(exact()).toEqual({ n: 1200, d: 1200, counted: 1200 });
  });

  it('streams batches of a key with ties in parts, with a one-column or a two-column identity', async () => {
    // 6,000 rows: the first 3,000 share one timestamp (a group wider than a batch), then groups
    // of 700; batches of 2,500 reach the store in parts of 1,024 and end inside groups.
    for (const [table, pk] of [
      ['ties_one', 'PRIMARY KEY (id)'],
      ['ties_two', 'PRIMARY KEY (grp, n)'],
    ] as const) {
      await db.exec(
        `CREATE TABLE ${table} (id INT NOT NULL, grp INT NOT NULL, n INT NOT NULL, ts DATETIME,
           email VARCHAR(50), action VARCHAR(10), ${pk}, KEY (ts))`,
      );
      const values = Array.from({ length: 6000 }, (_, k) => {
        const i = k + 1;
        const second = i <= 3000 ? 0 : Math.floor(i / 700);
        return `(${i}, ${i % 7}, ${i}, '2024-01-01 00:00:${String(second).padStart(2, '0')}', 'u${i % 50}@x.io', 'a${i % 3}')`;
      });
      await db.exec(`INSERT INTO ${table} VALUES ${values.join(',')}`);
    }
    await h.apply([
      activity('ties_one', 'ts', { batchSize: 2500 }),
      activity('ties_two', 'ts', { batchSize: 2500 }),
    ]);
    const exact = () =>
      landed(`SELECT count(*) AS n, count(DISTINCT section_id || ':' || row_id) AS d,
        (SELECT sum(activity_count) FROM endusers) AS counted FROM activities`)[0];
    for (const name of ['ties_one', 'ties_two']) {
      // Read once: the group pages leave out the rows the batch landed (landing them again would
      // make the store read the section's counts back at every batch boundary).
      expect(await h.sync(name)).toMatchObject({
        status: 'succeeded',
        rowsRead: 6000,
        landed: 6000,
        cursor: '2024-01-01 00:00:08',
      });
    }
    expect(exact()).toEqual({ n: 12000, d: 12000, counted: 12000 });
    // A reset re-reads both tables and lands nothing twice; the counts stay exact.
    for (const name of ['ties_one', 'ties_two']) {
      const s = (await h.store.listSections()).find((x) => x.name === name);
      await h.store.setCursor(s?.id ?? 0, null);
      expect(await h.sync(name)).toMatchObject({ status: 'succeeded', landed: 0 });
    }
    expect(exact()).toEqual({ n: 12000, d: 12000, counted: 12000 });
  });

  it('works with reserved words, spaces, backticks and non-ASCII identifiers', async () => {
    await db.exec(
      'CREATE TABLE `order` (`select` INT PRIMARY KEY, `e mail` VARCHAR(50), `act``ion` VARCHAR(20), `дата` DATETIME)',
    );
    await db.exec(
      "INSERT INTO `order` VALUES (1, 'a@x', 'buy', '2024-01-01 00:00:00'), (2, 'b@x', 'sell', NULL)",
    );
    await h.apply([
      {
        name: 'orders',
        dataType: 'activities',
        table: 'order',
        key: 'select',
        mapping: { email: 'e mail', action: 'act`ion', date: 'дата' },
      },
    ]);
    const r = await h.sync('orders');
    expect(r).toMatchObject({ status: 'succeeded', landed: 2, cursor: '2' });
    expect(landed('SELECT action FROM activities ORDER BY id').map((x) => x.action)).toEqual([
      'buy',
      'sell',
    ]);
  });
});

describe('lookback, reset and failures', () => {
  it('lands rows that commit out of key order when a lookback covers them', async () => {
    await db.exec(`CREATE TABLE late (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`);
    await db.exec(
      `INSERT INTO late VALUES (1,'a@x','a'),(2,'b@x','a'),(4,'d@x','a'),(5,'e@x','a')`,
    );
    await h.apply([activity('late', 'id', { batchSize: 10, lookback: '3' })]);
    expect(await h.sync('late')).toMatchObject({ landed: 4, cursor: '5' });
    // id 3 became visible after 5 was read, as a slow transaction would make it.
    await db.exec(`INSERT INTO late VALUES (3,'c@x','a'),(6,'f@x','a')`);
    expect(await h.sync('late')).toMatchObject({ rowsRead: 4, landed: 2, cursor: '6' });
    expect(await h.sync('late')).toMatchObject({ landed: 0, cursor: '6' });
    expect(landed('SELECT count(*) AS n FROM activities')[0]?.n).toBe(6);
  });

  it('looks back a duration on a temporal key', async () => {
    await db.exec(
      `CREATE TABLE late_ts (id INT PRIMARY KEY, ts DATETIME(6), email VARCHAR(50), action VARCHAR(10), KEY (ts))`,
    );
    await db.exec(
      `INSERT INTO late_ts VALUES (1,'2024-01-01 10:00:00.000001','a@x','a'),(2,'2024-01-01 10:20:00.5','b@x','a')`,
    );
    await h.apply([activity('late_ts', 'ts', { lookback: '10m' })]);
    expect(await h.sync('late_ts')).toMatchObject({
      landed: 2,
      cursor: '2024-01-01 10:20:00.500000',
    });
    // Committed late, 5 minutes behind the cursor: inside the window. 15 minutes behind: outside.
    await db.exec(
      `INSERT INTO late_ts VALUES (3,'2024-01-01 10:15:00','c@x','a'),(4,'2024-01-01 10:05:00','d@x','a')`,
    );
    expect(await h.sync('late_ts')).toMatchObject({
      rowsRead: 2,
      landed: 1,
      cursor: '2024-01-01 10:20:00.500000',
    });
    expect(landed('SELECT email FROM activities WHERE email IN (?, ?)', ['c@x', 'd@x'])).toEqual([
      { email: 'c@x' },
    ]);
  });

  it('re-reads after a reset without landing any row twice', async () => {
    await db.exec(
      `CREATE TABLE resets (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    await db.exec(
      `INSERT INTO resets VALUES (1,'a@x','a'),(2,'b@x','a'),(3,'c@x','a'),(4,'d@x','a')`,
    );
    await h.apply([activity('resets', 'id')]);
    const first = await h.sync('resets');
    await h.store.setCursor(first.sectionId, '2');
    expect(await h.sync('resets')).toMatchObject({ rowsRead: 2, landed: 0, cursor: '4' });
    await h.store.setCursor(first.sectionId, null);
    expect(await h.sync('resets')).toMatchObject({ rowsRead: 4, landed: 0, cursor: '4' });
    expect(landed('SELECT count(*) AS n FROM activities')[0]?.n).toBe(4);
  });

  it('fails the run at a batch the store refuses, commits none after it, and the rerun lands the rest once', async () => {
    await db.exec(
      `CREATE TABLE steady (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    const values = Array.from({ length: 20 }, (_, i) => `(${i + 1}, 'u${i % 4}@x.io', 'a')`);
    await db.exec(`INSERT INTO steady VALUES ${values.join(',')}`);
    await h.apply([activity('steady', 'id')]);
    // The third batch carries a record SQLite refuses (weight is NOT NULL), while the engine has
    // already handed the batches after it to the store.
    let calls = 0;
    const engine = engineOn(
      storeWith({
        openBatch: (head: BatchHead): BatchStream => {
          calls++;
          const stream = h.store.openBatch(head);
          if (calls !== 3) return stream;
          return {
            ...stream,
            add: (records) =>
              stream.add(
                records.map((r, i) => (i === 0 ? { ...r, weight: null } : r)) as ActivityRecord[],
              ),
          };
        },
      }),
    );
    try {
      const [failed] = await engine.runAll({ section: 'steady' });
      expect(failed).toMatchObject({ status: 'failed', errorCode: 'STORE_FAILED', cursor: '6' });
      expect(calls).toBeGreaterThan(3);
    } finally {
      await engine.close();
    }
    expect(landed('SELECT row_id FROM activities ORDER BY id').map((r) => r.row_id)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
    expect(await h.sync('steady')).toMatchObject({ status: 'succeeded', landed: 14, cursor: '20' });
    expect(landed('SELECT count(*) AS n FROM activities')[0]).toEqual({ n: 20 });
    expect(landed('SELECT sum(activity_count) AS n FROM endusers')[0]).toEqual({ n: 20 });
  });

  it('reads each streamed batch only once the store is ready for it', async () => {
    await db.exec(`CREATE TABLE paced (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`);
    const values = Array.from({ length: 10 }, (_, i) => `(${i + 1}, 'u${i % 3}@x.io', 'a')`);
    await db.exec(`INSERT INTO paced VALUES ${values.join(',')}`);
    await h.apply([activity('paced', 'id')]);
    // The store says it is ready 20 ms late each time: no batch may be opened before.
    const events: string[] = [];
    const engine = engineOn(
      storeWith({
        readyForBatch: async (sectionId: number) => {
          events.push('wait');
          await new Promise((resolve) => setTimeout(resolve, 20));
          await h.store.readyForBatch(sectionId);
          events.push('ready');
        },
        openBatch: (head: BatchHead): BatchStream => {
          events.push('open');
          return h.store.openBatch(head);
        },
      }),
    );
    try {
      const [result] = await engine.runAll({ section: 'paced' });
      expect(result).toMatchObject({ status: 'succeeded', landed: 10, cursor: '10' });
    } finally {
      await engine.close();
    }
    // Batches of 3: four of them, the last one short (it ends the run).
    expect(events).toEqual(Array.from({ length: 4 }, () => ['wait', 'ready', 'open']).flat());
  });

  it('ends a run whose last batch was full with an empty batch that carries its fold', async () => {
    await db.exec(`CREATE TABLE even (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`);
    const values = Array.from({ length: 6 }, (_, i) => `(${i + 1}, 'u${i % 4}@x.io', 'a${i % 2}')`);
    await db.exec(`INSERT INTO even VALUES ${values.join(',')}`);
    await h.apply([activity('even', 'id')]);
    // What the store holds as the run ends: folded already, or left for finishRun to fold.
    const atFinish: Record<string, unknown>[] = [];
    const engine = engineOn(
      storeWith({
        finishRun: async (...args: Parameters<Store['finishRun']>) => {
          atFinish.push(
            ...landed(`SELECT landed_id, folded_id,
              (SELECT count(*) FROM endusers) AS endusers FROM sections`),
          );
          return h.store.finishRun(...args);
        },
      }),
    );
    try {
      // Batches of 3: two full ones, then an empty read.
      const [result] = await engine.runAll({ section: 'even' });
      expect(result).toMatchObject({ status: 'succeeded', rowsRead: 6, landed: 6, cursor: '6' });
      const [again] = await engine.runAll({ section: 'even' });
      expect(again).toMatchObject({ status: 'succeeded', rowsRead: 0, landed: 0, cursor: '6' });
    } finally {
      await engine.close();
    }
    expect(atFinish).toEqual([
      { landed_id: 6, folded_id: 6, endusers: 4 },
      { landed_id: 6, folded_id: 6, endusers: 4 },
    ]);
    expect(
      landed('SELECT rows_read, landed, key_from, key_to, cursor FROM runs ORDER BY id'),
    ).toEqual([
      { rows_read: 6, landed: 6, key_from: '1', key_to: '6', cursor: '6' },
      { rows_read: 0, landed: 0, key_from: null, key_to: null, cursor: '6' },
    ]);
    expect(landed('SELECT sum(activity_count) AS n FROM endusers')).toEqual([{ n: 6 }]);
  });

  it('asks MySQL before a run begins whether anything is new, and reads only when something is', async () => {
    await db.exec(`CREATE TABLE ticks (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`);
    await db.exec(`INSERT INTO ticks VALUES (1, 'a@x.io', 'a'), (2, 'b@x.io', 'a')`);
    await h.apply([activity('ticks', 'id', { batchSize: 5 })]);
    let opened = 0;
    const engine = engineOn(
      storeWith({
        openBatch: (head: BatchHead): BatchStream => {
          opened++;
          return h.store.openBatch(head);
        },
      }),
    );
    const listed = async () => {
      const found = (await h.store.listSections()).find((s) => s.name === 'ticks');
      if (found === undefined) throw new Error('no section');
      return found;
    };
    try {
      const stale = await listed();
      // The first run has nothing cached to ask with: it reads (one short batch).
      expect(await engine.runSection(stale)).toMatchObject({ landed: 2, cursor: '2' });
      expect(opened).toBe(1);
      // Caught up: MySQL said nothing is after the cursor before the run began; no batch opens.
      expect(await engine.runSection(await listed())).toMatchObject({ rowsRead: 0, cursor: '2' });
      expect(opened).toBe(1);
      // A section as listed before the first run: its cursor is not the run's, so the run reads.
      expect(await engine.runSection(stale)).toMatchObject({ rowsRead: 0, cursor: '2' });
      expect(opened).toBe(2);
      // New rows: the peek finds one and the run reads them all.
      await db.exec(`INSERT INTO ticks VALUES (3, 'c@x.io', 'a'), (4, 'd@x.io', 'a')`);
      expect(await engine.runSection(await listed())).toMatchObject({
        rowsRead: 2,
        landed: 2,
        cursor: '4',
      });
      expect(opened).toBe(3);
      // Reset after the section was listed: nothing is after its listed cursor, but the run
      // begins at the start, and reads the rows again (landing none twice).
      const beforeReset = await listed();
      await h.store.setCursor(beforeReset.id, null);
      expect(await engine.runSection(beforeReset)).toMatchObject({
        rowsRead: 4,
        landed: 0,
        cursor: '4',
      });
      expect(opened).toBe(4);
    } finally {
      await engine.close();
    }
    expect(landed('SELECT count(*) AS n FROM activities')).toEqual([{ n: 4 }]);
  });

  it('hands the store two batches ahead of the one committing, one when batches pass 10,000 rows', async () => {
    await db.exec(`CREATE TABLE deep (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`);
    await db.exec(`INSERT INTO deep SELECT seq, CONCAT('u', seq % 50, '@x.io'), 'a'
      FROM seq_1_to_40004`);
    /** The most batches opened and not yet settled at once, per batch size. */
    const deepest = async (batchSize: number): Promise<number> => {
      await h.apply([activity('deep', 'id', { batchSize })]);
      let open = 0;
      let most = 0;
      const engine = engineOn(
        storeWith({
          openBatch: (head: BatchHead): BatchStream => {
            const batch = h.store.openBatch(head);
            open++;
            most = Math.max(most, open);
            return {
              add: (records) => batch.add(records),
              addBody: (body, chunks) => batch.addBody(body, chunks),
              abort: async () => {
                await batch.abort();
                open--;
              },
              commit: (tail) => {
                const done = batch.commit(tail);
                // Slow commits: every batch the engine may hand over is opened meanwhile.
                return done.then(
                  async (r) => {
                    await new Promise((resolve) => setTimeout(resolve, 30));
                    open--;
                    return r;
                  },
                  (err: unknown) => {
                    open--;
                    throw err;
                  },
                );
              },
            };
          },
        }),
      );
      try {
        const [result] = await engine.runAll({ section: 'deep' });
        expect(result).toMatchObject({ status: 'succeeded', rowsRead: 40_004 });
      } finally {
        await engine.close();
      }
      const [section] = await h.store.listSections();
      await h.store.setCursor(section?.id ?? 0, null);
      return most;
    };
    // One committing, one waiting, one being read; or one committing and one being read.
    expect(await deepest(10_000)).toBe(3);
    expect(await deepest(10_001)).toBe(2);
  });

  it('lands batches larger than the writer holds in memory exactly once, through the thread and inline', async () => {
    // 24,000 rows of about 430 characters (CJK, emoji): two batches of 12,000, each past the
    // bytes a batch may hold in memory, so each waits in a spill file until its commit.
    await db.exec(`CREATE TABLE wide (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10),
      note TEXT)`);
    await db.exec(`INSERT INTO wide SELECT seq, CONCAT('u', seq % 97, '@x.io'), 'a',
        CONCAT(seq, ':', REPEAT(CONCAT('名前😀é-', seq % 7), 60))
      FROM seq_1_to_24000`);
    const note = (id: number) => `${id}:${`名前😀é-${id % 7}`.repeat(60)}`;
    expect(12_000 * note(12_000).length * 2).toBeGreaterThan(SPILL_AFTER_BYTES);
    const section = activity('wide', 'id', { batchSize: 12_000, info: ['note'] });

    const check = (file: string) => {
      const sqlite = new Database(file, { readonly: true });
      try {
        const rows = sqlite
          .prepare('SELECT row_id, email, info FROM activities ORDER BY id')
          .all() as { row_id: string; email: string; info: string }[];
        expect(rows).toHaveLength(24_000);
        rows.forEach((row, i) => {
          const id = i + 1;
          if (row.row_id !== String(id) || row.email !== `u${id % 97}@x.io`) {
            expect(row).toMatchObject({ row_id: String(id), email: `u${id % 97}@x.io` });
          }
          if (row.info !== JSON.stringify({ note: note(id) })) {
            expect(JSON.parse(row.info)).toEqual({ note: note(id) });
          }
        });
      } finally {
        sqlite.close();
      }
    };

    await h.apply([section]);
    expect(await h.sync('wide')).toMatchObject({ status: 'succeeded', landed: 24_000 });
    check(join(h.dataDir, 'sluice.db'));
    // The spill files were unlinked as they were made: nothing is left in the data folder.
    expect(readdirSync(h.dataDir).filter((f) => f.includes('spill'))).toEqual([]);

    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-inline-'));
    const store = await openStore({
      dataDir,
      secretKey: 'test-secret-key-0123456789',
      writer: 'inline',
    });
    const source = await createMysqlSource(
      { ...TEST_MYSQL, database: db.name },
      TEST_MYSQL.password,
    );
    const engine = engineOn(store);
    try {
      const outcome = await applyConfig(store, source, testConfig(db, [section]));
      expect(outcome.ok).toBe(true);
      const [result] = await engine.runAll({ section: 'wide' });
      expect(result).toMatchObject({ status: 'succeeded', landed: 24_000 });
      check(join(dataDir, 'sluice.db'));
      expect(readdirSync(dataDir).filter((f) => f.includes('spill'))).toEqual([]);
    } finally {
      await engine.close();
      await source.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('drops a batch whose read fails after parts of it were handed over, and lands it once', async () => {
    await db.exec(
      `CREATE TABLE streamed (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    const values = Array.from({ length: 5000 }, (_, i) => `(${i + 1}, 'u${i % 7}@x.io', 'a')`);
    await db.exec(`INSERT INTO streamed VALUES ${values.join(',')}`);
    // Batches of 3000 rows reach the store in parts of 1024: the second batch's read fails after
    // its parts were handed over, `failures` times in a row (the engine tries each read twice).
    await h.apply([activity('streamed', 'id', { batchSize: 3000 })]);
    let reads = 0;
    let failures = 0;
    const connect = async (): Promise<Source> => {
      const real = await createMysqlSource(
        { ...TEST_MYSQL, database: db.name },
        TEST_MYSQL.password,
      );
      return Object.assign(Object.create(real) as Source, {
        streamAfter: (
          plan: ReadPlan,
          after: string | null,
          limit: number,
          partRows: number,
          onRows: (rows: SourceRow[]) => void,
        ) => {
          reads++;
          if (after !== '3000' || failures === 0) {
            return real.streamAfter(plan, after, limit, partRows, onRows);
          }
          failures--;
          return real.streamAfter(plan, after, limit, partRows, onRows).then(async () => {
            // Long enough for the batch to open and its parts to go to the writer thread.
            await new Promise((resolve) => setTimeout(resolve, 50));
            throw new SluiceError('MYSQL_UNREACHABLE', 'the connection was lost mid-read');
          });
        },
      });
    };
    const run = async () => {
      const engine = new Engine({ store: h.store, connect, retryDelayMs: 10, readAttempts: 2 });
      try {
        const [result] = await engine.runAll({ section: 'streamed' });
        return result;
      } finally {
        await engine.close();
      }
    };
    const counts = () => ({
      rows: landed('SELECT count(*) AS n FROM activities')[0]?.n,
      distinct: landed('SELECT count(DISTINCT row_id) AS n FROM activities')[0]?.n,
      counted: landed('SELECT sum(activity_count) AS n FROM endusers')[0]?.n,
    });

    // Every attempt fails: the run fails at the second batch, of which nothing landed.
    failures = 2;
    expect(await run()).toMatchObject({
      status: 'failed',
      errorCode: 'MYSQL_UNREACHABLE',
      landed: 3000,
      cursor: '3000',
    });
    expect(counts()).toEqual({ rows: 3000, distinct: 3000, counted: 3000 });
    // One attempt fails: the retry lands the batch, once.
    failures = 1;
    reads = 0;
    expect(await run()).toMatchObject({
      status: 'succeeded',
      rowsRead: 2000,
      landed: 2000,
      cursor: '5000',
    });
    expect(reads).toBe(2);
    expect(counts()).toEqual({ rows: 5000, distinct: 5000, counted: 5000 });
  });

  it('logs a failed run when the table is dropped, keeps the cursor, and resumes', async () => {
    await db.exec(
      `CREATE TABLE fragile (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    await db.exec(`INSERT INTO fragile VALUES (1,'a@x','a'),(2,'b@x','a')`);
    await h.apply([activity('fragile', 'id')]);
    expect(await h.sync('fragile')).toMatchObject({ landed: 2, cursor: '2' });
    await db.exec(`DROP TABLE fragile`);
    const failed = await h.sync('fragile');
    expect(failed).toMatchObject({
      status: 'failed',
      errorCode: 'MYSQL_TABLE_MISSING',
      cursor: '2',
    });
    expect(failed.error).toContain('fragile');
    await db.exec(
      `CREATE TABLE fragile (id INT PRIMARY KEY, email VARCHAR(50), action VARCHAR(10))`,
    );
    await db.exec(`INSERT INTO fragile VALUES (1,'a@x','a'),(2,'b@x','a'),(3,'c@x','a')`);
    expect(await h.sync('fragile')).toMatchObject({
      status: 'succeeded',
      rowsRead: 1,
      landed: 1,
      cursor: '3',
    });
    const runs = await h.store.listRuns({ sectionId: failed.sectionId });
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
  });
});
