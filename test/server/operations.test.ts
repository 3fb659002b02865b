import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_SCHEMAS, HealthSchema, ROUTES, type RouteSpec } from '../../src/core/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness, type ServerHarness, type Session } from '../helpers/server.js';

let db: TestDatabase;
let h: ServerHarness;
let admin: Session;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.exec(`CREATE TABLE events (id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
    email VARCHAR(100), created_at DATETIME)`);
  await db.exec(`INSERT INTO events (email, created_at) VALUES ('a@x.io', '2024-05-01 00:00:00'),
    ('b@x.io', '2024-05-01 01:00:00'), (NULL, '2024-05-01 02:00:00')`);
  await db.exec(`CREATE TABLE stamps (ts DATETIME PRIMARY KEY, email VARCHAR(100))`);
  await db.exec(`INSERT INTO stamps VALUES ('2024-05-01 00:00:00', 'a@x.io'),
    ('2024-05-01 00:10:00', 'a@x.io')`);
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

/** The value of one series line, e.g. `sluice_rows_landed_total{integration="test-db",section="s"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('reports runs by status, rows, the age of the last success and the cursor lag, asking MySQL at most once a minute', async () => {
    for (const body of [
      {
        name: 's',
        dataType: 'activities',
        table: 'events',
        key: 'id',
        mapping: { email: 'email' },
      },
      {
        name: 't',
        dataType: 'activities',
        table: 'stamps',
        key: 'ts',
        mapping: { email: 'email' },
      },
    ]) {
      const res = await h.call('POST', '/api/integrations/test-db/sections', { as: admin, body });
      expect(res.statusCode, res.body).toBe(201);
    }
    await h.scheduler.idle();
    await db.exec("INSERT INTO stamps VALUES ('2024-05-01 01:10:00', 'b@x.io')");
    const res = await h.call('GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    const s = 'integration="test-db",section="s"';
    expect(text).toContain('# TYPE sluice_runs_total counter');
    expect(sample(text, `sluice_runs_total{${s},status="succeeded"}`)).toBe(1);
    expect(sample(text, `sluice_rows_read_total{${s}}`)).toBe(3);
    expect(sample(text, `sluice_rows_landed_total{${s}}`)).toBe(2);
    expect(sample(text, `sluice_rows_rejected_total{${s}}`)).toBe(1);
    expect(sample(text, `sluice_section_failures{${s}}`)).toBe(0);
    const age = sample(text, `sluice_last_success_age_seconds{${s}}`);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    expect(sample(text, `sluice_cursor_lag{${s},unit="keys"}`)).toBe(0);
    expect(
      sample(text, 'sluice_cursor_lag{integration="test-db",section="t",unit="seconds"}'),
    ).toBe(3600);

    // Cached: new rows in MySQL do not show before a minute has passed.
    await db.exec("INSERT INTO events (email) VALUES ('c@x.io'), ('d@x.io')");
    const again = await h.call('GET', '/metrics');
    expect(sample(again.body, `sluice_cursor_lag{${s},unit="keys"}`)).toBe(0);
  });

  it('shows fresh lag when the cache lifetime has passed', async () => {
    await h.close();
    h = await createServerHarness(db, { lagTtlMs: 0 });
    await h.addUser('admin@x.io', 'admin');
    admin = await h.login('admin@x.io');
    await h.createIntegration(admin);
    await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: {
        name: 's',
        dataType: 'activities',
        table: 'events',
        key: 'id',
        mapping: { email: 'email' },
      },
    });
    await h.scheduler.idle();
    const before = await h.call('GET', '/metrics');
    const lag = sample(
      before.body,
      'sluice_cursor_lag{integration="test-db",section="s",unit="keys"}',
    );
    await db.exec("INSERT INTO events (email) VALUES ('e@x.io'), ('f@x.io')");
    const after = await h.call('GET', '/metrics');
    expect(
      sample(after.body, 'sluice_cursor_lag{integration="test-db",section="s",unit="keys"}'),
    ).toBe((lag ?? 0) + 2);
  });
});

describe('routes', () => {
  it('registers every route of the contract', () => {
    for (const spec of Object.values(ROUTES) as RouteSpec[]) {
      expect(h.app.hasRoute({ method: spec.method, url: spec.path }), spec.path).toBe(true);
    }
  });
});

describe('/api/docs', () => {
  it('is an OpenAPI 3.1 document listing every route with resolvable schemas', async () => {
    const res = await h.call('GET', '/api/docs');
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      info: { title: string; version: string };
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string;
            parameters: { name: string; in: string }[];
            responses: Record<string, unknown>;
          }
        >
      >;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Sluice API');
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, ...op })),
    );
    for (const [id, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
      const path = spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const op = operations.find((o) => o.path === path && o.method === spec.method.toLowerCase());
      expect(op, `${spec.method} ${spec.path}`).toBeDefined();
      expect(op?.operationId).toBe(id);
      for (const param of spec.path.match(/:([A-Za-z]+)/g) ?? []) {
        expect(op?.parameters).toContainEqual(
          expect.objectContaining({ name: param.slice(1), in: 'path' }),
        );
      }
      expect(Object.keys(op?.responses ?? {})).toContain(String(spec.status ?? 200));
    }
    expect(operations).toHaveLength(Object.keys(ROUTES).length);
    expect(Object.keys(doc.components.schemas).sort()).toEqual(Object.keys(API_SCHEMAS).sort());
    const refs = [...res.body.matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map(
      (m) => m[1],
    );
    expect(refs.length).toBeGreaterThan(40);
    for (const name of refs) expect(doc.components.schemas).toHaveProperty(name as string);
    const login = doc.paths['/api/auth/login']?.post;
    expect(Object.keys(login?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '429']),
    );
    expect(doc.components.schemas.SectionInput).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['name', 'dataType', 'table', 'key', 'mapping']),
    });
  });
});

describe('health, errors and the web UI', () => {
  it('answers health with the store and scheduler state', async () => {
    const res = await h.call('GET', '/api/health');
    expect(HealthSchema.parse(res.json())).toMatchObject({
      ok: true,
      store: 'ok',
      scheduler: 'running',
      setupDone: true,
      timeZone: 'UTC',
    });
  });

  it('answers unknown API routes with a JSON 404, and malformed JSON with 400', async () => {
    const res = await h.call('GET', '/api/nope', { as: admin });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('serves the built UI with a fallback to index.html for client-side routes, and security headers', async () => {
    const web = await mkdtemp(join(tmpdir(), 'sluice-web-'));
    await mkdir(join(web, 'assets'));
    await writeFile(join(web, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(join(web, 'assets', 'app.js'), 'console.log(1)');
    await h.close();
    h = await createServerHarness(db, { webDir: web });
    try {
      const index = await h.call('GET', '/');
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('id="root"');
      expect(index.headers['x-frame-options']).toBe('DENY');
      expect(index.headers['content-security-policy']).toContain("default-src 'self'");
      const asset = await h.call('GET', '/assets/app.js');
      expect(asset.body).toBe('console.log(1)');
      const deep = await h.call('GET', '/integrations/test-db/sections/3');
      expect(deep.statusCode).toBe(200);
      expect(deep.body).toContain('id="root"');
      const api = await h.call('GET', '/api/unknown');
      expect(api.statusCode).toBe(404);
      expect(api.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    } finally {
      await rm(web, { recursive: true, force: true });
    }
  });
});
