import { createHash } from 'node:crypto';
import type {
  ActivityRecord,
  MetricRecord,
  ReadPlan,
  RejectRecord,
  SectionConfig,
  SourceRow,
} from './types.js';
import { mysqlDatetimeToIso, rejectInput, toFiniteNumber, toIsoDate, toText } from './coerce.js';

/** Longest text accepted in a string field; longer is a reject (`too_long`). */
export const MAX_TEXT_LENGTH = 255;

export interface Mapped<R> {
  records: R[];
  rejects: RejectRecord[];
}

export interface Mapper {
  /**
   * Maps rows read with `plan` into records and rejects; `now` is the ingestion time (ISO).
   * Pure but for `carry` (see rowIds).
   */
  map(
    rows: SourceRow[],
    now: string,
    carry?: RowIdCarry,
  ): Mapped<ActivityRecord> | Mapped<MetricRecord>;
  /**
   * The identity of each row, in order (what `map` puts in `rowId`). A table without a unique
   * key or an identity numbers identical rows: by default within `rows`, with `carry` on from
   * the rows given with the same carry before (the parts of one batch).
   */
  rowIds(rows: SourceRow[], carry?: RowIdCarry): string[];
}

/** How many of each row the calls sharing it have numbered (see Mapper.rowIds). */
export interface RowIdCarry {
  seen: Map<string, number>;
  /** The key of the last row numbered. */
  key: string | undefined;
}

export function newRowIdCarry(): RowIdCarry {
  return { seen: new Map(), key: undefined };
}

type Field = { column: string; index: number };

function field(plan: ReadPlan, column: string | undefined): Field | undefined {
  if (column === undefined) return undefined;
  const index = plan.columns.indexOf(column);
  if (index < 0) throw new Error(`column ${column} is not in the read plan`);
  return { column, index };
}

function isAbsent(v: unknown): boolean {
  return v === null || v === undefined || v === '';
}

/**
 * Compiles a section into a mapper over rows read with `plan` (column positions resolved once,
 * not per row). Row problems become rejects with the key, the target, the column and the input.
 */
export function compileMapper(section: SectionConfig, plan: ReadPlan): Mapper {
  const rowIds = compileIdentity(plan);
  const m = section.mapping;
  const date = field(plan, m.date);

  /** Optional text target: absent stays undefined; bad or long input rejects. */
  function text(
    f: Field | undefined,
    target: string,
    row: SourceRow,
    rowId: string,
    rejects: RejectRecord[],
  ): string | undefined | false {
    if (!f) return undefined;
    const v = row[f.index];
    // What nearly every row holds: a string short enough, kept as it is.
    if (typeof v === 'string' && v.length <= MAX_TEXT_LENGTH) return v === '' ? undefined : v;
    if (isAbsent(v)) return undefined;
    const t = toText(v, MAX_TEXT_LENGTH);
    if (t.ok) return t.value;
    rejects.push(reject(rowId, row, target, f, t.code, t.reason, v));
    return false;
  }

  function dateOf(
    row: SourceRow,
    rowId: string,
    now: string,
    rejects: RejectRecord[],
  ): string | false {
    if (!date) return now;
    const v = row[date.index];
    if (typeof v === 'string') {
      const fast = mysqlDatetimeToIso(v);
      if (fast !== undefined) return fast;
    }
    if (isAbsent(v)) return now;
    const d = toIsoDate(v);
    if (d.ok) return d.value;
    rejects.push(reject(rowId, row, 'date', date, d.code, d.reason, v));
    return false;
  }

  if (section.dataType === 'activities') {
    const email = field(plan, m.email);
    const externalId = field(plan, m.externalId);
    const name = field(plan, m.name);
    const company = field(plan, m.companyExternalId);
    const action = field(plan, m.action);
    const weight = field(plan, m.weight);
    const info = section.info.map((c) => field(plan, c) as Field);
    return {
      rowIds,
      map(rows, now, carry) {
        const ids = rowIds(rows, carry);
        const records: ActivityRecord[] = [];
        const rejects: RejectRecord[] = [];
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i] as SourceRow;
          const rowId = ids[i] as string;
          const before = rejects.length;
          const e = text(email, 'email', row, rowId, rejects);
          const x = text(externalId, 'externalId', row, rowId, rejects);
          const n = text(name, 'name', row, rowId, rejects);
          const c = text(company, 'companyExternalId', row, rowId, rejects);
          const a = text(action, 'action', row, rowId, rejects);
          let w = 1;
          if (weight) {
            const v = row[weight.index];
            if (typeof v === 'number' && Number.isFinite(v)) w = v;
            else if (v !== null && v !== undefined) {
              const num = toFiniteNumber(v);
              if (num.ok) w = num.value;
              else rejects.push(reject(rowId, row, 'weight', weight, num.code, num.reason, v));
            }
          }
          const d = dateOf(row, rowId, now, rejects);
          if (rejects.length > before) {
            // One reject per row: keep the first problem, it names the field to fix.
            rejects.length = before + 1;
            continue;
          }
          if (e === undefined && x === undefined) {
            rejects.push({
              rowId,
              key: row[0] as string,
              field: email ? 'email' : 'externalId',
              ...(email
                ? { column: email.column }
                : externalId
                  ? { column: externalId.column }
                  : {}),
              code: 'missing_identity',
              reason: 'the row has neither email nor externalId',
            });
            continue;
          }
          const r: ActivityRecord = { rowId, key: row[0] as string, weight: w, date: d as string };
          if (e !== undefined) r.email = e as string;
          if (x !== undefined) r.externalId = x as string;
          if (n !== undefined) r.name = n as string;
          if (c !== undefined) r.companyExternalId = c as string;
          if (a !== undefined) r.action = a as string;
          if (info.length > 0) {
            const obj: Record<string, unknown> = {};
            for (const f of info) obj[f.column] = jsonValue(row[f.index]);
            r.info = JSON.stringify(obj);
          }
          records.push(r);
        }
        return { records, rejects };
      },
    };
  }

  const model = section.model ?? 'Company';
  const dimension = field(plan, m.dimensionId) as Field;
  const value = field(plan, m.value) as Field;
  const externalId = field(plan, m.externalId) as Field;
  return {
    rowIds,
    map(rows, now, carry) {
      const ids = rowIds(rows, carry);
      const records: MetricRecord[] = [];
      const rejects: RejectRecord[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as SourceRow;
        const rowId = ids[i] as string;
        const before = rejects.length;
        const dim = text(dimension, 'dimensionId', row, rowId, rejects);
        const x = text(externalId, 'externalId', row, rowId, rejects);
        const raw = row[value.index];
        let v = 0;
        if (raw === null || raw === undefined) {
          rejects.push(reject(rowId, row, 'value', value, 'missing_value', 'value is NULL', raw));
        } else {
          const num = toFiniteNumber(raw);
          if (num.ok) v = num.value;
          else rejects.push(reject(rowId, row, 'value', value, num.code, num.reason, raw));
        }
        const d = dateOf(row, rowId, now, rejects);
        if (rejects.length === before) {
          if (dim === undefined) {
            rejects.push(
              reject(
                rowId,
                row,
                'dimensionId',
                dimension,
                'missing_value',
                'dimensionId is empty',
                row[dimension.index],
              ),
            );
          } else if (x === undefined) {
            rejects.push(
              reject(
                rowId,
                row,
                'externalId',
                externalId,
                'missing_identity',
                'externalId is empty',
                row[externalId.index],
              ),
            );
          }
        }
        if (rejects.length > before) {
          rejects.length = before + 1;
          continue;
        }
        records.push({
          rowId,
          key: row[0] as string,
          model,
          externalId: x as string,
          dimensionId: dim as string,
          value: v,
          date: d as string,
        });
      }
      return { records, rejects };
    },
  };
}

function reject(
  rowId: string,
  row: SourceRow,
  target: string,
  f: Field,
  code: RejectRecord['code'],
  reason: string,
  input: unknown,
): RejectRecord {
  const r: RejectRecord = {
    rowId,
    key: row[0] as string,
    field: target,
    column: f.column,
    code,
    reason: `${target} (column ${f.column}): ${reason}`,
  };
  const text = rejectInput(input);
  if (text !== undefined) r.input = text;
  return r;
}

function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'bigint') return v.toString();
  return v ?? null;
}

function identityText(v: unknown): string {
  if (v === null || v === undefined) return '\u0000';
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return String(v);
}

/**
 * How a row is identified, so a re-read (lookback, reset, a tie group) never lands it twice:
 * its primary or unique key when the table has one; otherwise its key plus a hash of its content
 * and its rank among identical rows in the same batch (`carry` numbers a batch read in parts as
 * one). Identical rows always share a key value, a batch never starts inside a key's group, and
 * a group a batch ends in is read whole with it, so the rank is stable across reads.
 */
function compileIdentity(plan: ReadPlan): (rows: SourceRow[], carry?: RowIdCarry) => string[] {
  if (plan.identity.length === 1 && plan.identity[0] === plan.key) {
    return (rows) => rows.map((r) => r[0] as string);
  }
  if (plan.identity.length > 0) {
    const idx = plan.identity.map((c) => plan.columns.indexOf(c));
    if (idx.length === 1) {
      const i = idx[0] as number;
      return (rows) => rows.map((r) => identityText(r[i]));
    }
    return (rows) => rows.map((r) => idx.map((i) => identityText(r[i])).join('\u001f'));
  }
  // Rows come in key order, so the rows of a number, date or decimal key come one after another
  // and the count of an earlier key's rows is done with. A string key's rows need not: MySQL's
  // collation may hold 'a' and 'A' equal and interleave them, so its counts last the batch.
  const keyInOrder = plan.keyKind !== 'string';
  return (rows, carry) => {
    const c = carry ?? newRowIdCarry();
    return rows.map((r) => {
      if (keyInOrder && r[0] !== c.key) {
        if (c.seen.size > 0) c.seen = new Map();
        c.key = r[0] as string;
      }
      const seen = c.seen;
      const h = createHash('sha1');
      for (const v of r) h.update(identityText(v)).update('\u001f');
      const digest = `${r[0] as string}\u001f${h.digest('base64url').slice(0, 22)}`;
      const rank = seen.get(digest) ?? 0;
      seen.set(digest, rank + 1);
      return `${digest}#${rank}`;
    });
  };
}
