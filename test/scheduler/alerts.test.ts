import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookSender, type Alert } from '../../src/scheduler/alerts.js';
import {
  createInProcessScheduler,
  type InProcessScheduler,
} from '../../src/scheduler/inprocess-scheduler.js';
import { openScheduleStore } from '../../src/store/open-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createHarness, testConfig, type Harness } from '../helpers/sluice.js';
import { Clock } from './helpers.js';

type Behaviour = 'ok' | 'fail-once' | 'hang';

/** A real HTTP server on 127.0.0.1 that records every POST it gets. */
async function webhookServer(behaviour: Behaviour = 'ok') {
  const received: { path: string; contentType: string | undefined; body: Alert }[] = [];
  const hanging: ServerResponse[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Alert,
      });
      if (behaviour === 'hang') {
        hanging.push(res);
        return;
      }
      res.statusCode = behaviour === 'fail-once' && requests === 1 ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/secret-token`,
    received,
    events: () => received.map((r) => r.body.event),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let db: TestDatabase;
let h: Harness;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase('sluice_alerts');
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createHarness(db);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h.close();
});

const section = (name: string, table: string, extra: Record<string, unknown> = {}) => ({
  name,
  dataType: 'activities',
  table,
  key: 'id',
  batchSize: 100,
  schedule: 'every 5m',
  mapping: { email: 'email', action: 'action' },
  ...extra,
});

/** Saves the sections under the test integration, whose alerts go to `webhook`. */
async function applyWithWebhook(webhook: string | undefined, sections: Record<string, unknown>[]) {
  const config = testConfig(db, sections);
  if (webhook !== undefined) config.integration.alerts = { webhook };
  await h.store.applyConfig(config.integration, config.sections);
}

function scheduler(clock: Clock, log?: (e: Record<string, unknown>) => void): InProcessScheduler {
  const s = createInProcessScheduler({
    store: h.store,
    scheduleStore: openScheduleStore(h.store),
    engine: h.engine,
    now: clock.now,
    timers: false,
    alerts: createWebhookSender({ timeoutMs: 2_000, retryDelayMs: 10, ...(log ? { log } : {}) }),
    ...(log ? { log } : {}),
  });
  cleanups.push(() => s.stop());
  return s;
}

async function tickAt(s: InProcessScheduler, clock: Clock, iso: string) {
  clock.set(iso);
  await s.tick();
  await s.idle();
}

describe('alerts through the scheduler, to a real webhook', () => {
  it('sends one section_failing message over three failed runs and one section_recovered', async () => {
    const hook = await webhookServer();
    cleanups.push(hook.close);
    await db.exec(
      'CREATE TABLE shaky (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))',
    );
    await applyWithWebhook(hook.url, [section('shaky', 'shaky')]);
    await db.exec('DROP TABLE shaky');
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock);
    await s.start();
    await s.idle();
    await tickAt(s, clock, '2024-05-01T10:01:00Z');
    await tickAt(s, clock, '2024-05-01T10:03:00Z');
    const id = (await h.store.listSections())[0]?.id ?? 0;
    const failed = await h.store.listRuns({ sectionId: id });
    expect(failed.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(hook.events()).toEqual(['section_failing']);
    expect(hook.received[0]).toMatchObject({
      path: '/hooks/secret-token',
      contentType: 'application/json',
    });
    expect(hook.received[0]?.body).toEqual({
      event: 'section_failing',
      integration: 'test-db',
      section: 'shaky',
      runId: failed[2]?.id,
      error: expect.stringContaining('shaky'),
      at: '2024-05-01T10:00:00.000Z',
    });

    await db.exec(
      "CREATE TABLE shaky (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50)); INSERT INTO shaky VALUES (1, 'a@x.io', 'login')",
    );
    await tickAt(s, clock, '2024-05-01T10:07:00Z');
    await tickAt(s, clock, '2024-05-01T10:10:00Z');
    expect(hook.events()).toEqual(['section_failing', 'section_recovered']);
    // Newest first: the 10:10 run, then the 10:07 run that recovered.
    const [, recovering] = await h.store.listRuns({ sectionId: id, limit: 2 });
    expect(hook.received[1]?.body).toEqual({
      event: 'section_recovered',
      integration: 'test-db',
      section: 'shaky',
      runId: recovering?.id,
      at: '2024-05-01T10:07:00.000Z',
    });
    await db.exec('DROP TABLE shaky');
  });

  it("sends one rejects_exceeded message to the section's own webhook when a run rejects too many rows", async () => {
    const integrationHook = await webhookServer();
    const sectionHook = await webhookServer();
    cleanups.push(integrationHook.close, sectionHook.close);
    await db.exec(
      'CREATE TABLE rough (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))',
    );
    await db.exec(
      "INSERT INTO rough VALUES (1, 'a@x.io', 'login'), (2, NULL, 'login'), (3, NULL, 'click'), (4, 'b@x.io', 'login')",
    );
    await applyWithWebhook(integrationHook.url, [
      section('rough', 'rough', {
        alerts: { webhook: sectionHook.url, rejectThreshold: 1 },
      }),
    ]);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock);
    await s.start();
    await s.idle();
    const [first] = await h.store.listRuns({});
    expect(first).toMatchObject({ status: 'succeeded', rejected: 2, landed: 2 });
    expect(sectionHook.received.map((r) => r.body)).toEqual([
      {
        event: 'rejects_exceeded',
        integration: 'test-db',
        section: 'rough',
        runId: first?.id,
        rejected: 2,
        threshold: 1,
        at: '2024-05-01T10:00:00.000Z',
      },
    ]);

    // Caught up: nothing rejected. Then one reject: not more than the threshold.
    await tickAt(s, clock, '2024-05-01T10:05:00Z');
    await db.exec("INSERT INTO rough VALUES (5, NULL, 'login'), (6, 'c@x.io', 'login')");
    await tickAt(s, clock, '2024-05-01T10:10:00Z');
    expect((await h.store.listRuns({})).map((r) => r.rejected)).toEqual([1, 0, 2]);
    expect(sectionHook.events()).toEqual(['rejects_exceeded']);
    expect(integrationHook.received).toEqual([]);
    await db.exec('DROP TABLE rough');
  });

  it('logs a webhook that cannot be reached and goes on scheduling', async () => {
    const gone = await webhookServer();
    await gone.close();
    await db.exec('CREATE TABLE lost (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))');
    await applyWithWebhook(gone.url, [section('lost', 'lost')]);
    await db.exec('DROP TABLE lost');
    const events: Record<string, unknown>[] = [];
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock, (e) => events.push(e));
    await s.start();
    await s.idle();
    const failedAlert = events.find((e) => e.event === 'alert_failed');
    expect(failedAlert).toMatchObject({
      alert: 'section_failing',
      section: 'lost',
      webhook: new URL(gone.url).origin,
    });
    // The token in the hook's path never reaches the log.
    expect(JSON.stringify(events)).not.toContain('secret-token');
    expect(s.status()[0]).toMatchObject({ state: 'backoff', failures: 1 });
    await tickAt(s, clock, '2024-05-01T10:01:00Z');
    expect(s.status()[0]).toMatchObject({ failures: 2 });
  });
});

describe('webhook sender', () => {
  const alert: Alert = {
    event: 'section_failing',
    integration: 'product-db',
    section: 'clicks',
    runId: 1,
    error: 'MySQL is down',
    at: '2024-05-01T10:00:00.000Z',
  };

  it('retries once when the webhook answers with an error', async () => {
    const hook = await webhookServer('fail-once');
    cleanups.push(hook.close);
    const sender = createWebhookSender({ retryDelayMs: 10 });
    expect(await sender.send(hook.url, alert)).toBe(true);
    expect(hook.received.map((r) => r.body)).toEqual([alert, alert]);
  });

  it('gives up after a timeout and one retry, without throwing', async () => {
    const hook = await webhookServer('hang');
    cleanups.push(hook.close);
    const events: Record<string, unknown>[] = [];
    const sender = createWebhookSender({
      timeoutMs: 100,
      retryDelayMs: 10,
      log: (e) => events.push(e),
    });
    expect(await sender.send(hook.url, alert)).toBe(false);
    expect(hook.received).toHaveLength(2);
    expect(events).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'alert_failed',
        error: 'no answer within 100 ms',
      }),
    ]);
  });
});
