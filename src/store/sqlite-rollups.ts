/**
 * The rollups of landed data that the data module reads (tables of migration `0002_server`),
 * maintained inside `commitBatch`'s transaction: records newly landed in a batch are aggregated in
 * Maps here, then each distinct key is upserted once. The landed tables themselves keep no
 * secondary index (each one costs a random B-tree insert per row); these tables grow with
 * distinct (action, day), (metric, object, day) and (action, enduser) instead of with rows.
 * (For metrics landed once per object and day, metric_daily has a row per point: that is the
 * price of the per-object and last-value-per-day charts.)
 *
 * This is the hot path: the Maps are nested by key part so a row allocates no key string, and
 * the (action, enduser) pairs already in the store are remembered after their batch commits, so
 * a later batch writes only the pairs it sees first.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { ActivityRecord, MetricRecord } from '../core/types.js';

type ActivityDailyParams = [
  action: string,
  day: string,
  sectionId: number,
  count: number,
  weightSum: number,
  firstDate: string,
  lastDate: string,
];
type EnduserActionParams = [action: string, ident: string, sectionId: number];
type MetricDailyParams = [
  model: string,
  dimensionId: string,
  day: string,
  externalId: string,
  sectionId: number,
  valueSum: number,
  count: number,
  firstDate: string,
  lastDate: string,
  lastValue: number,
];

interface DayCount {
  count: number;
  weight: number;
  first: string;
  last: string;
}
/** One action's days, and the day its last activity fell on (rows mostly come in date order). */
interface ActionDays {
  days: Map<string, DayCount>;
  /** `YYYY-MM-DD` of `day`, or '' before the first. */
  dayKey: string;
  day: DayCount | undefined;
}
interface MetricDay {
  sum: number;
  count: number;
  first: string;
  last: string;
  lastValue: number;
}
/** Endusers by external id (`x:` idents) and, for those without one, by email (`e:`). */
interface Idents {
  x: Set<string>;
  e: Set<string>;
}

/** Most (action, enduser) pairs remembered per store; past it the memory starts over. */
const MAX_KNOWN_PAIRS = 500_000;

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

const newIdents = (): Idents => ({ x: new Set(), e: new Set() });
// Module-level factories: an arrow written at the call would be allocated once per landed row.
const newMap = <K, V>(): Map<K, V> => new Map<K, V>();

/** One batch's aggregates; {@link flush} writes them. */
export class RollupBatch {
  readonly #rollups: SqliteRollups;
  readonly #sectionId: number;
  /** action -> day -> count. */
  readonly #actionDays = new Map<string, ActionDays>();
  /** action -> endusers first seen with it in this batch (not yet known to be stored). */
  readonly #pairs = new Map<string, Idents>();
  readonly #known: Map<string, Idents>;
  /** model -> dimensionId -> externalId -> day -> aggregate (pushed points mix models). */
  readonly #metricDays = new Map<string, Map<string, Map<string, Map<string, MetricDay>>>>();

  constructor(rollups: SqliteRollups, sectionId: number, known: Map<string, Idents>) {
    this.#rollups = rollups;
    this.#sectionId = sectionId;
    this.#known = known;
  }

  /**
   * Counts a newly landed activity (dates are ISO-8601 UTC: the day is the first 10 characters).
   * Its enduser's action is counted with {@link pair} when the pending aggregates fold.
   */
  activity(r: ActivityRecord): void {
    const action = r.action ?? '';
    let a = this.#actionDays.get(action);
    if (a === undefined) {
      a = { days: new Map(), dayKey: '', day: undefined };
      this.#actionDays.set(action, a);
    }
    const date = r.date;
    let day = a.day;
    if (day === undefined || !date.startsWith(a.dayKey)) {
      const dayKey = date.slice(0, 10);
      day = a.days.get(dayKey);
      if (day === undefined) {
        day = { count: 0, weight: 0, first: date, last: date };
        a.days.set(dayKey, day);
      }
      a.dayKey = dayKey;
      a.day = day;
    }
    day.count++;
    day.weight += r.weight;
    if (date < day.first) day.first = date;
    if (date > day.last) day.last = date;
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

  /** Counts a newly landed metric point; the day's last value is the one with the latest date. */
  metric(r: MetricRecord): void {
    const dimensions = getOrAdd(
      this.#metricDays,
      r.model,
      newMap<string, Map<string, Map<string, MetricDay>>>,
    );
    const objects = getOrAdd(dimensions, r.dimensionId, newMap<string, Map<string, MetricDay>>);
    const days = getOrAdd(objects, r.externalId, newMap<string, MetricDay>);
    const day = r.date.slice(0, 10);
    const m = days.get(day);
    if (m === undefined) {
      days.set(day, { sum: r.value, count: 1, first: r.date, last: r.date, lastValue: r.value });
      return;
    }
    m.sum += r.value;
    m.count++;
    if (r.date < m.first) m.first = r.date;
    // `>=`: of two points at the same time, the one landed later wins, as the upsert does.
    if (r.date >= m.last) {
      m.last = r.date;
      m.lastValue = r.value;
    }
  }

  /** Upserts every aggregate once; call inside the batch's transaction. */
  flush(): void {
    const s = this.#sectionId;
    const { upsertActionDay, upsertEnduserAction, upsertMetricDay } = this.#rollups;
    for (const [action, { days }] of this.#actionDays) {
      for (const [day, c] of days) {
        upsertActionDay.run(action, day, s, c.count, c.weight, c.first, c.last);
      }
    }
    for (const [action, idents] of this.#pairs) {
      for (const id of idents.x) upsertEnduserAction.run(action, `x:${id}`, s);
      for (const email of idents.e) upsertEnduserAction.run(action, `e:${email}`, s);
    }
    for (const [model, dimensions] of this.#metricDays) {
      for (const [dimensionId, objects] of dimensions) {
        for (const [externalId, days] of objects) {
          for (const [day, m] of days) {
            upsertMetricDay.run(
              model,
              dimensionId,
              day,
              externalId,
              s,
              m.sum,
              m.count,
              m.first,
              m.last,
              m.lastValue,
            );
          }
        }
      }
    }
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

/** The rollups' prepared statements on the store's better-sqlite3 handle. */
export class SqliteRollups {
  readonly upsertActionDay: BetterSqlite3.Statement<ActivityDailyParams>;
  readonly upsertEnduserAction: BetterSqlite3.Statement<EnduserActionParams>;
  readonly upsertMetricDay: BetterSqlite3.Statement<MetricDailyParams>;
  /**
   * Per section, the (action, enduser) pairs known to be stored. Only ever a subset of the table
   * (rows there are never deleted but with their section, whose id is never reused), so skipping
   * a known pair never loses one; a pair not known is written with INSERT ... DO NOTHING.
   */
  readonly #known = new Map<number, Map<string, Idents>>();
  #knownPairs = 0;

  constructor(sqlite: BetterSqlite3.Database) {
    this.upsertActionDay = sqlite.prepare(
      `INSERT INTO activity_daily (action, day, section_id, count, weight_sum, first_date,
         last_date)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (action, day, section_id) DO UPDATE SET
         count = activity_daily.count + excluded.count,
         weight_sum = activity_daily.weight_sum + excluded.weight_sum,
         first_date = min(activity_daily.first_date, excluded.first_date),
         last_date = max(activity_daily.last_date, excluded.last_date)`,
    );
    // A pair stored before is a seek that dirties nothing (see migration-server.ts).
    this.upsertEnduserAction = sqlite.prepare(
      `INSERT INTO enduser_actions (action, ident, section_id) VALUES (?, ?, ?)
       ON CONFLICT (action, ident, section_id) DO NOTHING`,
    );
    // SET expressions all see the row as it was, so last_value compares with the old last_date.
    this.upsertMetricDay = sqlite.prepare(
      `INSERT INTO metric_daily (model, dimension_id, day, external_id, section_id, value_sum, count,
         first_date, last_date, last_value)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, dimension_id, day, external_id, section_id) DO UPDATE SET
         value_sum = metric_daily.value_sum + excluded.value_sum,
         count = metric_daily.count + excluded.count,
         first_date = min(metric_daily.first_date, excluded.first_date),
         last_value = CASE WHEN excluded.last_date >= metric_daily.last_date
           THEN excluded.last_value ELSE metric_daily.last_value END,
         last_date = max(metric_daily.last_date, excluded.last_date)`,
    );
  }

  /** Starts the aggregates of one batch of a section. */
  batch(sectionId: number): RollupBatch {
    return new RollupBatch(
      this,
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
