/**
 * What a section landed since its last fold, counted in memory: the endusers and companies its
 * records mention (first and last seen, counts) and the rollups, folded into the store as upserts
 * every so often rather than per batch (see SqliteStore). Plain data, no SQLite.
 */
import { isoMillis } from '../core/coerce.js';
import type { ActivityRecord, MetricRecord } from '../core/types.js';
import {
  ACTIVITIES,
  COMPANY,
  EMAIL,
  ENDUSER_FIELDS,
  FIRST,
  LAST,
  NAME,
  NUMS,
  POINTS,
  SeenTable,
  WEIGHT,
  type TablePool,
} from './seen-table.js';
import type { FoldRows } from './sqlite-batch-writer.js';
import type { RollupBatch } from './sqlite-rollups.js';
import type { CommitBatch } from './store.js';

/**
 * The endusers and companies that landed records mention since the fold, with the dates they
 * were seen at (milliseconds, isoMillis) and what landed for each, so each distinct one is
 * written once per fold whatever its row count. Held in SeenTables, off the JS heap.
 */
export class SeenSet {
  /**
   * Endusers keyed by their `ident`: `x:<external id>` when they have one, else `e:<email>`.
   * Fields EMAIL (of an `x:` enduser: the first given), NAME, COMPANY (the first given).
   */
  readonly endusers: SeenTable;
  readonly companies: SeenTable;
  /**
   * Actions of an enduser without a bit (see ActionDays.bit; past a batch's 31st action), by
   * enduser row (few per enduser: a list beats a Set).
   */
  readonly moreActions = new Map<number, string[]>();

  /** `capacity`: the endusers held before the buffers grow; `pool`: where buffers are reused. */
  constructor(capacity = 256, pool?: TablePool) {
    this.endusers =
      pool?.table(ENDUSER_FIELDS, capacity) ?? new SeenTable(ENDUSER_FIELDS, capacity);
    const companies = Math.min(capacity, 4096);
    this.companies = pool?.table(1, companies) ?? new SeenTable(1, companies);
  }

  /** Endusers and companies held. */
  get entries(): number {
    return this.endusers.rows + this.companies.rows;
  }

  /** Bytes they take (see SeenTable.bytes). */
  get bytes(): number {
    return this.endusers.bytes + this.companies.bytes;
  }

  /** Counts a record for an enduser: its row, or -1 when it names none (no external id, no email). */
  enduser(
    externalId: string | undefined,
    email: string | undefined,
    name: string | undefined,
    company: string | undefined,
    at: number,
    weight: number | undefined,
  ): number {
    const table = this.endusers;
    let r: number;
    if (externalId !== undefined) {
      r = table.row('x:', externalId);
      if (email !== undefined && table.isNull(r, EMAIL)) table.set(r, EMAIL, email);
    } else if (email !== undefined) r = table.row('e:', email);
    else return -1;
    count(table.nums, r, at, weight, table.added);
    if (name !== undefined && table.isNull(r, NAME)) table.set(r, NAME, name);
    if (company !== undefined && table.isNull(r, COMPANY)) table.set(r, COMPANY, company);
    return r;
  }

  /**
   * Counts an activity of `weight` (or, when undefined, a metric point) for a company; `enduser`:
   * the row of the activity's enduser, or -1.
   */
  company(externalId: string, at: number, weight: number | undefined, enduser = -1): void {
    const table = this.companies;
    // An enduser's link: the company row of its last activity, +1 (0: none). Most rows repeat it.
    if (enduser >= 0) {
      const last = (this.endusers.links[enduser] as number) - 1;
      if (last >= 0 && table.keyIs(last, externalId)) {
        count(table.nums, last, at, weight, false);
        return;
      }
    }
    const r = table.row('', externalId);
    count(table.nums, r, at, weight, table.added);
    if (enduser >= 0) this.endusers.links[enduser] = r + 1;
  }
}

/** When a section's pending aggregates fold into the store: at the first limit reached. */
export interface FoldEvery {
  /** Rows counted since the last fold: they bound the work of reading them back after a crash. */
  rows: number;
  /** Distinct entries held (endusers, companies, days of an action). */
  entries: number;
  /** Of those, days of an action (activity_daily's rows). */
  days: number;
  /** Bytes the endusers and companies take (see SeenSet.bytes): the bound of their memory. */
  bytes: number;
}

/**
 * Each fold upserts every enduser and company it holds, so a fold that comes later, holding more,
 * writes each one fewer times. `bytes` bounds their memory: 32 MiB is about 200,000 endusers of
 * the benchmark's kind (about 150 bytes each with their strings), held once (the batch after a
 * fold waits for the writer to hand the tables back). A table of 3 million rows by 300,000
 * endusers (docs/bench.md) synced in 21 s at 16 MiB, 14-15 s at 24, 32 or 48 on one machine (its
 * folds of about 110,000 endusers come at the million rows); at 30,000 entries, the bound before,
 * it took 44 s. On a slower machine, 16 MiB made 8 folds instead of 2 and took 47 s instead of
 * 28. The benchmark's million rows (17,800 endusers) fold once, at the end. (Metric points are
 * not held: each batch adds its own into metric_daily, so a metrics section holds only its
 * objects.)
 */
export const FOLD_EVERY: FoldEvery = {
  rows: 1_000_000,
  entries: 500_000,
  days: 10_000,
  bytes: 32 * 1024 * 1024,
};

/** What a section landed since its last fold: the enduser/company counters and the rollups. */
export class Pending {
  rows = 0;
  /** Counts include records that did not land: read the section back from the store. */
  dirty = false;
  /** The highest landed row id counted here (`base` before any). */
  covered: number;
  constructor(
    readonly seen: SeenSet,
    readonly rollup: RollupBatch,
    /**
     * `sections.folded_id` when these aggregates began: rows above it are counted here.
     */
    public base: number,
  ) {
    this.covered = base;
  }

  /** Once per landed activity: a lookup for its enduser, and for its company only when it changed. */
  activity(r: ActivityRecord): void {
    this.rows++;
    const { companyExternalId: company, date, weight } = r;
    const at = isoMillis(date);
    const enduser = this.seen.enduser(r.externalId, r.email, r.name, company, at, weight);
    if (company !== undefined) this.seen.company(company, at, weight, enduser);
    // One Map lookup per row for the action: its day counts, and its bit in the enduser's mask.
    const action = this.rollup.action(r.action ?? '');
    if (enduser >= 0) {
      if (action.bit !== 0) {
        const bits = this.seen.endusers.bits;
        bits[enduser] = (bits[enduser] as number) | action.bit;
      } else {
        const more = this.seen.moreActions.get(enduser);
        if (more === undefined) this.seen.moreActions.set(enduser, [action.name]);
        else if (!more.includes(action.name)) more.push(action.name);
      }
    }
    this.rollup.activity(action, date, weight);
  }

  get entries(): number {
    return this.seen.entries + this.rollup.entries;
  }

  /** Whether these aggregates are due to fold (see FoldEvery). */
  due(every: FoldEvery): boolean {
    return (
      this.rows >= every.rows ||
      this.entries >= every.entries ||
      this.rollup.entries >= every.days ||
      this.seen.bytes >= every.bytes
    );
  }

  metric(r: MetricRecord): void {
    this.rows++;
    if (r.model === 'Company') this.seen.company(r.externalId, isoMillis(r.date), undefined);
    else if (r.model === 'Enduser') {
      const at = isoMillis(r.date);
      this.seen.enduser(r.externalId, undefined, undefined, undefined, at, undefined);
    }
  }
}

/**
 * Counts a batch's landed records (all but `skipped`, by index, which landed before) in the
 * aggregates. Records sent to a sink alone are not in `records` and count nowhere.
 */
export function countLanded(
  pending: Pending,
  batch: Pick<CommitBatch, 'dataType' | 'records'>,
  skipped: number[],
): void {
  let next = skipped.length > 0 ? 0 : -1;
  const records = batch.records;
  for (let i = 0; i < records.length; i++) {
    if (next >= 0 && skipped[next] === i) {
      next = next + 1 < skipped.length ? next + 1 : -1;
      continue;
    }
    // CommitBatch pairs dataType and records by convention, not by type.
    if (batch.dataType === 'activities') pending.activity(records[i] as ActivityRecord);
    else pending.metric(records[i] as MetricRecord);
  }
}

/**
 * A section's pending aggregates as the writer's fold takes them (see FoldRows); the endusers' and
 * companies' tables are packed, so they are done with. `through`: the highest landed row id they
 * cover (`folded_id` moves there); left out, the writer takes the rows landed through the batch.
 */
export function foldRows(pending: Pending, through?: number): FoldRows {
  const { seen, rollup } = pending;
  const endusers = seen.endusers.pack();
  const moreActions: [number, string][] = [];
  for (const [row, actions] of seen.moreActions) {
    for (const action of actions) moreActions.push([row, action]);
  }
  const rows: FoldRows = {
    endusers,
    actions: rollup.bitActions(),
    moreActions,
    companies: seen.companies.pack(),
    actionDays: rollup.rows(),
  };
  if (through !== undefined) rows.through = through;
  return rows;
}

/**
 * Adds an activity of `weight` (or, when undefined, a metric point) seen at `at` to row `r` of a
 * table's numbers; `added`: the row is new (its dates are not set yet).
 */
function count(
  nums: Float64Array,
  r: number,
  at: number,
  weight: number | undefined,
  added: boolean,
): void {
  const i = r * NUMS;
  if (added) {
    nums[i + FIRST] = at;
    nums[i + LAST] = at;
  } else if (at > (nums[i + LAST] as number)) nums[i + LAST] = at;
  else if (at < (nums[i + FIRST] as number)) nums[i + FIRST] = at;
  if (weight === undefined) nums[i + POINTS] = (nums[i + POINTS] as number) + 1;
  else {
    nums[i + ACTIVITIES] = (nums[i + ACTIVITIES] as number) + 1;
    nums[i + WEIGHT] = (nums[i + WEIGHT] as number) + weight;
  }
}
