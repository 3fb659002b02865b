import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorBodySchema,
  IntegrationListSchema,
  IntegrationResponseSchema,
  TableDetailSchema,
  TableListSchema,
  TestConnectionResponseSchema,
} from '../../src/core/api.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness, type ServerHarness, type Session } from '../helpers/server.js';

let db: TestDatabase;
let h: ServerHarness;
let admin: Session;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.exec(`CREATE TABLE events (id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
    seq INT NOT NULL, created_at DATETIME NULL, email VARCHAR(100), note TEXT, score DOUBLE,
    code VARCHAR(40), KEY seq_idx (seq))`);
  await db.exec('CREATE VIEW recent AS SELECT id, email FROM events');
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

const mysql = (extra: Record<string, unknown> = {}) => ({
  host: TEST_MYSQL.host,
  port: TEST_MYSQL.port,
  user: TEST_MYSQL.user,
  password: TEST_MYSQL.password,
  database: db.name,
  ...extra,
});

describe('integrations', () => {
  it('creates, lists, toggles and deletes an integration; the password is never returned and is stored encrypted', async () => {
    const created = await h.call('POST', '/api/integrations', {
      as: admin,
      body: { name: 'secret', mysql: mysql({ password: 'pw-never-shown-42' }) },
    });
    expect(created.statusCode).toBe(201);
    expect(created.body).not.toContain('pw-never-shown-42');
    const { integration } = IntegrationResponseSchema.parse(created.json());
    expect(integration).toMatchObject({
      name: 'secret',
      enabled: true,
      hasPassword: true,
      mysql: { host: TEST_MYSQL.host, port: TEST_MYSQL.port, database: db.name },
      sections: [],
    });
    expect(integration.mysql).not.toHaveProperty('password');

    const list = await h.call('GET', '/api/integrations', { as: admin });
    expect(list.body).not.toContain('pw-never-shown-42');
    expect(IntegrationListSchema.parse(list.json()).integrations.map((i) => i.name)).toEqual([
      'secret',
    ]);
    const sqlite = new Database(join(h.dataDir, 'sluice.db'), { readonly: true });
    const row = sqlite.prepare('SELECT password_enc FROM integrations').get() as {
      password_enc: string;
    };
    sqlite.close();
    expect(row.password_enc).toMatch(/^v1:/);
    expect(row.password_enc).not.toContain('pw-never-shown-42');

    const off = await h.call('PATCH', '/api/integrations/secret', {
      as: admin,
      body: { enabled: false, mysql: { host: 'db.example.com', port: 3307 } },
    });
    expect(off.statusCode).toBe(200);
    expect(IntegrationResponseSchema.parse(off.json()).integration).toMatchObject({
      enabled: false,
      hasPassword: true,
      mysql: { host: 'db.example.com', port: 3307 },
    });
    expect(await h.store.getIntegrationPassword('secret')).toBe('pw-never-shown-42');
    // Clearing a passwordEnv that is not set leaves the stored password alone.
    await h.call('PATCH', '/api/integrations/secret', {
      as: admin,
      body: { mysql: { passwordEnv: null } },
    });
    expect(await h.store.getIntegrationPassword('secret')).toBe('pw-never-shown-42');
    const env = await h.call('PATCH', '/api/integrations/secret', {
      as: admin,
      body: { mysql: { passwordEnv: 'DB_PASSWORD' } },
    });
    expect(IntegrationResponseSchema.parse(env.json()).integration).toMatchObject({
      hasPassword: false,
      mysql: { passwordEnv: 'DB_PASSWORD' },
    });

    const dup = await h.call('POST', '/api/integrations', {
      as: admin,
      body: { name: 'secret', mysql: mysql() },
    });
    expect(dup.statusCode).toBe(409);

    expect((await h.call('DELETE', '/api/integrations/secret', { as: admin })).statusCode).toBe(
      200,
    );
    expect((await h.call('GET', '/api/integrations/secret', { as: admin })).statusCode).toBe(404);
  });

  it('answers 400 naming each field at fault, and saves nothing', async () => {
    const res = await h.call('POST', '/api/integrations', {
      as: admin,
      body: { name: 'bad name!', mysql: { host: '', user: 'u', database: 'd', port: 70000 } },
    });
    expect(res.statusCode).toBe(400);
    const fields = ErrorBodySchema.parse(res.json()).error.fields?.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['mysql.host', 'mysql.port']));
    const config = await h.call('POST', '/api/integrations', {
      as: admin,
      body: { name: 'bad name!', mysql: mysql() },
    });
    expect(config.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(config.json()).error).toMatchObject({
      code: 'CONFIG_INVALID',
      fields: [{ field: 'name' }],
    });
    expect(await h.store.listIntegrations()).toEqual([]);
  });
});

describe('test-connection', () => {
  const test = async (body: Record<string, unknown>) => {
    const res = await h.call('POST', '/api/test-connection', { as: admin, body });
    expect(res.statusCode).toBe(200);
    return TestConnectionResponseSchema.parse(res.json());
  };

  it('reports a working connection with the server it found', async () => {
    const result = await test(mysql());
    expect(result).toMatchObject({ ok: true, server: { flavor: 'mariadb' } });
  });

  it('says plainly when access is denied, the database is unknown, or the host unreachable', async () => {
    expect(await test(mysql({ password: 'wrong-password' }))).toMatchObject({
      ok: false,
      code: 'MYSQL_ACCESS_DENIED',
      message: expect.stringContaining('access denied'),
    });
    expect(await test(mysql({ database: 'no_such_database_here' }))).toMatchObject({
      ok: false,
      code: 'MYSQL_UNKNOWN_DATABASE',
      message: expect.stringContaining('"no_such_database_here" does not exist'),
    });
    expect(await test(mysql({ port: 1 }))).toMatchObject({
      ok: false,
      code: 'MYSQL_UNREACHABLE',
      message: expect.stringContaining('connection refused'),
    });
  });

  it('tests a stored integration with the credentials given, and saves them only when asked and working', async () => {
    await h.call('POST', '/api/integrations', {
      as: admin,
      body: { name: 'db', mysql: mysql({ user: 'nobody', password: 'x' }) },
    });
    const url = '/api/integrations/db/test-connection';
    const stored = await h.call('POST', url, { as: admin, body: {} });
    expect(TestConnectionResponseSchema.parse(stored.json())).toMatchObject({
      ok: false,
      code: 'MYSQL_ACCESS_DENIED',
    });
    const wrong = await h.call('POST', url, {
      as: admin,
      body: { user: TEST_MYSQL.user, password: 'wrong', save: true },
    });
    expect(wrong.json()).toMatchObject({ ok: false, code: 'MYSQL_ACCESS_DENIED' });
    expect((await h.store.getIntegration('db'))?.mysql.user).toBe('nobody');

    const right = await h.call('POST', url, {
      as: admin,
      body: { user: TEST_MYSQL.user, password: TEST_MYSQL.password, save: true },
    });
    expect(right.json()).toMatchObject({ ok: true });
    expect((await h.store.getIntegration('db'))?.mysql.user).toBe(TEST_MYSQL.user);
    expect(await h.store.getIntegrationPassword('db')).toBe(TEST_MYSQL.password);
  });
});

describe('schema browser', () => {
  beforeEach(async () => {
    await h.createIntegration(admin);
  });

  it('lists tables and views', async () => {
    const res = await h.call('GET', '/api/integrations/test-db/tables', { as: admin });
    expect(TableListSchema.parse(res.json()).tables).toEqual([
      { name: 'events', kind: 'table' },
      { name: 'recent', kind: 'view' },
    ]);
  });

  it('describes columns with their key candidates, flagging those without an index', async () => {
    const res = await h.call('GET', '/api/integrations/test-db/tables/events', { as: admin });
    const { table } = TableDetailSchema.parse(res.json());
    const col = (name: string) => table.columns.find((c) => c.name === name);
    expect(table.primaryKey).toEqual(['id']);
    expect(col('id')).toMatchObject({
      keyCandidate: true,
      keyKind: 'unsigned',
      indexed: true,
      warning: null,
    });
    expect(col('seq')).toMatchObject({ keyCandidate: true, keyKind: 'signed', indexed: true });
    expect(col('created_at')).toMatchObject({
      keyCandidate: true,
      keyKind: 'datetime',
      indexed: false,
      warning: expect.stringContaining('scan the table'),
    });
    expect(col('created_at')?.warning).toContain('NULL');
    expect(col('code')).toMatchObject({ keyCandidate: false, keyKind: null });
    expect(col('email')).toMatchObject({ keyCandidate: false });
    expect(col('note')).toMatchObject({ keyCandidate: false });
    expect(col('score')).toMatchObject({ keyCandidate: false });

    const missing = await h.call('GET', '/api/integrations/test-db/tables/nope', { as: admin });
    expect(missing.statusCode).toBe(404);
  });
});
