/**
 * The Planhat-compatible ingest API's items: a pushed user activity or custom metric point as a
 * record ready to land, or as a reject with the field at fault and the reason. Pure: no I/O. The
 * server gives each landed item its row id (pushed items have no source key).
 *
 * Field names are Planhat's (https://docs.planhat.com, "User Activities" and "Metrics"):
 * activities `email`, `externalId`, `name`, `companyExternalId`, `action`, `weight`, `date`,
 * `info`, and the bulk aliases `id` (= externalId), `cId` (= companyExternalId), `count`; metrics
 * `dimensionId`, `value`, `externalId`, `model`, `date`.
 */
import {
  describe as describeValue,
  rejectInput,
  toFiniteNumber,
  toIsoDate,
  toText,
} from './coerce.js';
import { ACTIVITY_TARGETS, parseModel } from './section-shape.js';
import { MAX_TEXT_LENGTH } from './mapping.js';
import { MODELS, type ActivityRecord, type MetricRecord, type RejectCode } from './types.js';

/** The fields of a pushed activity, as Planhat names them (`id`, `cId`, `count`: bulk aliases). */
export const ACTIVITY_FIELDS = [...ACTIVITY_TARGETS, 'info', 'id', 'cId', 'count'] as const;

/** The fields of a pushed metric point. */
export const METRIC_FIELDS = ['dimensionId', 'value', 'externalId', 'model', 'date'] as const;

/** A pushed item that cannot land: the field at fault, a reject code and the reason. */
export interface PushedReject {
  field: string;
  code: RejectCode;
  reason: string;
  /** The whole item as JSON, truncated to 200 characters. */
  input?: string;
}

export type Parsed<R> = { ok: true; record: R } | { ok: false; reject: PushedReject };

/** A record without the row id the server assigns. */
export type PushedActivity = Omit<ActivityRecord, 'rowId' | 'key'>;
export type PushedMetric = Omit<MetricRecord, 'rowId' | 'key'>;

class Fault extends Error {
  constructor(
    readonly field: string,
    readonly code: RejectCode,
    reason: string,
  ) {
    super(reason);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a field, or undefined when absent, null or empty (absent targets are never ''). */
function text(
  item: Record<string, unknown>,
  field: string,
  ...aliases: string[]
): string | undefined {
  for (const name of [field, ...aliases]) {
    const value = item[name];
    if (value === undefined || value === null || value === '') continue;
    const t = toText(value, MAX_TEXT_LENGTH);
    if (!t.ok) throw new Fault(name, t.code, `${name}: ${t.reason}`);
    const trimmed = t.value.trim();
    if (trimmed !== '') return trimmed;
  }
  return undefined;
}

function number(item: Record<string, unknown>, field: string): number | undefined {
  const value = item[field];
  if (value === undefined || value === null || value === '') return undefined;
  const n = toFiniteNumber(value);
  if (!n.ok) throw new Fault(field, n.code, `${field}: ${n.reason}`);
  return n.value;
}

/**
 * A pushed date: an ISO-8601 string (no offset means UTC), epoch seconds or milliseconds, or any
 * string JavaScript's `new Date(string)` reads (`Tue Mar 05 2024 10:00:00 GMT+0100`; one without a
 * zone is read in the server's time zone). Absent: `now`.
 */
export function pushedDate(value: unknown, now: string): string {
  if (value === undefined || value === null || value === '') return now;
  const iso = toIsoDate(value);
  if (iso.ok) return iso.value;
  if (typeof value === 'string') {
    const t = Date.parse(value);
    if (Number.isFinite(t)) {
      const d = new Date(t);
      // Years outside 0000-9999 do not print as ISO-8601 text that sorts.
      if (d.getUTCFullYear() >= 0 && d.getUTCFullYear() <= 9999) return d.toISOString();
    }
  }
  throw new Fault('date', 'bad_date', `date: ${describeValue(value)} is not a date`);
}

function parse<R>(item: unknown, build: (item: Record<string, unknown>) => R): Parsed<R> {
  if (!isObject(item)) {
    return {
      ok: false,
      reject: {
        field: 'item',
        code: 'bad_type',
        reason: `item: ${describeValue(item)} is not a JSON object`,
        ...inputOf(item),
      },
    };
  }
  try {
    return { ok: true, record: build(item) };
  } catch (err) {
    if (!(err instanceof Fault)) throw err;
    return {
      ok: false,
      reject: { field: err.field, code: err.code, reason: err.message, ...inputOf(item) },
    };
  }
}

function inputOf(item: unknown): { input?: string } {
  const input = rejectInput(item);
  return input === undefined ? {} : { input };
}

/**
 * A pushed user activity. `email` or `externalId` (alias `id`) is required; `companyExternalId`
 * (alias `cId`); `weight` defaults to 1 and `count` (how many times the event happened, default 1)
 * multiplies it: the activity lands once with weight × count, as Planhat counts it. `info` must be
 * a JSON object. A canonical field wins over its alias when both are given.
 */
export function parseActivity(item: unknown, now: string): Parsed<PushedActivity> {
  return parse(item, (i) => {
    const email = text(i, 'email');
    const externalId = text(i, 'externalId', 'id');
    if (email === undefined && externalId === undefined) {
      throw new Fault('externalId', 'missing_identity', 'email or externalId is required');
    }
    const weight = number(i, 'weight') ?? 1;
    const count = number(i, 'count') ?? 1;
    if (count < 0) throw new Fault('count', 'not_a_number', `count: ${count} is negative`);
    const record: PushedActivity = { weight: weight * count, date: pushedDate(i.date, now) };
    if (email !== undefined) record.email = email;
    if (externalId !== undefined) record.externalId = externalId;
    const name = text(i, 'name');
    if (name !== undefined) record.name = name;
    const company = text(i, 'companyExternalId', 'cId');
    if (company !== undefined) record.companyExternalId = company;
    const action = text(i, 'action');
    if (action !== undefined) record.action = action;
    if (i.info !== undefined && i.info !== null) {
      if (!isObject(i.info)) {
        throw new Fault('info', 'bad_type', `info: ${describeValue(i.info)} is not a JSON object`);
      }
      record.info = JSON.stringify(i.info);
    }
    return record;
  });
}

/**
 * A pushed custom metric point: `dimensionId`, `value` (a finite number) and `externalId` are
 * required; `model` is Company by default, else one of Company, EndUser/Enduser, Project, Asset
 * (any case).
 */
export function parseMetric(item: unknown, now: string): Parsed<PushedMetric> {
  return parse(item, (i) => {
    const dimensionId = text(i, 'dimensionId');
    if (dimensionId === undefined) {
      throw new Fault('dimensionId', 'missing_value', 'dimensionId is required');
    }
    const value = number(i, 'value');
    if (value === undefined) throw new Fault('value', 'missing_value', 'value is required');
    const externalId = text(i, 'externalId');
    if (externalId === undefined) {
      throw new Fault('externalId', 'missing_identity', 'externalId is required');
    }
    const modelText = text(i, 'model');
    const model = modelText === undefined ? 'Company' : parseModel(modelText);
    if (model === undefined) {
      throw new Fault(
        'model',
        'bad_model',
        `model: ${describeValue(modelText)} is not one of ${MODELS.join(', ')}`,
      );
    }
    return { model, externalId, dimensionId, value, date: pushedDate(i.date, now) };
  });
}
