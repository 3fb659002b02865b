import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Engine } from '../../src/engine/engine.js';
import { createInProcessScheduler } from '../../src/scheduler/inprocess-scheduler.js';
import { buildApp } from '../../src/server/app.js';
import { createTenantToken } from '../../src/server/tenant-tokens.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import {
  openDataQueries,
  openScheduleStore,
  openStore,
  openTokenStore,
  openUserStore,
} from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const SECRET_KEY = 'test-secret-key-0123456789';

/**
 * A second, real Sluice server listening on 127.0.0.1: the receiving end of a Planhat sink.
 * `stop()` closes it and keeps its data folder, so `start(dataDir, port)` brings the same one back.
 */
export interface Receiver {
  dataDir: string;
  port: number;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  app: FastifyInstance;
  store: Store;
  stop(): Promise<void>;
}

export async function startReceiver(dataDir?: string, port = 0): Promise<Receiver> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'sluice-receiver-')));
  const store = await openStore({ dataDir: dir, secretKey: SECRET_KEY });
  const engine = new Engine({ store, connect: (i) => createMysqlSource(i.mysql, '') });
  const scheduler = createInProcessScheduler({
    store,
    scheduleStore: openScheduleStore(store),
    engine,
    timers: false,
  });
  await scheduler.start();
  const app = await buildApp({
    store,
    users: openUserStore(store),
    data: openDataQueries(store),
    scheduler,
    passwordFor: () => Promise.resolve(''),
  });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    dataDir: dir,
    port: bound,
    baseUrl: `http://127.0.0.1:${bound}`,
    app,
    store,
    async stop() {
      await scheduler.stop();
      await app.close();
      await engine.close();
      await store.close();
    },
  };
}

/** A tenant token created in the receiver's store; returns the secret and its id. */
export async function receiverToken(
  r: Receiver,
  name: string,
): Promise<{ secret: string; id: number }> {
  const created = await createTenantToken(openTokenStore(r.store), name, 'test');
  return { secret: created.secret, id: created.token.id };
}

/** Rows straight from the receiver's store file (a read-only second connection). */
export function receiverRows<T>(r: Receiver, query: string): T[] {
  const sqlite = new Database(join(r.dataDir, 'sluice.db'), { readonly: true });
  try {
    return sqlite.prepare(query).all() as T[];
  } finally {
    sqlite.close();
  }
}

export async function removeReceiver(r: Receiver): Promise<void> {
  await rm(r.dataDir, { recursive: true, force: true });
}
