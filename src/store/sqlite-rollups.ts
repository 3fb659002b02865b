/**
 * The activity rollups that the data module reads (tables of migration `0002_server`): activities
 * newly landed are aggregated in Maps here, then each distinct key is upserted once when the
 * section's pending aggregates fold (the upserts themselves are SqliteBatchWriter's). The landed
 * tables themselves keep no secondary index (each one costs a random B-tree insert per row);
 * these tables grow with distinct (action, day) and (action, enduser) instead of with rows.
 * (metric_daily is not counted here: SqliteBatchWriter adds each batch's points into it with one
 * SQL statement, in the batch's transaction.)
 *
 * This is the hot path: the Maps are nested by key part so a row allocates no key string. The
 * (action, enduser) pairs are not counted here: each enduser notes its actions as bits of the
 * first 31 (see ActionDays.bit), and the writer upserts the pairs from those at the fold. (Pairs
 * known to be stored were remembered once, at most 100,000 of them, to skip their upserts: a
 * pair stored before is one B-tree seek that changes nothing, and the memory was worth more.)
 */
import type { ActivityDailyParams } from './sqlite-batch-writer.js';

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
/** One fold's aggregates; {@link rows} hands them to the writer. */
export class RollupBatch {
  readonly #sectionId: number;
  /** Days of an action held (what the fold will upsert). */
  entries = 0;
  /** action -> day -> count. */
  readonly #actionDays = new Map<string, ActionDays>();

  constructor(sectionId: number) {
    this.#sectionId = sectionId;
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

  /** The actions with a bit (see {@link ActionDays.bit}), by bit: the first 31 of this batch. */
  bitActions(): string[] {
    const names: string[] = [];
    for (const a of this.#actionDays.values()) {
      if (a.bit === 0) break;
      names.push(a.name);
    }
    return names;
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

  /** Every action day once, as the parameters of its upsert, in the order of its table's key. */
  rows(): ActivityDailyParams[] {
    const s = this.#sectionId;
    const actionDays: ActivityDailyParams[] = [];
    for (const action of [...this.#actionDays.keys()].sort()) {
      const { days } = this.#actionDays.get(action) as ActionDays;
      for (const day of [...days.keys()].sort()) {
        const c = days.get(day) as DayCount;
        actionDays.push([action, day, s, c.count, c.weight, c.first, c.last]);
      }
    }
    return actionDays;
  }
}
