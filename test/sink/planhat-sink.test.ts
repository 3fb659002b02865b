import Database from 'better-sqlite3';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { Engine } from '../../src/engine/engine.js';
import { PlanhatSink } from '../../src/sink/planhat-sink.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import { openOutboxStore, openStore, openTokenStore } from '../../src/store/open-store.js';
import type { OutboxStore } from '../../src/store/outbox-store.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase, TEST_MYSQL, type TestDatabase } from '../helpers/mariadb.js';
import {
  receiverRows,
  receiverToken,
  removeReceiver,
  startReceiver,
  type Receiver,
} from '../helpers/receiver.js';
import { THREAD_WRITER } from '../helpers/built.js';

const EVENTS = 1000;
const DAYS = 300;
const BATCH = 100;

let db: TestDatabase;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.exec(`CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100),
    account VARCHAR(20), event VARCHAR(40), weight INT, plan VARCHAR(20), created_at DATETIME)`);
  const events: string[] = [];
  for (let i = 1; i <= EVENTS; i++) {
    const at = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString().slice(0, 19);
    events.push(
      `('u${i % 37}@x.io', 'acct${i % 7}', '${i % 3 === 0 ? 'export' : 'login'}', ${(i % 5) + 1}, 'p${i % 2}', '${at.replace('T', ' ')}')`,
    );
  }
  await db.exec(
    `INSERT INTO events (email, account, event, weight, plan, created_at) VALUES ${events.join(',')}`,
  );
  await db.exec(`CREATE TABLE usage_daily (id BIGINT PRIMARY KEY AUTO_INCREMENT,
    company VARCHAR(20), metric VARCHAR(40), amount DECIMAL(10,2), day DATE)`);
  const points: string[] = [];
  for (let i = 1; i <= DAYS; i++) {
    const day = new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    points.push(`('acct${i % 7}', 'seats', ${i}.25, '${day}')`);
  }
  await db.exec(
    `INSERT INTO usage_daily (company, metric, amount, day) VALUES ${points.join(',')}`,
  );
});
afterAll(async () => {
  await db.drop();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Sender {
  dataDir: string;
  store: Store;
  outbox: OutboxStore;
  engine: Engine;
  events: Record<string, unknown>[];
  /**
   * Applies both sections with `sink`; `eventsKey` keys the events section (default `id`),
   * `eventsBatch` is its batch size (default BATCH).
   */
  apply(sink: unknown, eventsKey?: string, eventsBatch?: number): Promise<void>;
}

/** The sender's integration: the MySQL test database, delivering to `sink`. */
function shop(sink: unknown): Record<string, unknown> {
  return {
    name: 'shop',
    mysql: {
      host: TEST_MYSQL.host,
      port: TEST_MYSQL.port,
      user: TEST_MYSQL.user,
      database: db.name,
    },
    sink,
  };
}

/** The sending Sluice: its own store, an engine with an outbox, and the MySQL test database. */
async function openSender(
  env: Record<string, string> = {},
  maxWaitMs = 20_000,
  /** What the engine sees of the outbox (a test may break it). */
  wrap: (outbox: OutboxStore) => OutboxStore = (o) => o,
): Promise<Sender> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-sender-'));
  const store = await openStore({
    dataDir,
    secretKey: 'test-secret-key-0123456789',
    ...THREAD_WRITER,
  });
  const outbox = openOutboxStore(store);
  const events: Record<string, unknown>[] = [];
  const engine = new Engine({
    store,
    connect: (i) => createMysqlSource(i.mysql, TEST_MYSQL.password),
    outbox: wrap(outbox),
    env: (name) => env[name],
    retryDelayMs: 10,
    delivery: { baseDelayMs: 20, maxDelayMs: 200, maxWaitMs },
    log: (e) => events.push(e),
  });
  cleanups.push(async () => {
    await engine.close();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    store,
    outbox,
    engine,
    events,
    async apply(sink, eventsKey = 'id', eventsBatch = BATCH) {
      const parsed = parseConfig({
        integration: shop(sink),
        sections: [
          {
            name: 'events',
            dataType: 'activities',
            table: 'events',
            key: eventsKey,
            batchSize: eventsBatch,
            mapping: {
              email: 'email',
              companyExternalId: 'account',
              action: 'event',
              weight: 'weight',
              date: 'created_at',
            },
            info: ['plan'],
          },
          {
            name: 'usage',
            dataType: 'metrics',
            table: 'usage_daily',
            key: 'id',
            batchSize: BATCH,
            mapping: { externalId: 'company', dimensionId: 'metric', value: 'amount', date: 'day' },
          },
        ],
      });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      await store.applyConfig(parsed.config.integration, parsed.config.sections);
    },
  };
}

/** The receiving server of a test; `current` changes when a test restarts it. */
async function receiver(): Promise<{ current: Receiver }> {
  const holder = { current: await startReceiver() };
  cleanups.push(async () => {
    await holder.current.stop().catch(() => undefined);
    await removeReceiver(holder.current);
  });
  return holder;
}

type ActivityRow = { email: string; action: string; weight: number; date: string; info: string };
type MetricRow = { external_id: string; dimension_id: string; value: number; date: string };

async function sourceActivities(): Promise<string[]> {
  const [rows] = await db.conn.query(
    `SELECT email, event, weight, plan, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.000Z') AS date
     FROM events`,
  );
  return (rows as { email: string; event: string; weight: number; plan: string; date: string }[])
    .map((r) => `${r.email}|${r.event}|${Number(r.weight)}|${r.date}|{"plan":"${r.plan}"}`)
    .sort();
}

function landedActivities(r: Receiver): string[] {
  return receiverRows<ActivityRow>(r, 'SELECT email, action, weight, date, info FROM activities')
    .map((a) => `${a.email}|${a.action}|${a.weight}|${a.date}|${a.info}`)
    .sort();
}

function sums(r: Receiver): { count: number; weight: number; points: number; value: number } {
  const [a] = receiverRows<{ n: number; w: number }>(
    r,
    'SELECT count(*) AS n, coalesce(sum(weight), 0) AS w FROM activities',
  );
  const [m] = receiverRows<{ n: number; v: number }>(
    r,
    'SELECT count(*) AS n, coalesce(sum(value), 0) AS v FROM metric_points',
  );
  return { count: a?.n ?? 0, weight: a?.w ?? 0, points: m?.n ?? 0, value: m?.v ?? 0 };
}

const EXPECTED_WEIGHT = Array.from({ length: EVENTS }, (_, k) => ((k + 1) % 5) + 1).reduce(
  (a, b) => a + b,
  0,
);
const EXPECTED_VALUE = Array.from({ length: DAYS }, (_, k) => k + 1 + 0.25).reduce(
  (a, b) => a + b,
  0,
);

describe('Planhat sink against a second Sluice server', () => {
  it('pulls a MySQL table through the sink into the receiver: counts, sums and rows agree', async () => {
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'from-sender');
    const s = await openSender({ PLANHAT_TOKEN: secret });
    await s.apply({ type: 'planhat', planhat: { baseUrl: r.baseUrl, tokenEnv: 'PLANHAT_TOKEN' } });

    const results = await s.engine.runAll();
    expect(results.map((x) => [x.section, x.status, x.landed, x.error])).toEqual([
      ['events', 'succeeded', EVENTS, undefined],
      ['usage', 'succeeded', DAYS, undefined],
    ]);
    expect(sums(r)).toEqual({
      count: EVENTS,
      weight: EXPECTED_WEIGHT,
      points: DAYS,
      value: EXPECTED_VALUE,
    });
    expect(landedActivities(r)).toEqual(await sourceActivities());
    const metrics = receiverRows<MetricRow>(
      r,
      'SELECT external_id, dimension_id, value, date FROM metric_points ORDER BY date',
    );
    const [source] = await db.conn.query(
      'SELECT company, metric, amount, day FROM usage_daily ORDER BY day',
    );
    expect(
      metrics.map((m) => [m.external_id, m.dimension_id, m.value, m.date.slice(0, 10)]),
    ).toEqual(
      (source as { company: string; metric: string; amount: string; day: string }[]).map((p) => [
        p.company,
        p.metric,
        Number(p.amount),
        p.day,
      ]),
    );
    // A sink of type planhat lands nothing in the sender's own store; the outbox is all delivered.
    const [events, usage] = await s.store.listSections('shop');
    expect(await s.outbox.pending(events?.id ?? -1, 10)).toEqual([]);
    expect(await s.outbox.pending(usage?.id ?? -1, 10)).toEqual([]);
    const deliveries = s.events.filter((e) => e.event === 'sink_delivery');
    expect(deliveries).toHaveLength(EVENTS / BATCH + DAYS / BATCH);
    expect(deliveries.every((e) => e.status === 'delivered' && e.attempt === 1)).toBe(true);
    // Logs name the endpoint, never the token.
    expect(JSON.stringify(s.events)).not.toContain(secret);
    expect(deliveries[0]?.target).toBe(`${r.baseUrl}/analytics/bulk/***`);
  });

  it('encodes a batch for the outbox part by part, as MySQL sends it, into one body handed over as it fills', async () => {
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'parts');
    const s = await openSender();
    await s.apply(
      { type: 'planhat', planhat: { baseUrl: r.baseUrl, token: secret } },
      'id',
      EVENTS,
    );
    const parts: number[] = [];
    const ahead: number[] = [];
    const encoder = PlanhatSink.prototype.encoder;
    const spy = vi.spyOn(PlanhatSink.prototype, 'encoder').mockImplementation(function (
      this: PlanhatSink,
      kind,
    ) {
      const real = encoder.call(this, kind);
      return {
        add: (records) => {
          parts.push(records.length);
          real.add(records);
        },
        // Whatever is done with goes ahead of the commit here, however little (the engine waits
        // for 256 KiB, more than this table's body).
        take: () => {
          const taken = real.take(1);
          for (const { chunks } of taken) ahead.push(chunks.length);
          return taken;
        },
        finish: () => real.finish(),
      };
    });
    cleanups.push(() => Promise.resolve(spy.mockRestore()));
    const [result] = await s.engine.runAll({ section: 'events' });
    expect(result).toMatchObject({ status: 'succeeded', landed: EVENTS, rowsRead: EVENTS });
    // The whole table is one batch of 1,000 rows, read and encoded 256 rows at a time; the body's
    // first 64 KiB went to the store ahead of the commit, the rest with it.
    expect(parts).toEqual([256, 256, 256, 232]);
    expect(ahead.length).toBeGreaterThan(0);
    expect(s.events.filter((e) => e.event === 'sink_delivery')).toHaveLength(1);
    expect(landedActivities(r)).toEqual(await sourceActivities());
  });

  it("sends each row of a key with ties once: rows of a batch's last key are not sent again with their group", async () => {
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'from-sender');
    const s = await openSender({ PLANHAT_TOKEN: secret });
    // `plan` takes two values: every batch of 100 ends inside a group of 500, paged by id.
    await s.apply(
      { type: 'planhat', planhat: { baseUrl: r.baseUrl, tokenEnv: 'PLANHAT_TOKEN' } },
      'plan',
    );
    const [events] = await s.engine.runAll({ section: 'events' });
    expect(events).toMatchObject({ status: 'succeeded', landed: EVENTS, cursor: 'p1' });
    expect(sums(r)).toMatchObject({ count: EVENTS, weight: EXPECTED_WEIGHT });
    expect(landedActivities(r)).toEqual(await sourceActivities());
  });

  it('sends a table without a primary key, identical rows and ties across batches, each row once', async () => {
    // 301 rows under 43 keys of 7, one row in three doubled (same content): groups and
    // identical rows cross every batch of 10 and the parts of 256 the batches stream in.
    await db.exec(`CREATE TABLE plain (seq INT NOT NULL, email VARCHAR(40), event VARCHAR(20),
      weight INT, KEY (seq))`);
    cleanups.push(() => db.exec('DROP TABLE plain'));
    const rows: string[] = [];
    for (let i = 0; i < 301; i++) {
      const row = `(${Math.floor(i / 7)}, 'u${i % 4}@x.io', 'e${i % 3}', ${i % 2})`;
      rows.push(row);
      if (i % 3 === 0) rows.push(row);
    }
    await db.exec(`INSERT INTO plain VALUES ${rows.join(',')}`);
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'plain');
    const s = await openSender();
    const parsed = parseConfig({
      integration: shop({ type: 'planhat', planhat: { baseUrl: r.baseUrl, token: secret } }),
      sections: [
        ['small', 10],
        ['large', 1000],
      ].map(([name, batchSize]) => ({
        name,
        dataType: 'activities',
        table: 'plain',
        key: 'seq',
        batchSize,
        mapping: { email: 'email', action: 'event', weight: 'weight' },
      })),
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    await s.store.applyConfig(parsed.config.integration, parsed.config.sections);
    const [source] = await db.conn.query(
      'SELECT email, event, weight FROM plain ORDER BY email, event, weight',
    );
    const expected = (source as { email: string; event: string; weight: number }[]).map(
      (x) => `${x.email}|${x.event}|${x.weight}`,
    );
    for (const name of ['small', 'large']) {
      const [result] = await s.engine.runAll({ section: name });
      expect(result).toMatchObject({ status: 'succeeded', rowsRead: expected.length });
      const sent = receiverRows<{ email: string; action: string; weight: number }>(
        r,
        'SELECT email, action, weight FROM activities ORDER BY email, action, weight',
      ).map((x) => `${x.email}|${x.action}|${x.weight}`);
      expect(sent).toEqual(expected);
      // The next section sends the same table again: start the count over.
      const wipe = new Database(join(r.dataDir, 'sluice.db'));
      wipe.exec('DELETE FROM activities');
      wipe.close();
    }
  });

  it('with sink both, lands in the store and delivers in the same run', async () => {
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'both');
    const s = await openSender();
    await s.apply({ type: 'both', planhat: { baseUrl: r.baseUrl, token: secret } });
    const results = await s.engine.runAll({ section: 'events' });
    expect(results[0]?.status).toBe('succeeded');
    expect(results[0]?.landed).toBe(EVENTS);
    expect(sums(r).count).toBe(EVENTS);
    const stats = await s.store.stats();
    expect(stats.find((x) => x.name === 'events')?.landed).toBe(EVENTS);
  });

  it('survives the receiver stopping mid-sync and starting again: nothing missing, at most one batch resent', async () => {
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'restart');
    const s = await openSender({ PLANHAT_TOKEN: secret });
    await s.apply({ type: 'planhat', planhat: { baseUrl: r.baseUrl, tokenEnv: 'PLANHAT_TOKEN' } });
    const { dataDir, port } = r;
    let restarted: Promise<void> | undefined;
    let delivered = 0;
    const log = s.events.push.bind(s.events);
    s.events.push = (...items) => {
      for (const e of items) {
        if (e.event === 'sink_delivery' && e.status === 'delivered' && ++delivered === 3) {
          restarted = (async () => {
            await r.stop();
            await new Promise((ok) => setTimeout(ok, 400));
            rx.current = await startReceiver(dataDir, port);
          })();
        }
      }
      return log(...items);
    };
    const [result] = await s.engine.runAll({ section: 'events' });
    await restarted;
    expect(result?.status, result?.error).toBe('succeeded');
    expect(s.events.some((e) => e.event === 'sink_delivery' && e.status === 'retry')).toBe(true);
    const landed = landedActivities(rx.current);
    const distinct = [...new Set(landed)];
    expect(distinct).toEqual(await sourceActivities());
    expect(landed.length - EVENTS).toBeGreaterThanOrEqual(0);
    expect(landed.length - EVENTS).toBeLessThanOrEqual(BATCH);
  });

  it('after a crash between a send and its removal from the outbox, resends that one batch and skips none', async () => {
    const { current: r } = await receiver();
    const { secret } = await receiverToken(r, 'crash');
    // The process "dies" once the endpoint has accepted the last batch of the first run, before
    // that entry leaves the outbox: the run fails there, the entry stays.
    let accepted = 0;
    const s = await openSender({}, 20_000, (outbox) => ({
      ...outbox,
      delivered: (id) => {
        if (++accepted === EVENTS / BATCH) return Promise.reject(new Error('process killed'));
        return outbox.delivered(id);
      },
    }));
    await s.apply({ type: 'planhat', planhat: { baseUrl: r.baseUrl, token: secret } });
    const [first] = await s.engine.runAll({ section: 'events' });
    expect(first).toMatchObject({ status: 'failed', error: 'process killed', landed: EVENTS });
    const [section] = await s.store.listSections('shop');
    expect(await s.outbox.pending(section?.id ?? -1, 10)).toHaveLength(1);
    await db.exec(
      `INSERT INTO events (email, account, event, weight, plan, created_at)
       VALUES ('late@x.io', 'acct1', 'login', 2, 'p0', '2025-01-01 00:00:00')`,
    );
    cleanups.push(() => db.exec("DELETE FROM events WHERE email = 'late@x.io'"));
    const [second] = await s.engine.runAll({ section: 'events' });
    expect(second?.status, second?.error).toBe('succeeded');
    expect(second?.landed).toBe(1);
    const landed = landedActivities(r);
    // Every row once, the last batch of the first run twice, the new row once.
    expect(landed.length).toBe(EVENTS + BATCH + 1);
    expect([...new Set(landed)]).toEqual(await sourceActivities());
    // Delivered entries leave the outbox: nothing is kept of them.
    const raw = new Database(join(s.dataDir, 'sluice.db'), { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    expect(raw.prepare('SELECT count(*) AS n FROM outbox_chunks').get()).toEqual({ n: 0 });
    raw.close();
  });

  it('backs off on 429 (honouring Retry-After) and 503 from a proxy, then finishes', async () => {
    const rx = await receiver();
    const r = rx.current;
    const { secret } = await receiverToken(r, 'busy');
    let requests = 0;
    const proxy: Server = createServer((req, res) => {
      requests++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (requests <= 2) {
          res.writeHead(429, { 'retry-after': '1' }).end('slow down');
          return;
        }
        if (requests <= 4) {
          res.writeHead(503).end('busy');
          return;
        }
        fetch(`${r.baseUrl}${req.url ?? '/'}`, {
          method: req.method ?? 'POST',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: Buffer.concat(chunks),
        })
          .then(async (answer) => res.writeHead(answer.status).end(await answer.text()))
          .catch((err: Error) => res.writeHead(502).end(err.message));
      });
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    cleanups.push(() => new Promise((ok) => proxy.close(() => ok())));
    const address = proxy.address();
    const proxyPort = typeof address === 'object' && address !== null ? address.port : 0;

    const s = await openSender();
    await s.apply({
      type: 'planhat',
      planhat: { baseUrl: `http://127.0.0.1:${proxyPort}`, token: secret },
    });
    const started = Date.now();
    const [result] = await s.engine.runAll({ section: 'usage' });
    expect(result?.status, result?.error).toBe('succeeded');
    const retries = s.events.filter((e) => e.event === 'sink_delivery' && e.status === 'retry');
    expect(retries.map((e) => e.httpStatus)).toEqual([429, 429, 503, 503]);
    expect(retries.slice(0, 2).every((e) => Number(e.retryInMs) >= 1000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(sums(r)).toMatchObject({ points: DAYS, value: EXPECTED_VALUE });
  });

  it('fails the run with SINK_UNAVAILABLE when the endpoint stays unreachable past the max wait, keeping the outbox', async () => {
    const { current: r } = await receiver();
    const { secret } = await receiverToken(r, 'gone');
    const { port } = r;
    await r.stop();
    const s = await openSender({}, 500);
    await s.apply({
      type: 'planhat',
      planhat: { baseUrl: `http://127.0.0.1:${port}`, token: secret },
    });
    const started = Date.now();
    const [result] = await s.engine.runAll({ section: 'usage' });
    expect(result?.status).toBe('failed');
    expect(result?.errorCode).toBe('SINK_UNAVAILABLE');
    expect(result?.error).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(5000);
    // Batches go on committing to the outbox while one is delivered, at most two ahead of it:
    // every batch the cursor passed waits there.
    const batches = Number(result?.cursor) / BATCH;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(3);
    const [, usage] = await s.store.listSections('shop');
    expect(await s.outbox.pending(usage?.id ?? -1, 10)).toHaveLength(batches);
    const attempts = s.events.filter((e) => e.event === 'sink_delivery');
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.every((e) => e.status === 'retry' && e.section === 'usage')).toBe(true);
  });

  it('stops the section on a revoked token (401) with SINK_REJECTED, keeps the outbox, and delivers it on a later run', async () => {
    const rx = await receiver();
    const r = rx.current;
    const revoked = await receiverToken(r, 'revoked');
    await openTokenStore(r.store).revokeToken(revoked.id);
    const s = await openSender();
    await s.apply({ type: 'planhat', planhat: { baseUrl: r.baseUrl, token: revoked.secret } });

    const [failed] = await s.engine.runAll({ section: 'events' });
    expect(failed?.status).toBe('failed');
    expect(failed?.errorCode).toBe('SINK_REJECTED');
    expect(failed?.error).toContain('HTTP 401');
    expect(failed?.error).not.toContain(revoked.secret);
    // The batches committed to the outbox with their cursor (at most two after the one refused)
    // stay there; only the first was tried.
    const batches = Number(failed?.cursor) / BATCH;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(3);
    const [section] = await s.store.listSections('shop');
    const kept = await s.outbox.pending(section?.id ?? -1, 100);
    expect(kept).toHaveLength(batches);
    expect(kept.map((e) => e.attempts)).toEqual([1, ...kept.slice(1).map(() => 0)]);
    expect(kept[0]?.lastError).toContain('401');
    expect(sums(r).count).toBe(0);

    const fresh = await receiverToken(r, 'fresh');
    await s.apply({ type: 'planhat', planhat: { baseUrl: r.baseUrl, token: fresh.secret } });
    const [ok] = await s.engine.runAll({ section: 'events' });
    expect(ok?.status, ok?.error).toBe('succeeded');
    expect(landedActivities(r)).toEqual(await sourceActivities());
    expect(await s.outbox.pending(section?.id ?? -1, 100)).toEqual([]);
  });
});
