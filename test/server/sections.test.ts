import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ActionListSchema,
  CompanyPageSchema,
  EnduserPageSchema,
  ErrorBodySchema,
  IntegrationListSchema,
  MetricListSchema,
  PreviewResponseSchema,
  RejectListSchema,
  ResyncResponseSchema,
  RunListSchema,
  SectionResponseSchema,
  SectionSaveResponseSchema,
  SeriesSchema,
  apiPath,
  actionParam,
} from '../../src/core/api.js';
import { applyConfig, exportConfig } from '../../src/engine/config-ops.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness, type ServerHarness, type Session } from '../helpers/server.js';
import { testConfig } from '../helpers/sluice.js';

let db: TestDatabase;
let h: ServerHarness;
let admin: Session;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.exec(`CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100),
    user_id VARCHAR(20), action VARCHAR(50), qty DECIMAL(10,2), created_at DATETIME)`);
  await db.exec(`INSERT INTO events (email, user_id, action, qty, created_at) VALUES
    ('a@x.io', 'u1', 'login', NULL, '2024-05-01 10:00:00'),
    ('a@x.io', 'u1', 'click', 2.5, '2024-05-01 11:00:00'),
    ('b@x.io', NULL, 'click', 1, '2024-05-01 12:00:00'),
    ('b@x.io', NULL, 'click', 3, '2024-05-02 09:00:00'),
    (NULL, NULL, 'click', 1, '2024-05-02 10:00:00')`);
  await db.exec(`CREATE TABLE daily_usage (seq INT PRIMARY KEY AUTO_INCREMENT, metric VARCHAR(40),
    amount DECIMAL(12,2), company_id VARCHAR(40), ts DATETIME)`);
  await db.exec(`INSERT INTO daily_usage (metric, amount, company_id, ts) VALUES
    ('seats', 10, 'acme', '2024-05-01 08:00:00'),
    ('seats', 12, 'acme', '2024-05-01 20:00:00'),
    ('seats', 5, 'beta', '2024-05-01 09:00:00'),
    ('seats', 7, 'acme', '2024-05-02 10:00:00'),
    ('seats', NULL, 'beta', '2024-05-02 10:00:00'),
    ('api_calls', 100, 'acme', '2024-05-01 10:00:00')`);
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createServerHarness(db);
  await h.addUser('admin@x.io', 'admin');
  admin = await h.login('admin@x.io');
  await h.createIntegration(admin);
});
afterEach(async () => {
  await h.close();
});

const clicks = {
  name: 'clicks',
  dataType: 'activities',
  table: 'events',
  key: 'id',
  batchSize: 2,
  schedule: 'every 5m',
  mapping: {
    email: 'email',
    externalId: 'user_id',
    action: 'action',
    weight: 'qty',
    date: 'created_at',
  },
};

const seats = {
  name: 'usage',
  dataType: 'metrics',
  model: 'Company',
  table: 'daily_usage',
  key: 'seq',
  batchSize: 4,
  mapping: { dimensionId: 'metric', value: 'amount', externalId: 'company_id', date: 'ts' },
};

/**
 * Saves a section through the API. The scheduler runs a section it has never seen at once (its
 * first sync starts on save); this waits for that run to end.
 */
async function createSection(body: object): Promise<number> {
  const res = await h.call('POST', '/api/integrations/test-db/sections', { as: admin, body });
  expect(res.statusCode, res.body).toBe(201);
  await h.scheduler.idle();
  return SectionSaveResponseSchema.parse(res.json()).section.id;
}

/** Runs a section through the API and waits for the scheduler to finish it. */
async function runNow(id: number): Promise<void> {
  const res = await h.call('POST', apiPath('runSection', { id }), { as: admin });
  expect(res.statusCode, res.body).toBe(202);
  await h.scheduler.idle();
}

async function get<T>(url: string, schema: { parse(v: unknown): T }): Promise<T> {
  const res = await h.call('GET', url, { as: admin });
  expect(res.statusCode, res.body).toBe(200);
  return schema.parse(res.json());
}

function sqliteCount(table: string): number {
  const sqlite = new Database(join(h.dataDir, 'sluice.db'), { readonly: true });
  try {
    return (sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
}

describe('saving a section', () => {
  it('refuses a mapped column that does not exist with 400 naming mapping.email and the column, saving nothing', async () => {
    const res = await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: { ...clicks, mapping: { ...clicks.mapping, email: 'mail' } },
    });
    expect(res.statusCode).toBe(400);
    const { error } = ErrorBodySchema.parse(res.json());
    expect(error.code).toBe('SECTION_INVALID');
    expect(error.fields).toEqual([
      {
        field: 'mapping.email',
        column: 'mail',
        message: 'section "clicks": mapping.email: column "mail" does not exist in table "events"',
      },
    ]);
    expect(await h.store.listSections()).toEqual([]);
  });

  it('reports every problem at once, each beside its field', async () => {
    const res = await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: {
        ...seats,
        key: 'nope',
        batchSize: 0,
        mapping: { dimensionId: 'metric', value: 'amount', externalId: 'company_id', date: 'x' },
      },
    });
    expect(res.statusCode).toBe(400);
    const fields = ErrorBodySchema.parse(res.json()).error.fields?.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['batchSize']));
    const live = await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: { ...seats, key: 'nope', mapping: { ...seats.mapping, date: 'x' } },
    });
    expect(
      ErrorBodySchema.parse(live.json())
        .error.fields?.map((f) => f.field)
        .sort(),
    ).toEqual(['key', 'mapping.date']);
  });

  it('shows a section saved in the API in `sluice export`, and one applied from YAML in the API', async () => {
    const id = await createSection(clicks);
    const yaml = parseYaml(await exportConfig(h.store, 'test-db')) as {
      sections: Record<string, unknown>[];
    };
    expect(yaml.sections).toEqual([
      expect.objectContaining({ name: 'clicks', table: 'events', key: 'id', batchSize: 2 }),
    ]);
    expect(yaml.sections[0]?.mapping).toEqual(clicks.mapping);

    // `sluice apply` of a file with both sections: the API section is unchanged, the new one appears.
    const source = await createMysqlSource(
      { ...TEST_MYSQL, database: db.name },
      TEST_MYSQL.password,
    );
    try {
      const config = testConfig(db, [clicks, seats]);
      const outcome = await applyConfig(h.store, source, config);
      expect(outcome.result?.sections.map((s) => [s.name, s.action])).toEqual([
        ['clicks', 'unchanged'],
        ['usage', 'created'],
      ]);
    } finally {
      await source.close();
    }
    const { integrations } = await get('/api/integrations', IntegrationListSchema);
    expect(integrations[0]?.sections.map((s) => [s.id === id, s.name, s.dataType])).toEqual([
      [true, 'clicks', 'activities'],
      [false, 'usage', 'metrics'],
    ]);
    expect(integrations[0]?.sections[1]).toMatchObject({
      model: 'Company',
      cursor: null,
      status: { state: 'active', failures: 0, lastRun: null },
    });
  });

  it('updates a section, refuses a rename, and deletes it', async () => {
    const id = await createSection(clicks);
    const url = apiPath('getSection', { id });
    const updated = await h.call('PUT', url, { as: admin, body: { ...clicks, batchSize: 50 } });
    expect(updated.statusCode).toBe(200);
    expect(SectionSaveResponseSchema.parse(updated.json()).section.batchSize).toBe(50);
    const renamed = await h.call('PUT', url, { as: admin, body: { ...clicks, name: 'other' } });
    expect(renamed.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(renamed.json()).error.fields?.[0]?.field).toBe('name');
    const dup = await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: clicks,
    });
    expect(dup.statusCode).toBe(409);
    expect((await h.call('DELETE', url, { as: admin })).statusCode).toBe(200);
    expect((await h.call('GET', url, { as: admin })).statusCode).toBe(404);
  });
});

describe('preview', () => {
  it('maps the first rows of the table into records and shows the rows that would be rejected, saving nothing', async () => {
    const res = await h.call('POST', '/api/integrations/test-db/sections/preview', {
      as: admin,
      body: clicks,
    });
    expect(res.statusCode, res.body).toBe(200);
    const preview = PreviewResponseSchema.parse(res.json());
    expect(preview.rows).toHaveLength(5);
    expect(preview.rows[1]).toMatchObject({ id: '2', email: 'a@x.io', qty: '2.50' });
    expect(preview.records).toHaveLength(4);
    expect(preview.records[1]).toEqual({
      rowId: '2',
      key: '2',
      email: 'a@x.io',
      externalId: 'u1',
      action: 'click',
      weight: 2.5,
      date: '2024-05-01T11:00:00.000Z',
    });
    expect(preview.rejects).toEqual([
      expect.objectContaining({ key: '5', code: 'missing_identity', field: 'email' }),
    ]);
    expect(await h.store.listSections()).toEqual([]);
    expect(sqliteCount('activities')).toBe(0);

    const two = await h.call('POST', '/api/integrations/test-db/sections/preview?limit=2', {
      as: admin,
      body: clicks,
    });
    expect(PreviewResponseSchema.parse(two.json()).records).toHaveLength(2);

    const bad = await h.call('POST', '/api/integrations/test-db/sections/preview', {
      as: admin,
      body: { ...clicks, table: 'missing' },
    });
    expect(bad.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(bad.json()).error.fields?.[0]).toMatchObject({
      field: 'table',
      column: 'missing',
    });
  });
});

describe('runs and the data module', () => {
  it('runs now, logs the run with its rejects, and the data module shows weighted actions and metric series', async () => {
    // Saving starts the first sync; "run now" then reads nothing new.
    const clicksId = await createSection(clicks);
    const usageId = await createSection(seats);
    await runNow(clicksId);
    await runNow(usageId);

    const { runs } = await get(apiPath('listRuns', { id: clicksId }), RunListSchema);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({
      status: 'succeeded',
      trigger: 'api:admin@x.io',
      rowsRead: 0,
      landed: 0,
      cursor: '5',
    });
    expect(runs[1]).toMatchObject({
      status: 'succeeded',
      trigger: 'schedule',
      rowsRead: 5,
      landed: 4,
      rejected: 1,
      keyFrom: '1',
      keyTo: '5',
      cursor: '5',
    });
    const { rejects } = await get(
      apiPath('listRejects', { id: runs[1]?.id ?? 0 }),
      RejectListSchema,
    );
    expect(rejects).toEqual([
      expect.objectContaining({ key: '5', code: 'missing_identity', reason: expect.any(String) }),
    ]);

    const section = await get(apiPath('getSection', { id: clicksId }), SectionResponseSchema);
    expect(section.section).toMatchObject({
      cursor: '5',
      landed: 4,
      rejected: 1,
      status: { state: 'active', lastRun: { status: 'succeeded' }, lastError: null },
    });
    expect(section.section.status.lastSuccessAt).not.toBeNull();
    expect(section.section.status.nextRunAt).not.toBeNull();

    const { actions } = await get('/api/data/actions', ActionListSchema);
    expect(actions).toEqual([
      {
        action: 'click',
        count: 3,
        weightedCount: 6.5,
        endusers: 2,
        firstDate: '2024-05-01T11:00:00.000Z',
        lastDate: '2024-05-02T09:00:00.000Z',
        origins: [{ kind: 'pulled', name: 'clicks', integration: 'test-db' }],
      },
      {
        action: 'login',
        count: 1,
        weightedCount: 1,
        endusers: 1,
        firstDate: '2024-05-01T10:00:00.000Z',
        lastDate: '2024-05-01T10:00:00.000Z',
        origins: [{ kind: 'pulled', name: 'clicks', integration: 'test-db' }],
      },
    ]);
    const clickSeries = (q = '') =>
      get(`${apiPath('actionSeries', { action: actionParam('click') })}${q}`, SeriesSchema);
    expect((await clickSeries()).points).toEqual([
      { day: '2024-05-01', value: 3.5 },
      { day: '2024-05-02', value: 3 },
    ]);
    expect((await clickSeries('?externalId=u1')).points).toEqual([
      { day: '2024-05-01', value: 2.5 },
    ]);
    expect((await clickSeries('?externalId=b%40x.io&from=2024-05-02')).points).toEqual([
      { day: '2024-05-02', value: 3 },
    ]);

    const { metrics } = await get('/api/data/metrics', MetricListSchema);
    expect(metrics).toEqual([
      {
        dimensionId: 'api_calls',
        model: 'Company',
        points: 1,
        objects: 1,
        firstDate: '2024-05-01T10:00:00.000Z',
        lastDate: '2024-05-01T10:00:00.000Z',
        origins: [{ kind: 'pulled', name: 'usage', integration: 'test-db' }],
      },
      {
        dimensionId: 'seats',
        model: 'Company',
        points: 4,
        objects: 2,
        firstDate: '2024-05-01T08:00:00.000Z',
        lastDate: '2024-05-02T10:00:00.000Z',
        origins: [{ kind: 'pulled', name: 'usage', integration: 'test-db' }],
      },
    ]);
    const seatSeries = async (q: string) =>
      (await get(`${apiPath('metricSeries', { dimensionId: 'seats' })}?${q}`, SeriesSchema)).points;
    expect(await seatSeries('agg=sum')).toEqual([
      { day: '2024-05-01', value: 27 },
      { day: '2024-05-02', value: 7 },
    ]);
    // Last value per object per day (acme 12 at 20:00, beta 5), summed over objects.
    expect(await seatSeries('agg=last')).toEqual([
      { day: '2024-05-01', value: 17 },
      { day: '2024-05-02', value: 7 },
    ]);
    expect(await seatSeries('agg=sum&externalId=acme')).toEqual([
      { day: '2024-05-01', value: 22 },
      { day: '2024-05-02', value: 7 },
    ]);
    expect(await seatSeries('agg=last&externalId=acme&to=2024-05-01')).toEqual([
      { day: '2024-05-01', value: 12 },
    ]);
    const badAgg = await h.call('GET', '/api/data/metrics/seats/series?agg=avg', { as: admin });
    expect(badAgg.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(badAgg.json()).error.fields?.[0]?.field).toBe('agg');

    const endusers = await get('/api/data/endusers', EnduserPageSchema);
    expect(endusers.total).toBe(2);
    expect(endusers.items).toEqual([
      expect.objectContaining({
        externalId: 'u1',
        email: 'a@x.io',
        activities: 2,
        weightedActivities: 3.5,
      }),
      expect.objectContaining({
        externalId: null,
        email: 'b@x.io',
        activities: 2,
        weightedActivities: 4,
      }),
    ]);
    const search = await get('/api/data/endusers?search=B%40X&limit=1', EnduserPageSchema);
    expect(search).toMatchObject({ total: 1, items: [{ email: 'b@x.io' }] });
    const companies = await get('/api/data/companies', CompanyPageSchema);
    expect(companies.items).toEqual([
      expect.objectContaining({ externalId: 'acme', metricPoints: 4, activities: 0 }),
      expect.objectContaining({ externalId: 'beta', metricPoints: 1, activities: 0 }),
    ]);
  });

  it('re-syncs from the start, a key or the last point without landing anything twice', async () => {
    const id = await createSection(clicks);
    const url = apiPath('resyncSection', { id });

    const start = await h.call('POST', url, { as: admin, body: { from: 'start' } });
    expect(start.statusCode, start.body).toBe(202);
    expect(ResyncResponseSchema.parse(start.json())).toMatchObject({
      cursorBefore: '5',
      cursorAfter: null,
    });
    await h.scheduler.idle();
    const { runs } = await get(apiPath('listRuns', { id }), RunListSchema);
    expect(runs.map((r) => [r.status, r.rowsRead, r.landed, r.rejected])).toEqual([
      ['succeeded', 5, 0, 0],
      ['succeeded', 5, 4, 1],
    ]);
    expect(sqliteCount('activities')).toBe(4);
    const { actions } = await get('/api/data/actions', ActionListSchema);
    expect(actions.find((a) => a.action === 'click')).toMatchObject({
      count: 3,
      weightedCount: 6.5,
    });

    const key = await h.call('POST', url, { as: admin, body: { from: 'key', key: '3' } });
    expect(ResyncResponseSchema.parse(key.json())).toMatchObject({ cursorAfter: '3' });
    await h.scheduler.idle();
    const last = await h.call('POST', url, { as: admin, body: { from: 'last' } });
    expect(ResyncResponseSchema.parse(last.json())).toMatchObject({
      cursorBefore: '5',
      cursorAfter: '5',
    });
    await h.scheduler.idle();
    expect(sqliteCount('activities')).toBe(4);

    const badKey = await h.call('POST', url, { as: admin, body: { from: 'key', key: 'abc' } });
    expect(badKey.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(badKey.json()).error).toMatchObject({
      code: 'KEY_INVALID',
      fields: [{ field: 'key' }],
    });
    const noKey = await h.call('POST', url, { as: admin, body: { from: 'key' } });
    expect(ErrorBodySchema.parse(noKey.json()).error.fields?.[0]?.field).toBe('key');
  });

  it('shows a failing section with its last error, and refuses to run one that is off', async () => {
    await db.exec('CREATE TABLE doomed (id INT PRIMARY KEY, email VARCHAR(50))');
    const id = await createSection({
      name: 'doomed',
      dataType: 'activities',
      table: 'doomed',
      key: 'id',
      mapping: { email: 'email' },
    });
    await db.exec('DROP TABLE doomed');
    await runNow(id);
    const { section } = await get(apiPath('getSection', { id }), SectionResponseSchema);
    expect(section.status).toMatchObject({
      state: 'failing',
      failures: 1,
      scheduler: 'backoff',
      lastErrorCode: 'MYSQL_TABLE_MISSING',
      lastError: expect.stringContaining('doomed'),
    });

    await h.call('PATCH', '/api/integrations/test-db', { as: admin, body: { enabled: false } });
    const off = await h.call('POST', apiPath('runSection', { id }), { as: admin });
    expect(off.statusCode).toBe(409);
    expect(ErrorBodySchema.parse(off.json()).error.code).toBe('SECTION_OFF');
    const { section: offView } = await get(apiPath('getSection', { id }), SectionResponseSchema);
    expect(offView.status).toMatchObject({ state: 'off', nextRunAt: null });
  });
});
