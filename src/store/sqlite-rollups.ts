/**
 * The activity rollups that the data module reads (tables of migration `0002_server`): activities
 * newly landed are aggregated in Maps here, then each distinct key is upserted once when the
 * section's pending aggregates fold (the upserts themselves are SqliteBatchWriter's). The landed
 * tables themselves keep no secondary index (each one costs a random B-tree insert per row);
 * these tables grow with distinct (action, day) and (action, enduser) instead of with rows.
 * (metric_daily is not counted here: SqliteBatchWriter adds each batch's points into it with one
 * SQL statement, in the batch's transaction.)
 *
 * This is the hot path: the Maps are nested by key part so a row allocates no key string, and
 * the (action, enduser) pairs already in the store are remembered after their batch commits, so
 * a later batch writes only the pairs it sees first.
 */
import type { ActionIdents, ActivityDailyParams } from './sqlite-batch-writer.js';

interface DayCount {
  count: number;
  weight: number;
  first: string;
  last: string;
}
/** One action's days, and the day its last activity fell on (rows mostly come in date order). */
export interface ActionDays {
  readonly name: string;
  /** A bit of its own for the first 31 actions of a batch (endusers note theirs in a mask), else 0. */
  readonly bit: number;
  days: Map<string, DayCount>;
  /** `YYYY-MM-DD` of `day`, or '' before the first. */
  dayKey: string;
  day: DayCount | undefined;
}
/** Endusers by external id (`x:` idents) and, for those without one, by email (`e:`). */
interface Idents {
  x: Set<string>;
  e: Set<string>;
}

/**
 * Most (action, enduser) pairs remembered per store; past it the memory starts over. A pair held
 * costs about 100 bytes with its share of the ident strings and Set tables, and what a thread
 * holds sets how far V8 lets its old generation grow: at 500,000 a sync of 3 million rows by
 * 300,000 endusers peaked at 441 MiB, at 100,000 at 386, no slower (a pair not remembered is one
 * B-tree seek that changes nothing).
 */
const MAX_KNOWN_PAIRS = 100_000;

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

// A module-level factory: an arrow written at the call would be allocated once per call.
const newIdents = (): Idents => ({ x: new Set(), e: new Set() });

/** One fold's aggregates; {@link rows} hands them to the writer. */
export class RollupBatch {
  readonly #sectionId: number;
  /** Days of an action held (what the fold will upsert). */
  entries = 0;
  /** action -> day -> count. */
  readonly #actionDays = new Map<string, ActionDays>();
  /** action -> endusers first seen with it in this batch (not yet known to be stored). */
  readonly #pairs = new Map<string, Idents>();
  readonly #known: Map<string, Idents>;

  constructor(sectionId: number, known: Map<string, Idents>) {
    this.#sectionId = sectionId;
    this.#known = known;
  }

  /** The aggregates of one action, made on its first activity. */
  action(name: string): ActionDays {
    let a = this.#actionDays.get(name);
    if (a === undefined) {
      const index = this.#actionDays.size;
      a = { name, bit: index < 31 ? 1 << index : 0, days: new Map(), dayKey: '', day: undefined };
      this.#actionDays.set(name, a);
    }
    return a;
  }

  /** Calls `fn` with the name of each action in `bits` (see {@link ActionDays.bit}). */
  forEachAction(bits: number, fn: (action: string) => void): void {
    if (bits === 0) return;
    for (const a of this.#actionDays.values()) {
      if ((a.bit & bits) !== 0) fn(a.name);
    }
  }

  /**
   * Counts a newly landed activity of action `a` (see {@link action}); dates are ISO-8601 UTC:
   * the day is the first 10 characters. Its enduser's action is counted with {@link pair} when
   * the pending aggregates fold.
   */
  activity(a: ActionDays, date: string, weight: number): void {
    let day = a.day;
    if (day === undefined || !date.startsWith(a.dayKey)) {
      const dayKey = date.slice(0, 10);
      day = a.days.get(dayKey);
      if (day === undefined) {
        day = { count: 0, weight: 0, first: date, last: date };
        a.days.set(dayKey, day);
        this.entries++;
      }
      a.dayKey = dayKey;
      a.day = day;
    }
    day.count++;
    day.weight += weight;
    if (date > day.last) day.last = date;
    else if (date < day.first) day.first = date;
  }

  /**
   * An (action, enduser) pair of the landed activities; `prefix` is the enduser ident's (`x:` or
   * `e:`). Pairs this store knows to be stored already are skipped.
   */
  pair(action: string, prefix: 'x:' | 'e:', ident: string): void {
    const known = this.#known.get(action);
    if (prefix === 'x:') {
      if (known?.x.has(ident) !== true) getOrAdd(this.#pairs, action, newIdents).x.add(ident);
    } else if (known?.e.has(ident) !== true) {
      getOrAdd(this.#pairs, action, newIdents).e.add(ident);
    }
  }

  /**
   * Every aggregate once, as the parameters of its upsert; the action days and the pairs in the
   * order of their table's key (sorting each action's keys alone costs a fraction of sorting the
   * tuples; see ActionIdents for the pairs).
   */
  rows(): {
    actionDays: ActivityDailyParams[];
    pairs: ActionIdents[];
  } {
    const s = this.#sectionId;
    const actionDays: ActivityDailyParams[] = [];
    const pairs: ActionIdents[] = [];
    for (const action of [...this.#actionDays.keys()].sort()) {
      const { days } = this.#actionDays.get(action) as ActionDays;
      for (const day of [...days.keys()].sort()) {
        const c = days.get(day) as DayCount;
        actionDays.push([action, day, s, c.count, c.weight, c.first, c.last]);
      }
    }
    for (const action of [...this.#pairs.keys()].sort()) {
      const { x, e } = this.#pairs.get(action) as Idents;
      pairs.push({ action, e: [...e].sort(), x: [...x].sort() });
    }
    return { actionDays, pairs };
  }

  /** After the batch's transaction committed: its pairs are in the store from now on. */
  committed(): void {
    for (const [action, idents] of this.#pairs) {
      const known = getOrAdd(this.#known, action, newIdents);
      for (const id of idents.x) known.x.add(id);
      for (const email of idents.e) known.e.add(email);
    }
  }

  /** How many pairs this batch wrote (for the memory bound). */
  get newPairs(): number {
    let n = 0;
    for (const idents of this.#pairs.values()) n += idents.x.size + idents.e.size;
    return n;
  }
}

/** The (action, enduser) pairs a store knows to be stored, and the factory of rollup batches. */
export class Rollups {
  /**
   * Per section, the (action, enduser) pairs known to be stored. Only ever a subset of the table
   * (rows there are never deleted but with their section, whose id is never reused), so skipping
   * a known pair never loses one; a pair not known is written with INSERT ... DO NOTHING.
   */
  readonly #known = new Map<number, Map<string, Idents>>();
  #knownPairs = 0;

  /** Starts the aggregates of one batch of a section. */
  batch(sectionId: number): RollupBatch {
    return new RollupBatch(
      sectionId,
      getOrAdd(this.#known, sectionId, () => new Map()),
    );
  }

  /** Call once the batch's transaction has committed (never after a rollback). */
  committed(batch: RollupBatch): void {
    this.#knownPairs += batch.newPairs;
    if (this.#knownPairs > MAX_KNOWN_PAIRS) {
      this.#known.clear();
      this.#knownPairs = 0;
      return;
    }
    batch.committed();
  }
}
