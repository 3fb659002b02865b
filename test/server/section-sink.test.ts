import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorBodySchema,
  SectionResponseSchema,
  SectionSaveResponseSchema,
  apiPath,
} from '../../src/core/api.js';
import { openOutboxStore } from '../../src/store/open-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness, type ServerHarness, type Session } from '../helpers/server.js';

let db: TestDatabase;
let h: ServerHarness;
let admin: Session;

beforeAll(async () => {
  db = await createTestDatabase('sluice_sectionsink');
  await db.exec(`CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100))`);
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
  mapping: { email: 'email' },
};

describe("a section's sink through the API", () => {
  it('shows the sink without its token, keeps it across an edit without sink, checks it, and switches back to the store', async () => {
    const created = await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: {
        ...clicks,
        sink: { type: 'planhat', planhat: { baseUrl: 'http://127.0.0.1:9/', token: 'secret-1' } },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain('secret-1');
    const section = SectionSaveResponseSchema.parse(created.json()).section;
    expect(section.sink).toEqual({
      type: 'planhat',
      planhat: { baseUrl: 'http://127.0.0.1:9', hasToken: true },
    });
    const id = section.id;
    expect(await openOutboxStore(h.store).sinkToken(id)).toBe('secret-1');

    const got = await h.call('GET', apiPath('getSection', { id }), { as: admin });
    expect(got.body).not.toContain('secret-1');
    expect(SectionResponseSchema.parse(got.json()).section.sink?.planhat?.hasToken).toBe(true);
    const list = await h.call('GET', '/api/integrations', { as: admin });
    expect(list.body).not.toContain('secret-1');

    // No `sink` in the body: the stored one stays, token included.
    const kept = await h.call('PUT', apiPath('getSection', { id }), {
      as: admin,
      body: { ...clicks, batchSize: 50 },
    });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(SectionSaveResponseSchema.parse(kept.json()).section).toMatchObject({
      batchSize: 50,
      sink: { type: 'planhat', planhat: { baseUrl: 'http://127.0.0.1:9', hasToken: true } },
    });
    expect(await openOutboxStore(h.store).sinkToken(id)).toBe('secret-1');

    // A sink naming neither token nor tokenEnv keeps the stored token too.
    const moved = await h.call('PUT', apiPath('getSection', { id }), {
      as: admin,
      body: { ...clicks, sink: { type: 'both', planhat: { baseUrl: 'http://127.0.0.1:10' } } },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(SectionSaveResponseSchema.parse(moved.json()).section.sink).toEqual({
      type: 'both',
      planhat: { baseUrl: 'http://127.0.0.1:10', hasToken: true },
    });
    expect(await openOutboxStore(h.store).sinkToken(id)).toBe('secret-1');

    // A bad base URL: 400 naming the field, nothing saved.
    const bad = await h.call('PUT', apiPath('getSection', { id }), {
      as: admin,
      body: { ...clicks, batchSize: 7, sink: { type: 'planhat', planhat: { baseUrl: 'ftp://x' } } },
    });
    expect(bad.statusCode).toBe(400);
    const { error } = ErrorBodySchema.parse(bad.json());
    expect(error.fields?.map((f) => f.field)).toEqual(['sink.planhat.baseUrl']);
    const unchanged = await h.store.getSection(id);
    expect(unchanged?.batchSize).toBe(10_000);
    expect(unchanged?.sink).toEqual({ type: 'both', planhat: { baseUrl: 'http://127.0.0.1:10' } });

    // tokenEnv replaces the literal token.
    const env = await h.call('PUT', apiPath('getSection', { id }), {
      as: admin,
      body: { ...clicks, sink: { type: 'planhat', planhat: { tokenEnv: 'PLANHAT_TOKEN' } } },
    });
    expect(env.statusCode, env.body).toBe(200);
    expect(SectionSaveResponseSchema.parse(env.json()).section.sink).toEqual({
      type: 'planhat',
      planhat: {
        baseUrl: 'https://analytics.planhat.com',
        tokenEnv: 'PLANHAT_TOKEN',
        hasToken: false,
      },
    });
    expect(await openOutboxStore(h.store).sinkToken(id)).toBeUndefined();

    // Back to the store.
    const store = await h.call('PUT', apiPath('getSection', { id }), {
      as: admin,
      body: { ...clicks, sink: { type: 'store' } },
    });
    expect(store.statusCode, store.body).toBe(200);
    expect(SectionSaveResponseSchema.parse(store.json()).section.sink).toBeUndefined();
    expect((await h.store.getSection(id))?.sink).toBeUndefined();
  });

  it('refuses an unknown sink type naming sink.type', async () => {
    const res = await h.call('POST', '/api/integrations/test-db/sections', {
      as: admin,
      body: { ...clicks, sink: { type: 'kafka' } },
    });
    expect(res.statusCode).toBe(400);
    const fields = ErrorBodySchema.parse(res.json()).error.fields?.map((f) => f.field);
    expect(fields).toEqual(['sink.type']);
    expect(await h.store.listSections()).toEqual([]);
  });
});
