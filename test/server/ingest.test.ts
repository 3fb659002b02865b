import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApiTokenSchema,
  DimensionDataPointSchema,
  IngestResponseSchema,
  apiPath,
  type ActionSummary,
  type ApiToken,
  type Company,
  type DimensionDataPoint,
  type Enduser,
  type IngestResponse,
  type MetricSummary,
  type TokenCreated,
  type TokenReject,
} from '../../src/core/api.js';
import { ACTIVITY_FIELDS, METRIC_FIELDS } from '../../src/core/ingest.js';
import { main } from '../../src/cli/main.js';
import { redactUrl } from '../../src/server/routes/ingest.js';
import { openStore, openTokenStore } from '../../src/store/open-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness, type ServerHarness, type Session } from '../helpers/server.js';

let db: TestDatabase;
let h: ServerHarness;
let admin: Session;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.exec(`CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100),
    account VARCHAR(20), event VARCHAR(40), created_at DATETIME)`);
  await db.exec(`INSERT INTO events (email, account, event, created_at) VALUES
    ('a@x.io', 'acme', 'login', '2024-03-01 09:00:00'),
    ('b@x.io', 'acme', 'login', '2024-03-01 10:00:00')`);
  await db.exec(`CREATE TABLE usage_daily (id BIGINT PRIMARY KEY AUTO_INCREMENT,
    company VARCHAR(20), metric VARCHAR(40), amount DECIMAL(10,2), day DATE)`);
  await db.exec(`INSERT INTO usage_daily (company, metric, amount, day) VALUES
    ('acme', 'seats', 10, '2024-03-01')`);
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createServerHarness(db);
  await h.addUser('admin@x.io', 'admin');
  admin = await h.login('admin@x.io');
});
afterEach(async () => {
  await h.close();
});

async function createToken(name: string): Promise<TokenCreated> {
  const res = await h.call('POST', apiPath('createToken'), { as: admin, body: { name } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<TokenCreated>();
}

async function push(path: string, body: unknown): Promise<IngestResponse> {
  const res = await h.app.inject({ method: 'POST', url: path, payload: body as object });
  expect(res.statusCode, res.body).toBe(200);
  return IngestResponseSchema.parse(res.json());
}

/** Rows straight from the store file (a second, read-only connection: WAL lets it read). */
function rows<T>(query: string, ...params: unknown[]): T[] {
  const sqlite = new Database(join(h.dataDir, 'sluice.db'), { readonly: true });
  try {
    return sqlite.prepare(query).all(...params) as T[];
  } finally {
    sqlite.close();
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await h.call('GET', url, { as: admin });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<T>();
}

async function tokenRejects(id: number): Promise<TokenReject[]> {
  return (await getJson<{ rejects: TokenReject[] }>(apiPath('listTokenRejects', { id }))).rejects;
}

/** Pulls `events` (activities) and `usage_daily` (metrics) through two MySQL sections. */
async function pullSections(): Promise<void> {
  await h.createIntegration(admin);
  for (const body of [
    {
      name: 'events',
      dataType: 'activities',
      table: 'events',
      key: 'id',
      mapping: {
        email: 'email',
        companyExternalId: 'account',
        action: 'event',
        date: 'created_at',
      },
    },
    {
      name: 'usage',
      dataType: 'metrics',
      table: 'usage_daily',
      key: 'id',
      mapping: { externalId: 'company', dimensionId: 'metric', value: 'amount', date: 'day' },
    },
  ]) {
    const res = await h.call('POST', '/api/integrations/test-db/sections', { as: admin, body });
    expect(res.statusCode, res.body).toBe(201);
  }
  await h.scheduler.idle();
}

describe('tenant tokens', () => {
  it('shows a created token once, keeps only its hash and prefix, and lists it without the secret', async () => {
    const created = await createToken('scripts');
    expect(created.secret).toMatch(/^slt_[A-Za-z0-9_-]{43}$/);
    expect(created.token).toMatchObject({
      name: 'scripts',
      createdBy: 'admin@x.io',
      revokedAt: null,
    });
    expect(created.secret.startsWith(created.token.prefix)).toBe(true);
    const listed = await getJson<{ tokens: ApiToken[] }>(apiPath('listTokens'));
    expect(listed.tokens.map((t) => ApiTokenSchema.strict().parse(t).name)).toEqual(['scripts']);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const stored = rows<{ token_hash: string; prefix: string }>('SELECT * FROM api_tokens');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.secret);
  });

  it('refuses a taken name, and the token routes to a viewer', async () => {
    await createToken('scripts');
    const again = await h.call('POST', apiPath('createToken'), {
      as: admin,
      body: { name: 'scripts' },
    });
    expect(again.statusCode).toBe(409);
    await h.addUser('viewer@x.io', 'viewer');
    const viewer = await h.login('viewer@x.io');
    expect((await h.call('GET', apiPath('listTokens'), { as: viewer })).statusCode).toBe(403);
    const bad = await h.call('POST', apiPath('createToken'), { as: admin, body: { name: '(x)' } });
    expect(bad.statusCode).toBe(400);
  });

  it('does not list the pseudo-sections of tokens as integrations or sections', async () => {
    await createToken('scripts');
    const list = await getJson<{ integrations: unknown[] }>(apiPath('listIntegrations'));
    expect(list.integrations).toEqual([]);
    const res = await h.call('GET', '/api/integrations/(ingest)', { as: admin });
    expect(res.statusCode).toBe(404);
    expect(await h.store.stats()).toEqual([]);
    expect(await h.store.listSections()).toEqual([]);
  });
});

describe('POST /analytics/:tenantToken', () => {
  it('lands one activity with the default weight and date, creating its enduser as unassigned', async () => {
    const { token, secret } = await createToken('scripts');
    const before = new Date().toISOString();
    const res = await push(`/analytics/${secret}`, {
      email: 'new@x.io',
      name: 'New Person',
      action: 'signup',
      info: { plan: 'pro' },
    });
    expect(res).toEqual({ processed: 1, errors: [] });
    const landed = rows<{
      email: string;
      weight: number;
      date: string;
      info: string;
      row_id: string;
    }>('SELECT * FROM activities');
    expect(landed).toHaveLength(1);
    expect(landed[0]).toMatchObject({ email: 'new@x.io', weight: 1, info: '{"plan":"pro"}' });
    expect(landed[0]?.row_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(landed[0]!.date >= before).toBe(true);

    const endusers = await getJson<{ items: Enduser[] }>(apiPath('listEndusers'));
    expect(endusers.items).toEqual([
      expect.objectContaining({
        email: 'new@x.io',
        name: 'New Person',
        companyExternalId: null,
        activities: 1,
      }),
    ]);
    const actions = await getJson<{ actions: ActionSummary[] }>(apiPath('listActions'));
    expect(actions.actions).toEqual([
      expect.objectContaining({
        action: 'signup',
        count: 1,
        origins: [{ kind: 'pushed', name: 'scripts' }],
      }),
    ]);
    const used = await getJson<{ tokens: ApiToken[] }>(apiPath('listTokens'));
    expect(used.tokens.find((t) => t.id === token.id)?.lastUsedAt).not.toBeNull();
  });

  it('refuses an array (bulk goes to /analytics/bulk), a body that is not JSON, and an unknown token', async () => {
    const { secret } = await createToken('scripts');
    const array = await h.app.inject({
      method: 'POST',
      url: `/analytics/${secret}`,
      payload: [{ email: 'a@x.io' }],
    });
    expect(array.statusCode).toBe(400);
    expect(array.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const notJson = await h.app.inject({
      method: 'POST',
      url: `/analytics/${secret}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expect(notJson.statusCode).toBe(400);
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/analytics/slt_nope',
      payload: { email: 'a@x.io' },
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual({
      error: { code: 'TOKEN_INVALID', message: 'unknown tenant token' },
    });
    expect(rows('SELECT * FROM activities')).toEqual([]);
  });

  it('answers 401 to a revoked token, whose data stays', async () => {
    const { token, secret } = await createToken('scripts');
    await push(`/analytics/${secret}`, { externalId: 'u1' });
    const revoked = await h.call('DELETE', apiPath('revokeToken', { id: token.id }), { as: admin });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json<{ token: ApiToken }>().token.revokedAt).not.toBeNull();
    const res = await h.app.inject({
      method: 'POST',
      url: `/analytics/${secret}`,
      payload: { externalId: 'u2' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'TOKEN_INVALID',
      message: expect.stringContaining('revoked') as string,
    });
    expect(rows('SELECT external_id FROM activities')).toEqual([{ external_id: 'u1' }]);
  });
});

describe('POST /analytics/bulk/:tenantToken', () => {
  it('takes the aliases id, cId and count (weight x count), and ISO and JavaScript date strings', async () => {
    const { secret } = await createToken('bulk');
    const res = await push(`/analytics/bulk/${secret}`, [
      { id: 'u1', cId: 'acme', action: 'export', count: 3 },
      { externalId: 'u2', companyExternalId: 'beta', action: 'export', weight: 2, count: 4 },
      { email: 'c@x.io', action: 'export', date: '2024-03-05T10:00:00+01:00' },
      { email: 'd@x.io', action: 'export', date: 'Tue Mar 05 2024 10:00:00 GMT+0100' },
      { email: 'e@x.io', action: 'export', date: '2024-03-05' },
    ]);
    expect(res).toEqual({ processed: 5, errors: [] });
    const landed = rows<Record<string, unknown>>(
      `SELECT external_id, email, company_external_id, weight, date FROM activities ORDER BY id`,
    );
    expect(landed).toEqual([
      expect.objectContaining({ external_id: 'u1', company_external_id: 'acme', weight: 3 }),
      expect.objectContaining({ external_id: 'u2', company_external_id: 'beta', weight: 8 }),
      expect.objectContaining({ email: 'c@x.io', date: '2024-03-05T09:00:00.000Z', weight: 1 }),
      expect.objectContaining({ email: 'd@x.io', date: '2024-03-05T09:00:00.000Z' }),
      expect.objectContaining({ email: 'e@x.io', date: '2024-03-05T00:00:00.000Z' }),
    ]);
    const companies = await getJson<{ items: Company[] }>(apiPath('listCompanies'));
    expect(
      companies.items.map((c) => [c.externalId, c.activities, c.weightedActivities]).sort(),
    ).toEqual([
      ['acme', 1, 3],
      ['beta', 1, 8],
    ]);
  });

  it('lands the valid items and keeps each invalid one as a reject with its index and reason', async () => {
    const { token, secret } = await createToken('bulk');
    const res = await push(`/analytics/bulk/${secret}`, [
      { email: 'ok@x.io' },
      { name: 'nobody', action: 'x' },
      { email: 'a@x.io', date: 'not a date' },
      { email: 'b@x.io', weight: 'heavy' },
      'just a string',
      { email: 'c@x.io', info: [1, 2] },
      { externalId: 'ok2' },
    ]);
    expect(res.processed).toBe(2);
    expect(res.errors).toEqual([
      { index: 1, reason: 'email or externalId is required' },
      { index: 2, reason: 'date: "not a date" is not a date' },
      { index: 3, reason: 'weight: "heavy" is not a number' },
      { index: 4, reason: 'item: "just a string" is not a JSON object' },
      { index: 5, reason: 'info: [1,2] is not a JSON object' },
    ]);
    const rejects = await tokenRejects(token.id);
    expect(rejects.map((r) => [r.index, r.field, r.code, r.dataType])).toEqual([
      [5, 'info', 'bad_type', 'activities'],
      [4, 'item', 'bad_type', 'activities'],
      [3, 'weight', 'not_a_number', 'activities'],
      [2, 'date', 'bad_date', 'activities'],
      [1, 'externalId', 'missing_identity', 'activities'],
    ]);
    expect(rejects.find((r) => r.index === 1)?.input).toBe('{"name":"nobody","action":"x"}');
    expect(rows('SELECT count(*) AS n FROM activities')).toEqual([{ n: 2 }]);
  });

  it('lands a retried request twice: pushed items have no source key (at-least-once, as Planhat)', async () => {
    const { secret } = await createToken('bulk');
    const body = [{ email: 'a@x.io', action: 'x', date: '2024-03-01T00:00:00Z' }];
    await push(`/analytics/bulk/${secret}`, body);
    await push(`/analytics/bulk/${secret}`, body);
    expect(rows('SELECT count(DISTINCT row_id) AS n FROM activities')).toEqual([{ n: 2 }]);
  });

  it('answers 413 to a body over 32 MB, while /api keeps its 1 MB limit', async () => {
    const { secret } = await createToken('bulk');
    const item = JSON.stringify({ email: 'a@x.io', info: { pad: 'x'.repeat(1000) } });
    const count = Math.ceil((32 * 1024 * 1024) / item.length) + 10;
    const big = `[${Array(count).fill(item).join(',')}]`;
    const res = await h.app.inject({
      method: 'POST',
      url: `/analytics/bulk/${secret}`,
      headers: { 'content-type': 'application/json' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    expect(rows('SELECT count(*) AS n FROM activities')).toEqual([{ n: 0 }]);
    // Just under the limit lands (bigger than /api's 1 MB).
    const fits = `[${Array(2000).fill(item).join(',')}]`;
    const ok = await h.app.inject({
      method: 'POST',
      url: `/analytics/bulk/${secret}`,
      headers: { 'content-type': 'application/json' },
      payload: fits,
    });
    expect(ok.statusCode, ok.body.slice(0, 200)).toBe(200);
    expect(ok.json<IngestResponse>().processed).toBe(2000);
    const api = await h.app.inject({
      method: 'POST',
      url: apiPath('createToken'),
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(api.statusCode).toBe(413);
  });
});

describe('POST /dimensiondata/:tenantToken', () => {
  it('lands one point or an array, with models in any case and Company by default', async () => {
    const { secret } = await createToken('metrics');
    expect(
      await push(`/dimensiondata/${secret}`, {
        dimensionId: 'seats',
        value: 5,
        externalId: 'acme',
        date: '2024-03-02',
      }),
    ).toEqual({ processed: 1, errors: [] });
    const res = await push(`/dimensiondata/${secret}`, [
      { dimensionId: 'logins', value: 2, externalId: 'u1', model: 'EndUser' },
      { dimensionId: 'logins', value: '3.5', externalId: 'u2', model: 'enduser' },
      { dimensionId: 'disk', value: 7, externalId: 'a1', model: 'ASSET' },
      { dimensionId: 'hours', value: 1, externalId: 'p1', model: 'project' },
    ]);
    expect(res).toEqual({ processed: 4, errors: [] });
    const landed = rows<{ model: string; external_id: string; value: number }>(
      'SELECT model, external_id, value FROM metric_points ORDER BY id',
    );
    expect(landed.map((r) => [r.model, r.external_id, r.value])).toEqual([
      ['Company', 'acme', 5],
      ['Enduser', 'u1', 2],
      ['Enduser', 'u2', 3.5],
      ['Asset', 'a1', 7],
      ['Project', 'p1', 1],
    ]);
    const metrics = await getJson<{ metrics: MetricSummary[] }>(apiPath('listMetrics'));
    expect(metrics.metrics.map((m) => [m.dimensionId, m.model, m.points])).toEqual([
      ['disk', 'Asset', 1],
      ['hours', 'Project', 1],
      ['logins', 'Enduser', 2],
      ['seats', 'Company', 1],
    ]);
    expect(metrics.metrics.every((m) => m.origins[0]?.name === 'metrics')).toBe(true);
  });

  it('keeps points with a non-numeric value, a bad date, an unknown model or no dimensionId as rejects', async () => {
    const { token, secret } = await createToken('metrics');
    const res = await push(`/dimensiondata/${secret}`, [
      { dimensionId: 'seats', value: 'ten', externalId: 'acme' },
      { dimensionId: 'seats', value: 1, externalId: 'acme', date: '2024-13-45' },
      { dimensionId: 'seats', value: 1, externalId: 'acme', model: 'Galaxy' },
      { value: 1, externalId: 'acme' },
      { dimensionId: 'seats', value: 1 },
      { dimensionId: 'seats', value: 1, externalId: 'acme' },
    ]);
    expect(res.processed).toBe(1);
    expect(res.errors).toEqual([
      { index: 0, reason: 'value: "ten" is not a number' },
      { index: 1, reason: 'date: "2024-13-45" is not a date' },
      { index: 2, reason: 'model: "Galaxy" is not one of Company, Enduser, Project, Asset' },
      { index: 3, reason: 'dimensionId is required' },
      { index: 4, reason: 'externalId is required' },
    ]);
    const rejects = await tokenRejects(token.id);
    expect(rejects.map((r) => [r.index, r.code, r.dataType]).reverse()).toEqual([
      [0, 'not_a_number', 'metrics'],
      [1, 'bad_date', 'metrics'],
      [2, 'bad_model', 'metrics'],
      [3, 'missing_value', 'metrics'],
      [4, 'missing_identity', 'metrics'],
    ]);
  });

  it('refuses a body that is neither an object nor an array', async () => {
    const { secret } = await createToken('metrics');
    const res = await h.app.inject({
      method: 'POST',
      url: `/dimensiondata/${secret}`,
      headers: { 'content-type': 'application/json' },
      payload: '42',
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('GET /dimensiondata', () => {
  it('filters by cId, externalId, dimid and days since 1970, pages, and takes the token as Bearer or query', async () => {
    const { secret } = await createToken('metrics');
    // 2024-03-01 is day 19783.
    await push(`/dimensiondata/${secret}`, [
      { dimensionId: 'seats', value: 1, externalId: 'acme', date: '2024-03-01T10:00:00Z' },
      { dimensionId: 'seats', value: 2, externalId: 'acme', date: '2024-03-02T10:00:00Z' },
      { dimensionId: 'seats', value: 3, externalId: 'acme', date: '2024-03-03T10:00:00Z' },
      { dimensionId: 'mrr', value: 99, externalId: 'acme', date: '2024-03-02T10:00:00Z' },
      { dimensionId: 'seats', value: 5, externalId: 'beta', date: '2024-03-02T10:00:00Z' },
      { dimensionId: 'seats', value: 6, externalId: 'acme', model: 'Enduser', date: '2024-03-02' },
    ]);
    const get = async (query: string, auth: 'bearer' | 'query' = 'bearer') => {
      const res = await h.app.inject({
        method: 'GET',
        url: `/dimensiondata?${query}${auth === 'query' ? `&tenantToken=${secret}` : ''}`,
        headers: auth === 'bearer' ? { authorization: `Bearer ${secret}` } : {},
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<DimensionDataPoint[]>().map((p) => DimensionDataPointSchema.parse(p));
    };
    expect((await get('cId=acme&dimid=seats')).map((p) => p.value)).toEqual([1, 2, 3]);
    expect((await get('externalId=acme&dimid=seats')).map((p) => p.value)).toEqual([1, 6, 2, 3]);
    expect((await get('cId=acme&from=19784&to=19784', 'query')).map((p) => p.value)).toEqual([
      2, 99,
    ]);
    expect((await get('dimid=seats&limit=2&offset=1')).map((p) => p.value)).toEqual([6, 2]);
    const [first] = await get('cId=beta');
    expect(first).toEqual({
      dimensionId: 'seats',
      value: 5,
      model: 'Company',
      externalId: 'beta',
      date: '2024-03-02T10:00:00.000Z',
      origin: { kind: 'pushed', name: 'metrics' },
    });
    const noToken = await h.app.inject({ method: 'GET', url: '/dimensiondata?cId=acme' });
    expect(noToken.statusCode).toBe(401);
    const badFrom = await h.app.inject({
      method: 'GET',
      url: '/dimensiondata?from=yesterday',
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(badFrom.statusCode).toBe(400);
  });
});

describe('pushed data beside pulled data', () => {
  it('reaches endusers, companies and the rollups exactly once, labelled by origin', async () => {
    await pullSections();
    const { secret } = await createToken('scripts');
    await push(`/analytics/bulk/${secret}`, [
      { email: 'a@x.io', cId: 'acme', action: 'login', date: '2024-03-02T09:00:00Z' },
      { email: 'z@x.io', action: 'login', date: '2024-03-02T09:00:00Z', count: 2 },
    ]);
    await push(`/dimensiondata/${secret}`, {
      dimensionId: 'seats',
      value: 12,
      externalId: 'acme',
      date: '2024-03-02',
    });
    // A later pulled run folds its own section; pushed data must not be counted again.
    await db.exec(
      "INSERT INTO events (email, account, event, created_at) VALUES ('b@x.io', 'acme', 'login', '2024-03-03 10:00:00')",
    );
    const sections = await h.store.listSections();
    const events = sections.find((s) => s.name === 'events');
    const run = await h.call('POST', apiPath('runSection', { id: events!.id }), { as: admin });
    expect(run.statusCode).toBe(202);
    await h.scheduler.idle();

    const check = async () => {
      const actions = await getJson<{ actions: ActionSummary[] }>(apiPath('listActions'));
      expect(actions.actions).toEqual([
        expect.objectContaining({
          action: 'login',
          count: 5,
          weightedCount: 6,
          endusers: 3,
          origins: [
            { kind: 'pulled', name: 'events', integration: 'test-db' },
            { kind: 'pushed', name: 'scripts' },
          ],
        }),
      ]);
      const endusers = await getJson<{ items: Enduser[] }>(apiPath('listEndusers'));
      const byEmail = Object.fromEntries(endusers.items.map((e) => [e.email, e]));
      expect(byEmail['a@x.io']).toMatchObject({ activities: 2, companyExternalId: 'acme' });
      expect(byEmail['b@x.io']).toMatchObject({ activities: 2 });
      expect(byEmail['z@x.io']).toMatchObject({
        activities: 1,
        weightedActivities: 2,
        companyExternalId: null,
      });
      const companies = await getJson<{ items: Company[] }>(apiPath('listCompanies'));
      expect(companies.items).toEqual([
        expect.objectContaining({ externalId: 'acme', activities: 4, metricPoints: 2 }),
      ]);
      const metrics = await getJson<{ metrics: MetricSummary[] }>(apiPath('listMetrics'));
      expect(metrics.metrics).toEqual([
        expect.objectContaining({
          dimensionId: 'seats',
          points: 2,
          origins: [
            { kind: 'pulled', name: 'usage', integration: 'test-db' },
            { kind: 'pushed', name: 'scripts' },
          ],
        }),
      ]);
      const series = await getJson<{ points: { day: string; value: number }[] }>(
        `${apiPath('metricSeries', { dimensionId: 'seats' })}?externalId=acme`,
      );
      expect(series.points).toEqual([
        { day: '2024-03-01', value: 10 },
        { day: '2024-03-02', value: 12 },
      ]);
    };
    await check();

    // Reopened (as after a restart): nothing is folded a second time.
    await h.store.close();
    const reopened = await openStore({
      dataDir: h.dataDir,
      secretKey: 'test-secret-key-0123456789',
    });
    try {
      const tokens = openTokenStore(reopened);
      expect((await tokens.listTokens()).map((t) => t.name)).toEqual(['scripts']);
      const sqlite = new Database(join(h.dataDir, 'sluice.db'), { readonly: true });
      try {
        const counts = sqlite
          .prepare('SELECT sum(activity_count) AS a, sum(activity_weight) AS w FROM endusers')
          .get() as { a: number; w: number };
        // Pulled a, b, b and pushed a, z (count 2): 5 activities, weighing 6.
        expect(counts).toEqual({ a: 5, w: 6 });
        const folded = sqlite
          .prepare('SELECT count(*) AS n FROM sections WHERE landed_id <> folded_id')
          .get() as { n: number };
        expect(folded.n).toBe(0);
      } finally {
        sqlite.close();
      }
    } finally {
      await reopened.close();
    }
  });
});

describe('sluice token', () => {
  it('creates (printing the token once), lists and revokes tokens', async () => {
    const run = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(
        ['node', 'sluice', '--data-dir', h.dataDir, ...args],
        { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) },
        { ...process.env, SLUICE_SECRET_KEY: 'test-secret-key-0123456789' },
      );
      return { code, stdout, stderr };
    };
    const created = await run(['token', 'create', '--name', 'cli-token', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { secret, token } = JSON.parse(created.stdout) as TokenCreated;
    expect(token).toMatchObject({ name: 'cli-token', createdBy: 'cli' });
    const plain = await run(['token', 'create', '--name', 'other']);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^slt_/);
    expect((await run(['token', 'create', '--name', 'other'])).code).toBe(2);

    // The server sees a token the CLI created.
    expect(await push(`/analytics/${secret}`, { email: 'cli@x.io' })).toEqual({
      processed: 1,
      errors: [],
    });

    const list = await run(['token', 'list', '--json']);
    expect((JSON.parse(list.stdout) as ApiToken[]).map((t) => t.name)).toEqual([
      'other',
      'cli-token',
    ]);
    expect(list.stdout).not.toContain(secret);
    const table = await run(['token', 'list']);
    expect(table.stdout).toContain(`${token.prefix}...`);

    const revoked = await run(['token', 'revoke', 'cli-token']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe('token cli-token revoked\n');
    expect((await run(['token', 'revoke', 'nope'])).code).not.toBe(0);
    const res = await h.app.inject({
      method: 'POST',
      url: `/analytics/${secret}`,
      payload: { email: 'cli@x.io' },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('the ingest contract', () => {
  it("pins the request body field names to Planhat's", () => {
    expect([...ACTIVITY_FIELDS]).toEqual([
      'email',
      'externalId',
      'name',
      'companyExternalId',
      'action',
      'weight',
      'date',
      'info',
      'id',
      'cId',
      'count',
    ]);
    expect([...METRIC_FIELDS]).toEqual(['dimensionId', 'value', 'externalId', 'model', 'date']);
    expect(Object.keys(IngestResponseSchema.shape)).toEqual(['processed', 'errors']);
  });

  it('lands a body that uses every documented field', async () => {
    const { secret } = await createToken('contract');
    const activity = {
      email: 'a@x.io',
      externalId: 'u1',
      name: 'A',
      companyExternalId: 'acme',
      action: 'login',
      weight: 2,
      date: '2024-03-01T00:00:00Z',
      info: { k: 'v' },
    };
    expect(Object.keys(activity)).toEqual(ACTIVITY_FIELDS.slice(0, 8));
    expect(await push(`/analytics/${secret}`, activity)).toEqual({ processed: 1, errors: [] });
    const bulk = { id: 'u2', cId: 'acme', count: 2, action: 'login' };
    expect(await push(`/analytics/bulk/${secret}`, [bulk])).toEqual({ processed: 1, errors: [] });
    const point = {
      dimensionId: 'seats',
      value: 1,
      externalId: 'acme',
      model: 'Company',
      date: '2024-03-01',
    };
    expect(Object.keys(point)).toEqual([...METRIC_FIELDS]);
    expect(await push(`/dimensiondata/${secret}`, point)).toEqual({ processed: 1, errors: [] });
  });

  it('never logs a tenant token', () => {
    expect(redactUrl('/analytics/slt_abc')).toBe('/analytics/<token>');
    expect(redactUrl('/analytics/bulk/slt_abc')).toBe('/analytics/bulk/<token>');
    expect(redactUrl('/dimensiondata/slt_abc?x=1')).toBe('/dimensiondata/<token>?x=1');
    expect(redactUrl('/dimensiondata?cId=a&tenantToken=slt_abc')).toBe(
      '/dimensiondata?cId=a&tenantToken=<token>',
    );
  });
});
