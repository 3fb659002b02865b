import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Role } from '../../src/core/api.js';
import { Engine } from '../../src/engine/engine.js';
import {
  createInProcessScheduler,
  type InProcessScheduler,
} from '../../src/scheduler/inprocess-scheduler.js';
import { buildApp, type AppDeps } from '../../src/server/app.js';
import { hashPassword } from '../../src/server/passwords.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import {
  openDataQueries,
  openScheduleStore,
  openStore,
  openUserStore,
} from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import type { UserStore } from '../../src/store/user-store.js';
import { TEST_MYSQL, type TestDatabase } from './mariadb.js';
import { THREAD_WRITER } from './built.js';

/** A logged-in client: its cookie and CSRF token. */
export interface Session {
  cookie: string;
  csrf: string;
}

export interface ServerHarness {
  dataDir: string;
  app: FastifyInstance;
  store: Store;
  users: UserStore;
  scheduler: InProcessScheduler;
  /** Creates a user straight in the store (as `sluice user add` does). */
  addUser(email: string, role: Role, password?: string): Promise<void>;
  login(email: string, password?: string): Promise<Session>;
  /** A request as `session` (cookie and CSRF header), or anonymous. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    options?: { as?: Session; body?: unknown; csrf?: boolean },
  ): Promise<LightMyRequestResponse>;
  /** Creates the integration `test-db` on the test database through the API. */
  createIntegration(as: Session): Promise<void>;
  close(): Promise<void>;
}

export const PASSWORD = 'correct horse battery staple';

/** The app on a fresh store in a temp folder, with the real in-process scheduler (no timers). */
export async function createServerHarness(
  db: TestDatabase,
  deps: Partial<AppDeps> = {},
): Promise<ServerHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-server-'));
  const store = await openStore({
    dataDir,
    secretKey: 'test-secret-key-0123456789',
    ...THREAD_WRITER,
  });
  const users = openUserStore(store);
  const engine = new Engine({
    store,
    connect: async (i) =>
      createMysqlSource(i.mysql, (await store.getIntegrationPassword(i.name)) ?? ''),
    retryDelayMs: 10,
    readAttempts: 2,
  });
  const scheduler = createInProcessScheduler({
    store,
    scheduleStore: openScheduleStore(store),
    engine,
    timers: false,
  });
  await scheduler.start();
  const app = await buildApp({
    store,
    users,
    data: openDataQueries(store),
    scheduler,
    passwordFor: async (i) => (await store.getIntegrationPassword(i.name)) ?? '',
    ...deps,
  });
  const h: ServerHarness = {
    dataDir,
    app,
    store,
    users,
    scheduler,
    async addUser(email, role, password = PASSWORD) {
      await users.createUser({ email, role, passwordHash: await hashPassword(password) });
    },
    async login(email, password = PASSWORD) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email, password },
      });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      const cookie = res.cookies.find((c) => c.name === 'sluice_session');
      if (!cookie) throw new Error('login set no session cookie');
      return {
        cookie: `${cookie.name}=${cookie.value}`,
        csrf: res.json<{ csrfToken: string }>().csrfToken,
      };
    },
    call(method, url, options = {}) {
      const headers: Record<string, string> = {};
      if (options.as) {
        headers.cookie = options.as.cookie;
        if (options.csrf !== false) headers['x-csrf-token'] = options.as.csrf;
      }
      return app.inject({
        method,
        url,
        headers,
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });
    },
    async createIntegration(as) {
      const res = await h.call('POST', '/api/integrations', {
        as,
        body: {
          name: 'test-db',
          mysql: {
            host: TEST_MYSQL.host,
            port: TEST_MYSQL.port,
            user: TEST_MYSQL.user,
            password: TEST_MYSQL.password,
            database: db.name,
          },
        },
      });
      if (res.statusCode !== 201)
        throw new Error(`create integration: ${res.statusCode} ${res.body}`);
    },
    async close() {
      await scheduler.stop();
      await app.close();
      await engine.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}
