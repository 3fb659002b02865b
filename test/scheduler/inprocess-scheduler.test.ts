import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createInProcessScheduler,
  type InProcessScheduler,
  type InProcessSchedulerOptions,
} from '../../src/scheduler/inprocess-scheduler.js';
import type { SectionSchedule } from '../../src/scheduler/scheduler.js';
import { openScheduleStore } from '../../src/store/open-store.js';
import type { ScheduleStore } from '../../src/store/schedule-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createHarness, testConfig, type Harness } from '../helpers/sluice.js';
import { Clock, gatedEngine, gatedReadsEngine, until } from './helpers.js';

let db: TestDatabase;
let h: Harness;
let scheduleStore: ScheduleStore;
const started: InProcessScheduler[] = [];

beforeAll(async () => {
  db = await createTestDatabase('sluice_sched');
  await db.exec(
    `CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100), action VARCHAR(50))`,
  );
  await db.exec(
    `INSERT INTO events (email, action) VALUES ${Array.from({ length: 10 }, (_, i) => `('u${i}@x.io', 'login')`).join(', ')}`,
  );
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createHarness(db);
  scheduleStore = openScheduleStore(h.store);
});
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
  await h.close();
});

const section = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  dataType: 'activities',
  table: 'events',
  key: 'id',
  batchSize: 5,
  schedule: 'every 5m',
  mapping: { email: 'email', action: 'action' },
  ...extra,
});

function scheduler(
  clock: Clock | undefined,
  options: Partial<InProcessSchedulerOptions> = {},
): InProcessScheduler {
  const s = createInProcessScheduler({
    store: h.store,
    scheduleStore,
    engine: h.engine,
    ...(clock ? { now: clock.now, timers: false } : {}),
    ...options,
  });
  started.push(s);
  return s;
}

async function sectionId(name: string): Promise<number> {
  const found = (await h.store.listSections()).find((s) => s.name === name);
  if (!found) throw new Error(`no section ${name}`);
  return found.id;
}

async function runs(name: string) {
  return h.store.listRuns({ sectionId: await sectionId(name), limit: 1000 });
}

async function statusOf(s: InProcessScheduler, name: string): Promise<SectionSchedule> {
  const id = await sectionId(name);
  const found = s.status().find((x) => x.sectionId === id);
  if (!found) throw new Error(`scheduler does not know section ${name}`);
  return found;
}

/** Applies `sections` to the test integration with the toggle set to `enabled`. */
async function applyWithToggle(enabled: boolean, sections: Record<string, unknown>[]) {
  const config = testConfig(db, sections);
  config.integration.enabled = enabled;
  await h.store.applyConfig(config.integration, config.sections);
}

/** One tick at `iso` and wait for the runs it started (and their alerts). */
async function tickAt(s: InProcessScheduler, clock: Clock, iso: string) {
  clock.set(iso);
  await s.tick();
  await s.idle();
}

describe('in-process scheduler: when sections run', () => {
  it('runs each receiving section of an enabled integration at its interval, aligned to the clock', async () => {
    await h.apply([
      section('fast'),
      section('hourly', { schedule: 'every 1h' }),
      section('silent', { direction: 'off' }),
    ]);
    const other = testConfig(db, [section('elsewhere')]);
    await h.store.applyConfig({ ...other.integration, name: 'switched-off', enabled: false }, [
      ...other.sections,
    ]);
    const clock = new Clock('2024-05-01T10:02:30Z');
    const s = scheduler(clock);
    await s.start();
    await s.idle();
    // First sight of a section that is on: it runs at once, then on its schedule.
    expect((await runs('fast')).length).toBe(1);
    expect((await runs('hourly')).length).toBe(1);
    expect(await statusOf(s, 'fast')).toMatchObject({
      state: 'active',
      nextRunAt: '2024-05-01T10:05:00.000Z',
      lastRunAt: '2024-05-01T10:02:30.000Z',
      failures: 0,
      lastError: null,
    });
    expect((await statusOf(s, 'hourly')).nextRunAt).toBe('2024-05-01T11:00:00.000Z');
    expect(await statusOf(s, 'silent')).toMatchObject({ state: 'off', nextRunAt: null });
    expect(await statusOf(s, 'elsewhere')).toMatchObject({ state: 'off', nextRunAt: null });

    await tickAt(s, clock, '2024-05-01T10:04:59.999Z');
    expect((await runs('fast')).length).toBe(1);
    await tickAt(s, clock, '2024-05-01T10:05:00Z');
    expect((await runs('fast')).length).toBe(2);
    expect((await runs('hourly')).length).toBe(1);
    expect((await runs('fast'))[0]?.trigger).toBe('schedule');

    // Asleep past five ticks (10:10 ... 10:30): one run, then back on the grid.
    await tickAt(s, clock, '2024-05-01T10:37:00Z');
    expect((await runs('fast')).length).toBe(3);
    expect((await statusOf(s, 'fast')).nextRunAt).toBe('2024-05-01T10:40:00.000Z');

    await tickAt(s, clock, '2024-05-01T11:00:00Z');
    expect((await runs('fast')).length).toBe(4);
    expect((await runs('hourly')).length).toBe(2);
    expect((await runs('silent')).length).toBe(0);
    expect((await runs('elsewhere')).length).toBe(0);
  });

  it('runs daily sections at the hour in the configured time zone', async () => {
    await h.apply([section('nightly', { schedule: 'daily at 02:00' })]);
    // 01:30 in Berlin (CEST, UTC+2).
    const clock = new Clock('2024-05-01T23:30:00Z');
    const s = scheduler(clock, { timeZone: 'Europe/Berlin' });
    await s.start();
    await s.idle();
    expect((await statusOf(s, 'nightly')).nextRunAt).toBe('2024-05-02T00:00:00.000Z');
    await tickAt(s, clock, '2024-05-01T23:59:59Z');
    expect((await runs('nightly')).length).toBe(1);
    await tickAt(s, clock, '2024-05-02T00:00:00Z');
    expect((await runs('nightly')).length).toBe(2);
    expect((await statusOf(s, 'nightly')).nextRunAt).toBe('2024-05-03T00:00:00.000Z');
  });

  it('refuses a time zone that is not an IANA name', () => {
    expect(() => scheduler(undefined, { timeZone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('moves a section to its new schedule when the schedule changes', async () => {
    await h.apply([section('fast')]);
    const clock = new Clock('2024-05-01T10:02:30Z');
    const s = scheduler(clock);
    await s.start();
    await s.idle();
    await h.apply([section('fast', { schedule: 'every 30m' })]);
    await s.refresh();
    expect((await statusOf(s, 'fast')).nextRunAt).toBe('2024-05-01T10:30:00.000Z');
    await tickAt(s, clock, '2024-05-01T10:05:00Z');
    expect((await runs('fast')).length).toBe(1);
  });
});

describe('in-process scheduler: one run at a time', () => {
  it('delays a tick that comes while the section runs, and runs once right after', async () => {
    await h.apply([section('fast')]);
    const gate = gatedEngine(h.engine);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock, { engine: gate.runner });
    await s.start();
    await until('the first run to start', () => gate.waiting() === 1);
    expect((await statusOf(s, 'fast')).state).toBe('running');

    // Two ticks (10:05, 10:10) pass and a manual run is asked for while it runs.
    clock.set('2024-05-01T10:12:00Z');
    await s.tick();
    await s.trigger(await sectionId('fast'), 'manual');
    expect(gate.stats.calls).toBe(1);

    gate.release();
    await until('the run right after to start', () => gate.waiting() === 1);
    gate.release();
    await s.idle();
    expect(gate.stats).toMatchObject({ calls: 2, maxActive: 1 });
    expect((await runs('fast')).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect((await statusOf(s, 'fast')).nextRunAt).toBe('2024-05-01T10:15:00.000Z');
    await tickAt(s, clock, '2024-05-01T10:14:00Z');
    expect(gate.stats.calls).toBe(2);
  });

  it('turning the integration off stops new runs and lets the running batch land', async () => {
    const sections = [section('slow', { batchSize: 2, schedule: 'every 5m' })];
    await h.apply(sections);
    const gated = gatedReadsEngine(h.store, db);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock, { engine: gated.engine });
    try {
      await s.start();
      const id = await sectionId('slow');
      await until(
        'the first batch to land',
        async () => (await h.store.getSection(id))?.cursor === '2',
      );
      await until('the next read to wait', () => gated.waiting() === 1);

      await applyWithToggle(false, sections);
      await s.refresh();
      expect((await statusOf(s, 'slow')).state).toBe('running');
      gated.open();
      await s.idle();

      const [run] = await runs('slow');
      // Stopped after the batch in flight: cursor at a batch boundary, short of the 10 rows.
      expect(run?.status).toBe('succeeded');
      expect(['2', '4']).toContain(run?.cursor);
      expect(run?.landed).toBe(Number(run?.cursor));
      expect(await statusOf(s, 'slow')).toMatchObject({ state: 'off', nextRunAt: null });
      expect((await scheduleStore.list())[0]?.nextRunAt).toBeNull();

      await tickAt(s, clock, '2024-05-01T11:00:00Z');
      expect((await runs('slow')).length).toBe(1);

      // Back on: the schedule resumes at its next tick.
      await applyWithToggle(true, sections);
      await s.refresh();
      expect(await statusOf(s, 'slow')).toMatchObject({
        state: 'active',
        nextRunAt: '2024-05-01T11:05:00.000Z',
      });
      await tickAt(s, clock, '2024-05-01T11:05:00Z');
      expect((await runs('slow')).length).toBe(2);
      expect((await h.store.getSection(id))?.cursor).toBe('10');
    } finally {
      await s.stop();
      await gated.engine.close();
    }
  });
});

describe('in-process scheduler: failures', () => {
  it('backs off a section whose runs keep failing and shows it, then recovers', async () => {
    await db.exec(
      'CREATE TABLE flaky (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))',
    );
    await db.exec("INSERT INTO flaky VALUES (1, 'a@x.io', 'login')");
    await h.apply([section('flaky', { table: 'flaky' })]);
    await db.exec('DROP TABLE flaky');
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock);
    await s.start();
    await s.idle();
    expect(await statusOf(s, 'flaky')).toMatchObject({
      state: 'backoff',
      failures: 1,
      nextRunAt: '2024-05-01T10:01:00.000Z',
      lastError: expect.stringContaining('flaky'),
    });
    await tickAt(s, clock, '2024-05-01T10:01:00Z');
    expect(await statusOf(s, 'flaky')).toMatchObject({
      failures: 2,
      nextRunAt: '2024-05-01T10:03:00.000Z',
    });
    await tickAt(s, clock, '2024-05-01T10:03:00Z');
    expect(await statusOf(s, 'flaky')).toMatchObject({
      state: 'backoff',
      failures: 3,
      nextRunAt: '2024-05-01T10:07:00.000Z',
    });
    // The schedule's own tick does not cut the backoff short.
    await tickAt(s, clock, '2024-05-01T10:05:00Z');
    expect((await runs('flaky')).length).toBe(3);
    expect((await scheduleStore.list())[0]).toMatchObject({
      failures: 3,
      failingSince: '2024-05-01T10:00:00.000Z',
      nextRunAt: '2024-05-01T10:07:00.000Z',
    });

    await db.exec(
      'CREATE TABLE flaky (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))',
    );
    await tickAt(s, clock, '2024-05-01T10:07:00Z');
    expect(await statusOf(s, 'flaky')).toMatchObject({
      state: 'active',
      failures: 0,
      lastError: null,
      nextRunAt: '2024-05-01T10:10:00.000Z',
    });
    expect((await runs('flaky')).map((r) => r.status)).toEqual([
      'succeeded',
      'failed',
      'failed',
      'failed',
    ]);
    await db.exec('DROP TABLE flaky');
  });
});

describe('in-process scheduler: restarts', () => {
  it('picks up the persisted schedule: a missed tick runs once, the others wait', async () => {
    await h.apply([section('fast'), section('hourly', { schedule: 'every 1h' })]);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const first = scheduler(clock);
    await first.start();
    await first.idle();
    await first.stop();
    expect((await runs('fast')).length).toBe(1);
    expect((await runs('hourly')).length).toBe(1);

    // Down from 10:00 to 10:17: fast missed 10:05, 10:10 and 10:15; hourly missed nothing.
    await h.restart();
    clock.set('2024-05-01T10:17:00Z');
    const second = scheduler(clock);
    await second.start();
    await second.idle();
    expect((await runs('fast')).length).toBe(2);
    expect((await runs('hourly')).length).toBe(1);
    expect((await statusOf(second, 'fast')).nextRunAt).toBe('2024-05-01T10:20:00.000Z');
    expect((await statusOf(second, 'hourly')).nextRunAt).toBe('2024-05-01T11:00:00.000Z');

    // A restart between ticks runs nothing.
    await second.stop();
    await h.restart();
    clock.set('2024-05-01T10:18:00Z');
    const third = scheduler(clock);
    await third.start();
    await third.idle();
    expect((await runs('fast')).length).toBe(2);
    expect((await runs('hourly')).length).toBe(1);
  });

  it('keeps a backoff across a restart', async () => {
    await db.exec('CREATE TABLE gone (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))');
    await h.apply([section('gone', { table: 'gone' })]);
    await db.exec('DROP TABLE gone');
    const clock = new Clock('2024-05-01T10:00:00Z');
    const first = scheduler(clock);
    await first.start();
    await first.idle();
    await tickAt(first, clock, '2024-05-01T10:01:00Z');
    await first.stop();

    await h.restart();
    clock.set('2024-05-01T10:02:00Z');
    const second = scheduler(clock);
    await second.start();
    await second.idle();
    expect(await statusOf(second, 'gone')).toMatchObject({
      state: 'backoff',
      failures: 2,
      nextRunAt: '2024-05-01T10:03:00.000Z',
      lastError: expect.stringContaining('gone'),
    });
    expect((await runs('gone')).length).toBe(2);
  });

  it('stop() lets the running batch land and waits; the next start finishes the cut-short run', async () => {
    await h.apply([section('slow', { batchSize: 2, schedule: 'every 1h' })]);
    const gated = gatedReadsEngine(h.store, db);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const first = scheduler(clock, { engine: gated.engine });
    const id = await sectionId('slow');
    try {
      await first.start();
      await until(
        'the first batch to land',
        async () => (await h.store.getSection(id))?.cursor === '2',
      );
      await until('the next read to wait', () => gated.waiting() === 1);
      let stopped = false;
      const stopping = first.stop().then(() => (stopped = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(stopped).toBe(false);
      gated.open();
      await stopping;
      const [run] = await runs('slow');
      expect(run?.status).toBe('succeeded');
      expect(run?.finishedAt).not.toBeNull();
      expect(['2', '4']).toContain(run?.cursor);
      // Its due time stays: the run did not catch up.
      expect((await scheduleStore.list())[0]?.nextRunAt).toBe('2024-05-01T10:00:00.000Z');
      await expect(first.trigger(id, 'manual')).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    } finally {
      await gated.engine.close();
    }

    await h.restart();
    clock.set('2024-05-01T10:10:00Z');
    const second = scheduler(clock);
    await second.start();
    await second.idle();
    expect((await runs('slow')).length).toBe(2);
    expect((await h.store.getSection(id))?.cursor).toBe('10');
    expect((await statusOf(second, 'slow')).nextRunAt).toBe('2024-05-01T11:00:00.000Z');
  });
});

describe('in-process scheduler: manual runs', () => {
  it('trigger() runs a section now, and refuses unknown and switched-off sections', async () => {
    await h.apply([
      section('fast', { schedule: 'every 1h' }),
      section('silent', { direction: 'off' }),
    ]);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock);
    await s.start();
    await s.idle();
    clock.set('2024-05-01T10:20:00Z');
    await s.trigger(await sectionId('fast'), 'manual');
    await s.idle();
    const [latest] = await runs('fast');
    expect(latest?.trigger).toBe('manual');
    expect((await runs('fast')).length).toBe(2);
    expect((await statusOf(s, 'fast')).nextRunAt).toBe('2024-05-01T11:00:00.000Z');

    await expect(s.trigger(999_999, 'manual')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.trigger(await sectionId('silent'), 'manual')).rejects.toMatchObject({
      code: 'SECTION_OFF',
      message: 'section "silent" cannot run: its direction is off (not syncing)',
    });

    // A section saved after start is found without an explicit refresh.
    await h.apply([
      section('fast', { schedule: 'every 1h' }),
      section('silent', { direction: 'off' }),
      section('added', { schedule: 'every 1h' }),
    ]);
    await s.trigger(await sectionId('added'), 'manual');
    await s.idle();
    expect((await runs('added')).map((r) => r.trigger)).toEqual(['manual']);
  });
});

describe('in-process scheduler: manual runs while running', () => {
  it('runs once right after the run going on, however often it was asked', async () => {
    await h.apply([section('fast', { schedule: 'every 1h' })]);
    const gate = gatedEngine(h.engine);
    const clock = new Clock('2024-05-01T10:00:00Z');
    const s = scheduler(clock, { engine: gate.runner });
    await s.start();
    await until('the first run to start', () => gate.waiting() === 1);
    clock.set('2024-05-01T10:10:00Z');
    const id = await sectionId('fast');
    await s.trigger(id, 'manual');
    await s.trigger(id, 'manual');
    expect(gate.stats.calls).toBe(1);
    gate.release();
    await until('the manual run to start', () => gate.waiting() === 1);
    gate.release();
    await s.idle();
    expect(gate.stats).toMatchObject({ calls: 2, maxActive: 1 });
    expect((await runs('fast')).map((r) => r.trigger)).toEqual(['manual', 'schedule']);
  });
});

describe('in-process scheduler: real timers', () => {
  it('wakes up by itself at the next tick', async () => {
    await h.apply([section('fast')]);
    // A clock 300 ms before 10:05: the timer, not the test, starts the second run.
    const offset = Date.parse('2024-05-01T10:04:59.700Z') - Date.now();
    const s = scheduler(undefined, { now: () => new Date(Date.now() + offset) });
    await s.start();
    await until('two runs', async () => (await runs('fast')).length === 2, 5_000);
    await s.idle();
    expect((await statusOf(s, 'fast')).nextRunAt).toBe('2024-05-01T10:10:00.000Z');
  });

  it('retries a failing section after a backoff that doubles', async () => {
    await db.exec(
      'CREATE TABLE broken (id INT PRIMARY KEY, email VARCHAR(100), action VARCHAR(50))',
    );
    await h.apply([section('broken', { table: 'broken' })]);
    await db.exec('DROP TABLE broken');
    const s = scheduler(undefined, { backoffBaseMs: 40 });
    const t0 = Date.now();
    await s.start();
    await until('three failed runs', async () => (await runs('broken')).length >= 3, 5_000);
    // 40 ms, then 80 ms between attempts: at least 120 ms for three.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    await s.stop();
    expect((await statusOf(s, 'broken')).failures).toBeGreaterThanOrEqual(3);
  });
});
