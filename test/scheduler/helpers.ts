/**
 * Test helpers of the scheduler suites: a settable clock, and wrappers that hold the REAL engine
 * or the REAL MySQL source at a gate so a test can act while a run is going on.
 */
import { Engine, type RunOptions, type SectionResult } from '../../src/engine/engine.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import type { Source } from '../../src/source/source.js';
import type { Store, StoredSection } from '../../src/store/store.js';
import { TEST_MYSQL, type TestDatabase } from '../helpers/mariadb.js';

/** A clock the test moves by hand. */
export class Clock {
  #t: number;
  constructor(iso: string) {
    this.#t = Date.parse(iso);
  }
  readonly now = (): Date => new Date(this.#t);
  set(iso: string): void {
    this.#t = Date.parse(iso);
  }
}

export { until } from '../helpers/until.js';

/**
 * The real engine behind a gate: each runSection call waits until the test releases it, and the
 * wrapper counts calls and how many ran at once.
 */
export function gatedEngine(engine: Engine) {
  const waiting: (() => void)[] = [];
  const stats = { calls: 0, active: 0, maxActive: 0 };
  return {
    stats,
    waiting: () => waiting.length,
    release: () => waiting.shift()?.(),
    runner: {
      async runSection(section: StoredSection, options?: RunOptions): Promise<SectionResult> {
        stats.calls++;
        stats.active++;
        stats.maxActive = Math.max(stats.maxActive, stats.active);
        try {
          await new Promise<void>((resolve) => waiting.push(resolve));
          return await engine.runSection(section, options);
        } finally {
          stats.active--;
        }
      },
    },
  };
}

/**
 * A real engine whose MySQL reads after the first `free` ones wait until `open()`: the run lands
 * its first batch and then sits reading the next, as a long run does.
 */
export function gatedReadsEngine(store: Store, db: TestDatabase, free = 1) {
  let reads = 0;
  let opened = false;
  const waiting: (() => void)[] = [];
  const connect = async (): Promise<Source> => {
    const real = await createMysqlSource({ ...TEST_MYSQL, database: db.name }, TEST_MYSQL.password);
    return {
      server: real.server,
      listTables: () => real.listTables(),
      describeTable: (t) => real.describeTable(t),
      async readAfter(plan, after, limit) {
        reads++;
        if (reads > free && !opened) await new Promise<void>((r) => waiting.push(r));
        return real.readAfter(plan, after, limit);
      },
      async streamAfter(plan, after, limit, partRows, onRows) {
        reads++;
        if (reads > free && !opened) await new Promise<void>((r) => waiting.push(r));
        return real.streamAfter(plan, after, limit, partRows, onRows);
      },
      readTies: (plan, key, page) => real.readTies(plan, key, page),
      maxKey: (plan) => real.maxKey(plan),
      minKey: (plan, after) => real.minKey(plan, after),
      query: (q, o) => real.query(q, o),
      close: () => real.close(),
    };
  };
  return {
    engine: new Engine({ store, connect, retryDelayMs: 10, readAttempts: 2 }),
    /** Reads waiting at the gate. */
    waiting: () => waiting.length,
    open(): void {
      opened = true;
      for (const release of waiting.splice(0)) release();
    },
  };
}
