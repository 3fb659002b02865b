import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityRecord, MetricRecord, SectionConfig } from '../../src/core/types.js';
import type { DataQueries } from '../../src/store/data-queries.js';
import { createMigrationProvider } from '../../src/store/migrations.js';
import { openDataQueries, openOutboxStore, openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

let dir: string;
let store: Store;
let data: DataQueries;

const SECRET = 'rollup-test-secret-key';
const integration = {
  name: 'db',
  enabled: true,
  mysql: { host: 'h', port: 3306, user: 'u', database: 'd' },
};
const section = (name: string, dataType: 'activities' | 'metrics'): SectionConfig => ({
  name,
  dataType,
  direction: 'receive',
  table: name,
  key: 'id',
  batchSize: 100,
  schedule: 'every 1h',
  mapping:
    dataType === 'activities' ? { email: 'e' } : { dimensionId: 'd', value: 'v', externalId: 'x' },
  info: [],
  ...(dataType === 'metrics' ? { model: 'Company' as const } : {}),
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-rollups-'));
});
afterEach(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A store file as an older release left it: migrated up to `version`, with one integration and
 * its sections `a` (activities, id 1) and `m` (metrics, Company, id 2). Close `db` before opening.
 */
async function storeAt(
  version: string,
): Promise<{ db: Kysely<unknown>; file: string; now: string }> {
  const file = join(dir, 'sluice.db');
  const db = new Kysely<unknown>({
    dialect: new SqliteDialect({ database: new BetterSqlite3(file) }),
  });
  const migrated = await new Migrator({ db, provider: createMigrationProvider() }).migrateTo(
    version,
  );
  expect(migrated.error).toBeUndefined();
  const now = '2024-06-01T00:00:00.000Z';
  await sql`INSERT INTO integrations (name, host, port, user_name, database_name, enabled, created_at, updated_at)
    VALUES ('db', 'h', 3306, 'u', 'd', 1, ${now}, ${now})`.execute(db);
  await sql`INSERT INTO sections (integration_id, name, data_type, direction, table_name, key_column, batch_size,
    schedule, model, mapping, info, created_at, updated_at)
    VALUES (1, 'a', 'activities', 'receive', 'a', 'id', 10, 'every 1h', NULL, '{"email":"e"}', '[]', ${now}, ${now}),
           (1, 'm', 'metrics', 'receive', 'm', 'id', 10, 'every 1h', 'Company', '{}', '[]', ${now}, ${now})`.execute(
    db,
  );
  return { db, file, now };
}

async function open(): Promise<void> {
  store = await openStore({ dataDir: dir, secretKey: SECRET });
  data = openDataQueries(store);
}

async function land(
  name: string,
  dataType: 'activities' | 'metrics',
  batches: (ActivityRecord[] | MetricRecord[])[],
): Promise<number[]> {
  const s = (await store.listSections()).find((x) => x.name === name);
  if (!s) throw new Error(`no section ${name}`);
  const run = await store.startRun(s.id, 'test');
  const landed: number[] = [];
  for (const records of batches) {
    const res = await store.commitBatch({
      sectionId: s.id,
      runId: run.id,
      dataType,
      records,
      rejects: [],
      cursor: records.at(-1)?.key,
      rowsRead: records.length,
      keyFrom: records[0]?.key ?? null,
      keyTo: records.at(-1)?.key ?? null,
    });
    landed.push(res.landed);
  }
  await store.finishRun(run.id, { status: 'succeeded' });
  return landed;
}

const act = (
  key: string,
  email: string,
  action: string,
  weight: number,
  date: string,
): ActivityRecord => ({
  rowId: key,
  key,
  email,
  action,
  weight,
  date,
});
const point = (key: string, x: string, value: number, date: string): MetricRecord => ({
  rowId: key,
  key,
  model: 'Company',
  externalId: x,
  dimensionId: 'seats',
  value,
  date,
});

describe('rollups kept by commitBatch', () => {
  it('count a row re-read by a lookback or re-sync once', async () => {
    await open();
    await store.applyConfig(integration, [section('a', 'activities')]);
    const batch = [
      act('1', 'p@x.io', 'click', 2, '2024-05-01T10:00:00.000Z'),
      act('2', 'p@x.io', 'click', 1, '2024-05-01T11:00:00.000Z'),
    ];
    expect(
      await land('a', 'activities', [
        batch,
        batch,
        [...batch, act('3', 'q@x.io', 'click', 1, '2024-05-02T00:00:00.000Z')],
      ]),
    ).toEqual([2, 0, 1]);
    expect(await data.actions()).toEqual([
      expect.objectContaining({ action: 'click', count: 3, weightedCount: 4, endusers: 2 }),
    ]);
    expect(await data.actionSeries('click', {})).toEqual([
      { day: '2024-05-01', value: 3 },
      { day: '2024-05-02', value: 1 },
    ]);
    expect((await data.endusers({ limit: 10, offset: 0 })).items[0]).toMatchObject({
      email: 'p@x.io',
      activities: 2,
      weightedActivities: 3,
    });
  });

  it('count a metric point re-read by a lookback or re-sync once, in chunks landed in part too', async () => {
    await open();
    await store.applyConfig(integration, [section('m', 'metrics')]);
    // 40 points: a chunk of 32 rows and 8 single ones; the third batch re-reads them after 5 new
    // ones, so its first chunk lands 5 of its 32 rows.
    const points = Array.from({ length: 45 }, (_, i) =>
      point(`${i + 1}`, `c${i % 4}`, i + 1, `2024-05-0${1 + (i % 3)}T10:00:00.000Z`),
    );
    const first = points.slice(0, 40);
    expect(await land('m', 'metrics', [first, first, [...points.slice(40), ...first]])).toEqual([
      40, 0, 5,
    ]);
    expect(await data.metrics()).toEqual([
      expect.objectContaining({ dimensionId: 'seats', points: 45, objects: 4 }),
    ]);
    const sums = [0, 0, 0];
    points.forEach((p, i) => (sums[i % 3] = (sums[i % 3] ?? 0) + p.value));
    expect(await data.metricSeries('seats', { agg: 'sum' })).toEqual(
      sums.map((value, d) => ({ day: `2024-05-0${d + 1}`, value })),
    );
  });

  it('pair an enduser with every one of its actions, past the 31 an enduser keeps as bits', async () => {
    await open();
    await store.applyConfig(integration, [section('a', 'activities')]);
    // 40 actions for p (the last ones twice), the first 3 for q, in one batch and in a later one.
    const first = Array.from({ length: 40 }, (_, i) =>
      act(`${i}`, 'p@x.io', `a${i}`, 1, '2024-05-01T10:00:00.000Z'),
    );
    const second = [
      act('40', 'p@x.io', 'a39', 1, '2024-05-01T11:00:00.000Z'),
      act('41', 'p@x.io', 'a35', 1, '2024-05-01T11:00:00.000Z'),
      ...[0, 1, 2].map((i) => act(`${42 + i}`, 'q@x.io', `a${i}`, 1, '2024-05-01T12:00:00.000Z')),
    ];
    await land('a', 'activities', [first, second]);
    const actions = await data.actions();
    expect(actions).toHaveLength(40);
    const endusersOf = new Map(actions.map((a) => [a.action, a.endusers]));
    for (let i = 0; i < 40; i++) expect(endusersOf.get(`a${i}`), `a${i}`).toBe(i < 3 ? 2 : 1);
    expect(actions.find((a) => a.action === 'a39')).toMatchObject({ count: 2 });
  });

  it('keep the last value of a day by date, and of two points at the same time the one landed last', async () => {
    await open();
    await store.applyConfig(integration, [section('m', 'metrics')]);
    await land('m', 'metrics', [
      [
        point('1', 'acme', 5, '2024-05-01T00:00:00.000Z'),
        point('2', 'acme', 9, '2024-05-01T00:00:00.000Z'),
        point('3', 'acme', 1, '2024-04-30T23:59:59.000Z'),
      ],
      [
        point('4', 'acme', 4, '2024-05-01T00:00:00.000Z'),
        point('5', 'acme', 3, '2024-05-01T00:00:00.000Z'),
      ],
      [point('6', 'acme', 100, '2024-04-30T12:00:00.000Z')],
      // Twelve at one time in one batch: the last landed (a store id of two digits) wins.
      Array.from({ length: 12 }, (_, i) =>
        point(`${7 + i}`, 'acme', 1000 + i, '2024-05-02T08:00:00.000Z'),
      ),
    ]);
    expect(await data.metricSeries('seats', { agg: 'last' })).toEqual([
      { day: '2024-04-30', value: 1 },
      { day: '2024-05-01', value: 3 },
      { day: '2024-05-02', value: 1011 },
    ]);
    expect(await data.metricSeries('seats', { agg: 'sum' })).toEqual([
      { day: '2024-04-30', value: 101 },
      { day: '2024-05-01', value: 21 },
      { day: '2024-05-02', value: 12_066 },
    ]);
  });

  it("add a day's values as SQLite's sum() does, whose rounding error does not pile up", async () => {
    await open();
    await store.applyConfig(integration, [section('m', 'metrics')]);
    const values = [0.1, 0.2, 0.3, 1e16, 1, -1e16, 0.1, 0.7];
    await land('m', 'metrics', [
      values.map((v, i) => point(`${i + 1}`, 'acme', v, '2024-05-01T10:00:00.000Z')),
      [point('9', 'other', 2.5, '2024-05-01T11:00:00.000Z')],
    ]);
    const sqlite = new BetterSqlite3(':memory:');
    const { total } = sqlite
      .prepare(
        `SELECT sum(v) AS total FROM (${values.map(() => 'SELECT ? AS v').join(' UNION ALL ')})`,
      )
      .get(...values) as { total: number };
    sqlite.close();
    // Summed one after another in JS, 1e16 swallows the small values: 0.8 instead of 2.4.
    expect(values.reduce((a, b) => a + b, 0)).not.toBe(total);
    expect(await data.metricSeries('seats', { agg: 'sum' })).toEqual([
      { day: '2024-05-01', value: total + 2.5 },
    ]);
  });

  it('count endusers per action anew after each fold and deletion, whoever views in between', async () => {
    await open();
    await store.applyConfig(integration, [section('a', 'activities'), section('b', 'activities')]);
    const endusers = async () =>
      Object.fromEntries((await data.actions()).map((x) => [x.action, x.endusers]));
    await land('a', 'activities', [[act('1', 'p@x.io', 'view', 1, '2024-05-01T10:00:00.000Z')]]);
    expect(await endusers()).toEqual({ view: 1 });
    expect(await endusers()).toEqual({ view: 1 });
    // Another enduser, then one already counted, from another section.
    await land('a', 'activities', [[act('2', 'q@x.io', 'view', 1, '2024-05-01T11:00:00.000Z')]]);
    expect(await endusers()).toEqual({ view: 2 });
    await land('b', 'activities', [
      [
        act('1', 'q@x.io', 'view', 1, '2024-05-02T11:00:00.000Z'),
        act('2', 'q@x.io', 'buy', 1, '2024-05-02T12:00:00.000Z'),
      ],
    ]);
    expect(await endusers()).toEqual({ view: 2, buy: 1 });
    // Pushed through another process's store: this one's view still sees the fold.
    const other = await openStore({ dataDir: dir, secretKey: SECRET });
    const a = (await other.listSections()).find((x) => x.name === 'a');
    const run = await other.startRun(a?.id ?? 0, 'test');
    await other.commitBatch({
      sectionId: a?.id ?? 0,
      runId: run.id,
      dataType: 'activities',
      records: [act('3', 'r@x.io', 'buy', 1, '2024-05-03T10:00:00.000Z')],
      rejects: [],
      cursor: '3',
      rowsRead: 1,
      keyFrom: '3',
      keyTo: '3',
    });
    await other.finishRun(run.id, { status: 'succeeded' });
    await other.close();
    expect(await endusers()).toEqual({ view: 2, buy: 2 });
    const b = (await store.listSections()).find((x) => x.name === 'b');
    expect(await store.deleteSection(b?.id ?? 0)).toBe(true);
    expect(await endusers()).toEqual({ view: 2, buy: 1 });
  });

  it("keep an enduser's first email, given after the enduser, and count records by that email alone for it", async () => {
    await open();
    await store.applyConfig(integration, [section('a', 'activities')]);
    const byId = (key: string, externalId: string, email?: string): ActivityRecord => ({
      rowId: key,
      key,
      externalId,
      ...(email === undefined ? {} : { email }),
      action: 'view',
      weight: 1,
      date: `2024-05-0${key}T10:00:00.000Z`,
    });
    const endusers = async () =>
      (await data.endusers({ limit: 10, offset: 0 })).items.map((e) => [
        e.externalId,
        e.email,
        e.activities,
      ]);
    // Each land is a run, folded at its end: the email comes in a later fold than the enduser.
    await land('a', 'activities', [[byId('1', 'u1')]]);
    expect(await endusers()).toEqual([['u1', null, 1]]);
    await land('a', 'activities', [[byId('2', 'u1', 'first@x.io')]]);
    expect(await endusers()).toEqual([['u1', 'first@x.io', 2]]);
    await land('a', 'activities', [[byId('3', 'u1', 'second@x.io')]]);
    expect(await endusers()).toEqual([['u1', 'first@x.io', 3]]);
    // A record by that email alone is u1's; one by an email no enduser has stays apart...
    await land('a', 'activities', [
      [act('4', 'first@x.io', 'view', 1, '2024-05-04T10:00:00.000Z')],
      [act('5', 'lone@x.io', 'view', 1, '2024-05-05T10:00:00.000Z')],
    ]);
    expect(await endusers()).toEqual([
      ['u1', 'first@x.io', 4],
      [null, 'lone@x.io', 1],
    ]);
    // ...until an external id comes with it: then it joins that enduser.
    await land('a', 'activities', [[byId('6', 'u2', 'lone@x.io')]]);
    expect(await endusers()).toEqual([
      ['u1', 'first@x.io', 4],
      ['u2', 'lone@x.io', 2],
    ]);
  });

  it('go with their section when it is deleted', async () => {
    await open();
    await store.applyConfig(integration, [section('a', 'activities'), section('m', 'metrics')]);
    await land('a', 'activities', [[act('1', 'p@x.io', 'view', 1, '2024-05-01T10:00:00.000Z')]]);
    await land('m', 'metrics', [[point('1', 'acme', 5, '2024-05-01T00:00:00.000Z')]]);
    const m = (await store.listSections()).find((s) => s.name === 'm');
    expect(await store.deleteSection(m?.id ?? 0)).toBe(true);
    expect(await data.metrics()).toEqual([]);
    expect(await data.actions()).toHaveLength(1);
    expect(await store.deleteIntegration('db')).toBe(true);
    expect(await data.actions()).toEqual([]);
    expect(await store.listSections()).toEqual([]);
  });

  it('join endusers counted by email alone to the external id that came with that email (0008)', async () => {
    const { db, file } = await storeAt('0007_sink');
    // Two people known by external id, one of them also counted by email alone; one only by email.
    await sql`INSERT INTO endusers (ident, external_id, email, name, company_external_id, first_seen,
        last_seen, activity_count, activity_weight, metric_points) VALUES
      ('x:u1', 'u1', 'p@x.io', NULL, 'acme', '2024-05-03T00:00:00.000Z', '2024-05-04T00:00:00.000Z', 2, 2, 0),
      ('e:p@x.io', NULL, 'p@x.io', 'Pat', NULL, '2024-05-01T00:00:00.000Z', '2024-05-02T00:00:00.000Z', 3, 5, 0),
      ('x:u2', 'u2', 'q@x.io', NULL, NULL, '2024-05-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z', 1, 1, 0),
      ('e:r@x.io', NULL, 'r@x.io', NULL, NULL, '2024-05-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z', 1, 1, 0)`.execute(
      db,
    );
    await sql`INSERT INTO enduser_actions (action, ident, section_id) VALUES
      ('click', 'x:u1', 1), ('click', 'e:p@x.io', 1), ('view', 'e:p@x.io', 1), ('view', 'e:r@x.io', 1)`.execute(
      db,
    );
    await db.destroy();

    await open();
    const check = new Kysely<{
      endusers: Record<string, unknown>;
      enduser_actions: Record<string, unknown>;
    }>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file, { readonly: true }) }) });
    try {
      expect(
        await check
          .selectFrom('endusers')
          .select(['ident', 'name', 'company_external_id', 'first_seen', 'last_seen'])
          .select(['activity_count', 'activity_weight'])
          .orderBy('ident')
          .execute(),
      ).toEqual([
        {
          ident: 'e:r@x.io',
          name: null,
          company_external_id: null,
          first_seen: '2024-05-01T00:00:00.000Z',
          last_seen: '2024-05-01T00:00:00.000Z',
          activity_count: 1,
          activity_weight: 1,
        },
        {
          ident: 'x:u1',
          name: 'Pat',
          company_external_id: 'acme',
          first_seen: '2024-05-01T00:00:00.000Z',
          last_seen: '2024-05-04T00:00:00.000Z',
          activity_count: 5,
          activity_weight: 7,
        },
        {
          ident: 'x:u2',
          name: null,
          company_external_id: null,
          first_seen: '2024-05-01T00:00:00.000Z',
          last_seen: '2024-05-01T00:00:00.000Z',
          activity_count: 1,
          activity_weight: 1,
        },
      ]);
      const pairs = await check
        .selectFrom('enduser_actions')
        .select(['action', 'ident'])
        .orderBy('action')
        .orderBy('ident')
        .execute();
      expect(pairs.map((p) => `${String(p.action)} ${String(p.ident)}`)).toEqual([
        'click x:u1',
        'view e:r@x.io',
        'view x:u1',
      ]);
    } finally {
      await check.destroy();
    }
  });

  it('take in metric points landed but not folded before they were kept per batch (0009)', async () => {
    const { db, now } = await storeAt('0008_enduser_email');
    // Points 1 and 2 were folded (into the one metric_daily row), 3 and 4 landed after the fold.
    await sql`INSERT INTO metric_points (section_id, row_id, model, external_id, dimension_id, value, date, landed_at) VALUES
      (2, '1', 'Company', 'acme', 'seats', 4, '2024-05-01T01:00:00.000Z', ${now}),
      (2, '2', 'Company', 'acme', 'seats', 6, '2024-05-01T02:00:00.000Z', ${now}),
      (2, '3', 'Company', 'acme', 'seats', 1, '2024-05-01T02:00:00.000Z', ${now}),
      (2, '4', 'Company', 'beta', 'seats', 5, '2024-05-02T00:00:00.000Z', ${now})`.execute(db);
    await sql`INSERT INTO metric_daily (model, dimension_id, day, external_id, section_id, value_sum, count,
        first_date, last_date, last_value)
      VALUES ('Company', 'seats', '2024-05-01', 'acme', 2, 10, 2, '2024-05-01T01:00:00.000Z',
        '2024-05-01T02:00:00.000Z', 6)`.execute(db);
    await sql`UPDATE sections SET landed_id = 4, folded_id = 2, landed_total = 4 WHERE id = 2`.execute(
      db,
    );
    await db.destroy();

    await open();
    expect(await data.metrics()).toEqual([
      expect.objectContaining({ dimensionId: 'seats', points: 4, objects: 2 }),
    ]);
    // acme's day: 4 + 6 + 1, its last value the point landed last at the latest time.
    expect(await data.metricSeries('seats', { agg: 'sum' })).toEqual([
      { day: '2024-05-01', value: 11 },
      { day: '2024-05-02', value: 5 },
    ]);
    expect(await data.metricSeries('seats', { agg: 'last' })).toEqual([
      { day: '2024-05-01', value: 1 },
      { day: '2024-05-02', value: 5 },
    ]);
  });

  it('are filled from data landed before the migration that added them', async () => {
    // A store as the first release left it: migrated to 0001 only, with landed rows.
    const { db, now } = await storeAt('0001_initial');
    await sql`INSERT INTO activities (section_id, row_id, email, external_id, company_external_id, action, weight, date, landed_at) VALUES
      (1, '1', 'p@x.io', NULL, 'acme', 'click', 2, '2024-05-01T10:00:00.000Z', ${now}),
      (1, '2', 'p@x.io', NULL, 'acme', 'click', 1, '2024-05-02T10:00:00.000Z', ${now}),
      (1, '3', NULL, 'u9', NULL, NULL, 1, '2024-05-02T11:00:00.000Z', ${now})`.execute(db);
    await sql`INSERT INTO metric_points (section_id, row_id, model, external_id, dimension_id, value, date, landed_at) VALUES
      (2, '1', 'Company', 'acme', 'seats', 4, '2024-05-01T01:00:00.000Z', ${now}),
      (2, '2', 'Company', 'acme', 'seats', 6, '2024-05-01T02:00:00.000Z', ${now}),
      (2, '3', 'Company', 'beta', 'seats', 1, '2024-05-01T02:00:00.000Z', ${now})`.execute(db);
    await sql`INSERT INTO endusers (ident, email, external_id, first_seen, last_seen) VALUES
      ('e:p@x.io', 'p@x.io', NULL, ${now}, ${now}), ('x:u9', NULL, 'u9', ${now}, ${now})`.execute(
      db,
    );
    await sql`INSERT INTO companies (external_id, first_seen, last_seen) VALUES
      ('acme', ${now}, ${now}), ('beta', ${now}, ${now})`.execute(db);
    await db.destroy();

    await open();
    expect(await data.actions()).toEqual([
      expect.objectContaining({ action: 'click', count: 2, weightedCount: 3, endusers: 1 }),
      expect.objectContaining({ action: null, count: 1, endusers: 1 }),
    ]);
    expect(await data.actionSeries(null, {})).toEqual([{ day: '2024-05-02', value: 1 }]);
    expect(await data.metrics()).toEqual([
      expect.objectContaining({ dimensionId: 'seats', points: 3, objects: 2 }),
    ]);
    expect(await data.metricSeries('seats', { agg: 'last' })).toEqual([
      { day: '2024-05-01', value: 7 },
    ]);
    expect(
      (await data.endusers({ limit: 10, offset: 0 })).items.map((e) => [
        e.email ?? e.externalId,
        e.activities,
      ]),
    ).toEqual([
      ['p@x.io', 2],
      ['u9', 1],
    ]);
    expect((await data.companies({ limit: 10, offset: 0 })).items).toEqual([
      expect.objectContaining({
        externalId: 'acme',
        activities: 2,
        weightedActivities: 3,
        metricPoints: 2,
      }),
      expect.objectContaining({ externalId: 'beta', activities: 0, metricPoints: 1 }),
    ]);
  });
});

describe('the outbox, migrated', () => {
  it('drops the entries delivered before, and keeps what is still to deliver (text bodies too)', async () => {
    const { db, now } = await storeAt('0009_metric_daily_per_batch');
    await sql`INSERT INTO outbox (section_id, run_id, kind, body, created_at, attempts, delivered_at) VALUES
      (1, 1, 'activities', '[{"email":"sent@x.io"}]', ${now}, 1, ${now}),
      (1, 1, 'activities', '[{"email":"queued@x.io"}]', ${now}, 0, NULL)`.execute(db);
    await db.destroy();

    await open();
    const pending = await openOutboxStore(store).pending(1, 10);
    const bodies = await Promise.all(
      pending.map(async (e) => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of e.body()) chunks.push(chunk);
        return chunks;
      }),
    );
    expect(
      pending.map((e, i) => [Buffer.concat(bodies[i] ?? []).toString(), e.bytes, e.attempts]),
    ).toEqual([['[{"email":"queued@x.io"}]', 25, 0]]);
    const raw = new BetterSqlite3(join(dir, 'sluice.db'), { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 1 });
    raw.close();
  });
});
