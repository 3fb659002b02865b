/**
 * What a section landed since its last fold, counted in memory: the endusers and companies its
 * records mention (first and last seen, counts) and the rollups, folded into the store as upserts
 * every so often rather than per batch (see SqliteStore). Plain data, no SQLite.
 */
import { isoMillis } from '../core/coerce.js';
import { SluiceError } from '../core/errors.js';
import type { ActivityRecord, MetricRecord } from '../core/types.js';
import type { CompanyParams, EnduserParams, FoldRows } from './sqlite-batch-writer.js';
import type { RollupBatch } from './sqlite-rollups.js';
import type { CommitBatch } from './store.js';

/**
 * The dates a company or enduser was seen at since the fold, and what landed for it. Dates are
 * milliseconds (isoMillis): a string kept as the last date of an enduser lived from one of its
 * rows to the next, long enough to be promoted, and the benchmark's million rows promoted 9 MB of
 * them (its peak RSS 10 MiB higher).
 */
interface SeenRange {
  first: number;
  last: number;
  activities: number;
  weight: number;
  points: number;
}

/** An enduser seen in a batch, with the first email, name and company given for it. */
interface SeenEnduser extends SeenRange {
  externalId: string | null;
  email: string | null;
  name: string | null;
  company: string | null;
  /** The actions of its activities, as bits (see ActionDays.bit)... */
  actionBits: number;
  /** ...and those without a bit (past a batch's 31st action; few per enduser: a list beats a Set). */
  actions: string[];
  /** The company of its last activity and that company's range: most rows repeat it. */
  lastCompanyId: string | undefined;
  lastCompany: SeenRange | undefined;
}

/**
 * Per-batch dedupe of the endusers and companies that landed records mention, so each distinct
 * one is written once per batch whatever its row count.
 */
export class SeenSet {
  readonly byExternalId = new Map<string, SeenEnduser>();
  readonly byEmail = new Map<string, SeenEnduser>();
  readonly companies = new Map<string, SeenRange>();
  /** Endusers and companies held (each costs a few hundred bytes until the fold). */
  entries = 0;

  /** Counts a record for an enduser; undefined when it names none (no external id, no email). */
  enduser(
    externalId: string | undefined,
    email: string | undefined,
    name: string | undefined,
    company: string | undefined,
    at: number,
    weight: number | undefined,
  ): SeenEnduser | undefined {
    // Identified by external id when present, else by email (the `ident` column).
    const map = externalId !== undefined ? this.byExternalId : this.byEmail;
    const ident = externalId ?? email;
    if (ident === undefined) return undefined;
    const seen = map.get(ident);
    if (seen === undefined) {
      const first: SeenEnduser = {
        externalId: externalId ?? null,
        email: email ?? null,
        name: name ?? null,
        company: company ?? null,
        first: at,
        last: at,
        activities: 0,
        weight: 0,
        points: 0,
        actionBits: 0,
        actions: [],
        lastCompanyId: undefined,
        lastCompany: undefined,
      };
      count(first, weight);
      map.set(ident, first);
      this.entries++;
      return first;
    }
    widen(seen, at);
    count(seen, weight);
    if (seen.email === null && email !== undefined) seen.email = email;
    if (seen.name === null && name !== undefined) seen.name = name;
    if (seen.company === null && company !== undefined) seen.company = company;
    return seen;
  }

  /** `weight`: of an activity naming the company; undefined for a metric point on it. */
  company(externalId: string, at: number, weight: number | undefined): SeenRange {
    let seen = this.companies.get(externalId);
    if (seen === undefined) {
      seen = { first: at, last: at, activities: 0, weight: 0, points: 0 };
      this.companies.set(externalId, seen);
      this.entries++;
    } else widen(seen, at);
    count(seen, weight);
    return seen;
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
}

/**
 * The entries bound the memory: at 20,000 the benchmark's million activities (about 22,000
 * endusers and action days) folded twice, at 30,000 once. (Metric points are not held: each
 * batch adds its own into metric_daily, so a metrics section holds only its objects.)
 */
export const FOLD_EVERY: FoldEvery = { rows: 1_000_000, entries: 30_000, days: 10_000 };

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
     * `sections.folded_id` when these aggregates began: rows above it are counted here (NaN
     * until the writer answers the batch whose fold started them).
     */
    public base: number,
  ) {
    this.covered = base;
  }

  /** Once per landed activity: a Map lookup for its enduser, and for its company only when it changed. */
  activity(r: ActivityRecord): void {
    this.rows++;
    const { companyExternalId: company, date, weight } = r;
    const at = isoMillis(date);
    const enduser = this.seen.enduser(r.externalId, r.email, r.name, company, at, weight);
    if (company !== undefined) {
      if (enduser === undefined) this.seen.company(company, at, weight);
      else if (enduser.lastCompany !== undefined && enduser.lastCompanyId === company) {
        widen(enduser.lastCompany, at);
        count(enduser.lastCompany, weight);
      } else {
        enduser.lastCompany = this.seen.company(company, at, weight);
        enduser.lastCompanyId = company;
      }
    }
    // One Map lookup per row for the action: its day counts, and its bit in the enduser's mask.
    const action = this.rollup.action(r.action ?? '');
    if (enduser !== undefined) {
      if (action.bit !== 0) enduser.actionBits |= action.bit;
      else if (!enduser.actions.includes(action.name)) enduser.actions.push(action.name);
    }
    this.rollup.activity(action, date, weight);
  }

  get entries(): number {
    return this.seen.entries + this.rollup.entries;
  }

  /** Whether these aggregates are due to fold (see FoldEvery). */
  due(every: FoldEvery): boolean {
    return (
      this.rows >= every.rows || this.entries >= every.entries || this.rollup.entries >= every.days
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
 * The upserts of a section's pending aggregates. `through`: the highest landed row id they cover
 * (`folded_id` moves there); left out, the writer takes the rows landed before the batch.
 */
export function foldRows(pending: Pending, through?: number): FoldRows {
  const { seen, rollup } = pending;
  const endusers: EnduserParams[] = [];
  // Endusers are identified by external id when they have one (`x:`), else by email (`e:`).
  const byIdent = [
    ['x:', seen.byExternalId],
    ['e:', seen.byEmail],
  ] as const;
  for (const [prefix, map] of byIdent) {
    for (const [ident, e] of map) {
      rollup.forEachAction(e.actionBits, (action) => rollup.pair(action, prefix, ident));
      for (const action of e.actions) rollup.pair(action, prefix, ident);
      endusers.push([
        `${prefix}${ident}`,
        e.externalId,
        e.email,
        e.name,
        e.company,
        isoOf(e.first),
        isoOf(e.last),
        e.activities,
        e.weight,
        e.points,
      ]);
    }
  }
  const companies: CompanyParams[] = [];
  for (const [id, c] of seen.companies) {
    companies.push([id, isoOf(c.first), isoOf(c.last), c.activities, c.weight, c.points]);
  }
  // In the order of each table's unique key, so the upserts walk its B-tree instead of seeking
  // all over it. rows() gives the action days and pairs in that order already.
  const { actionDays, pairs } = rollup.rows();
  endusers.sort(byFirst);
  companies.sort(byFirst);
  const rows: FoldRows = { endusers, companies, actionDays, pairs };
  if (through !== undefined) rows.through = through;
  return rows;
}

// Text orders as SQLite's default (binary) collation compares, but for characters beyond the
// Basic Multilingual Plane (an order for B-tree locality only). Comparators written out, not made
// from a column list: the fold sorts up to 100,000 tuples (a generic one took 0.1 s of a fold).

/** By the first column (an enduser's ident, a company's external id). */
function byFirst(a: readonly unknown[], b: readonly unknown[]): number {
  const x = a[0] as string;
  const y = b[0] as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Adds an activity of `weight` (or, when undefined, a metric point) to a seen enduser or company. */
function count(seen: SeenRange, weight: number | undefined): void {
  if (weight === undefined) seen.points++;
  else {
    seen.activities++;
    seen.weight += weight;
  }
}

/** Rows mostly come in date order: one comparison when the date is the latest so far. */
function widen(range: SeenRange, at: number): void {
  if (at > range.last) range.last = at;
  else if (at < range.first) range.first = at;
}

/** A seen date back as the ISO-8601 string it was read from (dates are whole milliseconds). */
function isoOf(at: number): string {
  if (!Number.isFinite(at)) {
    throw new SluiceError('STORE_FAILED', 'a landed record carried a date that is not ISO-8601');
  }
  return new Date(at).toISOString();
}
