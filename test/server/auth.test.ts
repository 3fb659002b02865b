import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorBodySchema, SessionResponseSchema, UserListSchema } from '../../src/core/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { PASSWORD, createServerHarness, type ServerHarness } from '../helpers/server.js';

let db: TestDatabase;
let h: ServerHarness;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createServerHarness(db, { loginLimits: { perEmail: 5, perAddress: 20 } });
});
afterEach(async () => {
  await h.close();
});

const errorCode = (body: string) => ErrorBodySchema.parse(JSON.parse(body)).error.code;

describe('first start', () => {
  it('answers 503 SETUP_REQUIRED naming `sluice user add` until a user exists, health and docs meanwhile', async () => {
    const me = await h.call('GET', '/api/auth/me');
    expect(me.statusCode).toBe(503);
    const body = ErrorBodySchema.parse(me.json());
    expect(body.error.code).toBe('SETUP_REQUIRED');
    expect(body.error.message).toContain('sluice user add');
    const login = await h.call('POST', '/api/auth/login', {
      body: { email: 'a@x.io', password: PASSWORD },
    });
    expect(login.statusCode).toBe(503);

    const health = await h.call('GET', '/api/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ ok: true, setupDone: false, store: 'ok' });
    expect((await h.call('GET', '/api/docs')).statusCode).toBe(200);

    // A user created meanwhile (by the CLI, in another process) opens the API without a restart.
    await h.addUser('first@x.io', 'superadmin');
    expect((await h.call('GET', '/api/auth/me')).statusCode).toBe(401);
  });
});

describe('login, logout, me', () => {
  beforeEach(async () => {
    await h.addUser('admin@x.io', 'admin');
  });

  it('logs in with an HttpOnly SameSite=Strict cookie, answers me, and logs out', async () => {
    const res = await h.call('POST', '/api/auth/login', {
      body: { email: 'Admin@X.io', password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    const session = SessionResponseSchema.parse(res.json());
    expect(session.user).toMatchObject({ email: 'admin@x.io', role: 'admin' });
    expect(session.user).not.toHaveProperty('passwordHash');
    const cookie = res.cookies.find((c) => c.name === 'sluice_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // Over plain http (inject), the cookie is not marked Secure; behind https it is.
    expect(cookie?.secure).toBeFalsy();
    const as = { cookie: `sluice_session=${cookie?.value}`, csrf: session.csrfToken };

    const me = await h.call('GET', '/api/auth/me', { as });
    expect(me.statusCode).toBe(200);
    expect(SessionResponseSchema.parse(me.json())).toEqual({
      user: expect.objectContaining({ email: 'admin@x.io' }),
      csrfToken: session.csrfToken,
    });

    const out = await h.call('POST', '/api/auth/logout', { as });
    expect(out.statusCode).toBe(200);
    expect(out.cookies.find((c) => c.name === 'sluice_session')?.value).toBe('');
    const after = await h.call('GET', '/api/auth/me', { as });
    expect(after.statusCode).toBe(401);
    expect(errorCode(after.body)).toBe('AUTH_REQUIRED');
  });

  it('marks the cookie Secure behind an https proxy', async () => {
    await h.close();
    h = await createServerHarness(db, { trustProxy: true });
    await h.addUser('admin@x.io', 'admin');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'x-forwarded-proto': 'https' },
      payload: { email: 'admin@x.io', password: PASSWORD },
    });
    expect(res.cookies.find((c) => c.name === 'sluice_session')?.secure).toBe(true);
  });

  it('refuses a wrong password and an unknown email alike with 401', async () => {
    for (const body of [
      { email: 'admin@x.io', password: 'not the password' },
      { email: 'nobody@x.io', password: PASSWORD },
    ]) {
      const res = await h.call('POST', '/api/auth/login', { body });
      expect(res.statusCode).toBe(401);
      expect(errorCode(res.body)).toBe('LOGIN_FAILED');
      expect(res.cookies).toHaveLength(0);
    }
  });

  it('answers 400 naming the field when the body lacks one', async () => {
    const res = await h.call('POST', '/api/auth/login', { body: { email: 'admin@x.io' } });
    expect(res.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(res.json()).error.fields).toEqual([
      { field: 'password', message: 'is required' },
    ]);
  });

  it('rate-limits failed logins per email: the 6th attempt in 15 minutes gets 429 with Retry-After, even with the right password', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await h.call('POST', '/api/auth/login', {
        body: { email: 'admin@x.io', password: `wrong ${i}` },
      });
      expect(res.statusCode).toBe(401);
    }
    const limited = await h.call('POST', '/api/auth/login', {
      body: { email: 'admin@x.io', password: PASSWORD },
    });
    expect(limited.statusCode).toBe(429);
    expect(errorCode(limited.body)).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
  });

  it('rate-limits failed logins per address across emails', async () => {
    for (let i = 0; i < 20; i++) {
      await h.call('POST', '/api/auth/login', {
        body: { email: `guess${i}@x.io`, password: 'wrong password' },
      });
    }
    const limited = await h.call('POST', '/api/auth/login', {
      body: { email: 'admin@x.io', password: PASSWORD },
    });
    expect(limited.statusCode).toBe(429);
  });

  it('refuses a state-changing request without the CSRF token with 403, and changes nothing', async () => {
    const as = await h.login('admin@x.io');
    const body = { name: 'x', mysql: { host: 'h', user: 'u', database: 'd' } };
    const missing = await h.call('POST', '/api/integrations', { as, body, csrf: false });
    expect(missing.statusCode).toBe(403);
    expect(errorCode(missing.body)).toBe('CSRF_INVALID');
    const wrong = await h.call('POST', '/api/integrations', {
      as: { ...as, csrf: 'forged' },
      body,
    });
    expect(wrong.statusCode).toBe(403);
    expect(await h.store.listIntegrations()).toEqual([]);
    // Logging out is state-changing too.
    expect((await h.call('POST', '/api/auth/logout', { as, csrf: false })).statusCode).toBe(403);
  });
});

describe('roles', () => {
  beforeEach(async () => {
    await h.addUser('root@x.io', 'superadmin');
    await h.addUser('admin@x.io', 'admin');
    await h.addUser('viewer@x.io', 'viewer');
  });

  it('lets a viewer read but not create sections (403), nor reach the SQL console or users', async () => {
    const root = await h.login('root@x.io');
    await h.createIntegration(root);
    const viewer = await h.login('viewer@x.io');
    expect((await h.call('GET', '/api/integrations', { as: viewer })).statusCode).toBe(200);
    const create = await h.call('POST', '/api/integrations/test-db/sections', {
      as: viewer,
      body: { name: 's', dataType: 'activities', table: 't', key: 'id', mapping: { email: 'e' } },
    });
    expect(create.statusCode).toBe(403);
    expect(errorCode(create.body)).toBe('FORBIDDEN');
    const query = await h.call('POST', '/api/integrations/test-db/query', {
      as: viewer,
      body: { sql: 'SELECT 1' },
    });
    expect(query.statusCode).toBe(403);
    expect((await h.call('GET', '/api/users', { as: viewer })).statusCode).toBe(403);
    expect((await h.call('GET', '/api/audit', { as: viewer })).statusCode).toBe(403);

    const admin = await h.login('admin@x.io');
    const adminQuery = await h.call('POST', '/api/integrations/test-db/query', {
      as: admin,
      body: { sql: 'SELECT 1' },
    });
    expect(adminQuery.statusCode).toBe(403);
  });

  it('lets a superadmin manage users, but never remove the last superadmin', async () => {
    const root = await h.login('root@x.io');
    const created = await h.call('POST', '/api/users', {
      as: root,
      body: { email: 'new@x.io', password: 'a long new password', role: 'viewer' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ user: { id: number } }>().user.id;
    const dup = await h.call('POST', '/api/users', {
      as: root,
      body: { email: 'NEW@x.io', password: 'a long new password', role: 'viewer' },
    });
    expect(dup.statusCode).toBe(409);
    const short = await h.call('POST', '/api/users', {
      as: root,
      body: { email: 'short@x.io', password: 'short', role: 'viewer' },
    });
    expect(short.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(short.json()).error.fields?.[0]?.field).toBe('password');

    const promoted = await h.call('PATCH', `/api/users/${id}`, {
      as: root,
      body: { role: 'admin' },
    });
    expect(promoted.json()).toMatchObject({ user: { email: 'new@x.io', role: 'admin' } });
    await h.login('new@x.io', 'a long new password');

    const list = UserListSchema.parse((await h.call('GET', '/api/users', { as: root })).json());
    expect(list.users.map((u) => u.email)).toEqual([
      'admin@x.io',
      'new@x.io',
      'root@x.io',
      'viewer@x.io',
    ]);

    const rootId = list.users.find((u) => u.email === 'root@x.io')?.id;
    const demote = await h.call('PATCH', `/api/users/${rootId}`, {
      as: root,
      body: { role: 'admin' },
    });
    expect(demote.statusCode).toBe(409);
    expect((await h.call('DELETE', `/api/users/${rootId}`, { as: root })).statusCode).toBe(409);
    expect((await h.call('DELETE', `/api/users/${id}`, { as: root })).statusCode).toBe(200);
    expect(
      (await h.call('GET', '/api/users', { as: root })).json<{ users: unknown[] }>().users,
    ).toHaveLength(3);
  });

  it('ends the sessions of a user whose password changes', async () => {
    const root = await h.login('root@x.io');
    const viewer = await h.login('viewer@x.io');
    const id = (await h.users.findUserByEmail('viewer@x.io'))?.id;
    await h.call('PATCH', `/api/users/${id}`, {
      as: root,
      body: { password: 'another long password' },
    });
    expect((await h.call('GET', '/api/auth/me', { as: viewer })).statusCode).toBe(401);
    await h.login('viewer@x.io', 'another long password');
  });
});
