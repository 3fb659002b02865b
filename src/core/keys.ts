import type { ColumnInfo, KeyKind } from './types.js';

/** Keys are limited to 32 characters as MySQL prints them (the seed brief's rule). */
export const MAX_KEY_LENGTH = 32;

const INTEGER_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'year',
]);
const STRING_TYPES = new Set(['char', 'varchar']);

export interface KeyType {
  kind: KeyKind;
  /** Decimal digits after the point, or fractional-second digits. */
  scale: number;
  /** The longest value MySQL can print for the column. */
  maxLength: number;
}

/**
 * How a column can serve as a key, or undefined when it cannot: floating point is approximate,
 * TEXT/BLOB/JSON/TIME do not order rows by arrival.
 */
export function keyTypeOf(column: ColumnInfo): KeyType | undefined {
  const t = column.dataType.toLowerCase();
  const unsigned = /\bunsigned\b/i.test(column.columnType);
  if (INTEGER_TYPES.has(t)) {
    return { kind: unsigned ? 'unsigned' : 'signed', scale: 0, maxLength: 20 };
  }
  if (t === 'decimal' || t === 'numeric') {
    const precision = column.numericPrecision ?? 65;
    const scale = column.numericScale ?? 0;
    // digits + sign + point
    return { kind: 'decimal', scale, maxLength: precision + 1 + (scale > 0 ? 1 : 0) };
  }
  if (t === 'date') return { kind: 'date', scale: 0, maxLength: 10 };
  if (t === 'datetime' || t === 'timestamp') {
    const scale = column.datetimePrecision ?? 0;
    return { kind: 'datetime', scale, maxLength: 19 + (scale > 0 ? scale + 1 : 0) };
  }
  if (STRING_TYPES.has(t))
    return { kind: 'string', scale: 0, maxLength: column.maxLength ?? Infinity };
  return undefined;
}

const INTEGER_RE = /^-?\d+$/;
const DECIMAL_RE = /^-?\d+(\.\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Checks a user-given key (e.g. `reset --to`); returns an error message or undefined. */
export function checkKeyValue(kind: KeyKind, value: string): string | undefined {
  if (value.length > MAX_KEY_LENGTH) return `is longer than ${MAX_KEY_LENGTH} characters`;
  switch (kind) {
    case 'signed':
      return INTEGER_RE.test(value) ? undefined : 'is not an integer';
    case 'unsigned':
      return /^\d+$/.test(value) ? undefined : 'is not a non-negative integer';
    case 'decimal':
      return DECIMAL_RE.test(value) ? undefined : 'is not a decimal number';
    case 'date':
      return DATE_RE.test(value) ? undefined : 'is not a date (YYYY-MM-DD)';
    case 'datetime':
      return DATETIME_RE.test(value) ? undefined : 'is not a date and time (YYYY-MM-DD HH:MM:SS)';
    case 'string':
      return undefined;
  }
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a lookback for a key kind: a count of key units for numeric keys, a duration (`30s`,
 * `10m`, `2h`, `1d`) for temporal keys. String keys cannot look back.
 */
export function parseLookback(
  kind: KeyKind,
  input: string,
): { ok: true; units: string } | { ok: true; seconds: number } | { ok: false; error: string } {
  const text = input.trim();
  if (kind === 'string')
    return { ok: false, error: 'string keys have no distance, so they cannot look back' };
  if (kind === 'date' || kind === 'datetime') {
    const m = /^(\d+)\s*([smhd])$/.exec(text);
    if (!m) return { ok: false, error: `"${input}" is not a duration such as 30s, 10m, 2h or 1d` };
    const seconds = Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1);
    if (seconds <= 0) return { ok: false, error: 'must be more than zero' };
    if (kind === 'date' && seconds % 86400 !== 0)
      return { ok: false, error: 'a DATE key looks back in whole days (e.g. 2d)' };
    return { ok: true, seconds };
  }
  const re = kind === 'decimal' ? DECIMAL_RE : /^\d+$/;
  if (!re.test(text) || /^-/.test(text) || /^0+(\.0+)?$/.test(text)) {
    return { ok: false, error: `"${input}" is not a positive count of key units` };
  }
  return { ok: true, units: text };
}

/**
 * The lower bound of a lookback window: `cursor - lookback`, computed exactly (BigInt, scaled
 * decimals, calendar arithmetic on the printed date), clamped to the kind's minimum.
 */
export function keyMinus(
  kind: KeyKind,
  scale: number,
  cursor: string,
  lookback: string,
): string | null {
  const parsed = parseLookback(kind, lookback);
  if (!parsed.ok) throw new Error(parsed.error);
  if ('units' in parsed) {
    if (kind === 'decimal') {
      const c = toScaled(cursor, scale);
      const l = toScaled(parsed.units, scale);
      return fromScaled(c - l, scale);
    }
    const result = BigInt(cursor) - BigInt(parsed.units);
    if (kind === 'unsigned' && result < 0n) return null; // window reaches the start: read everything
    return result.toString();
  }
  if (kind === 'date') {
    const m = DATE_RE.exec(cursor);
    const t = m ? utcMillis(m) : undefined;
    if (t === undefined) return null;
    const shifted = new Date(t - parsed.seconds * 1000).toISOString();
    if (shifted.startsWith('-') || shifted.startsWith('+')) return null;
    return shifted.slice(0, 10);
  }
  const m = DATETIME_RE.exec(cursor);
  const whole = m ? utcMillis(m) : undefined;
  if (!m || whole === undefined) return null;
  const shifted = new Date(whole - parsed.seconds * 1000).toISOString();
  if (shifted.startsWith('-') || shifted.startsWith('+')) return null;
  const fraction = m[7] !== undefined ? `.${m[7]}` : '';
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)}${fraction}`;
}

/**
 * Epoch milliseconds of a printed DATE/DATETIME (regex groups year, month, day[, h, m, s]), or
 * undefined for MySQL zero dates (`0000-00-00`, `2024-00-10`): they sort before every real date,
 * so a window behind one reaches the start. `Date.UTC` is avoided because it reads years 0-99 as
 * 1900-1999, which would move a window behind `0001-01-01` forward by 1900 years.
 */
function utcMillis(m: RegExpExecArray): number | undefined {
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || day < 1) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), month - 1, day);
  d.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), 0);
  return d.getTime();
}

function toScaled(value: string, scale: number): bigint {
  const negative = value.startsWith('-');
  const [int = '0', frac = ''] = value.replace(/^-/, '').split('.');
  const digits = BigInt(int + frac.padEnd(scale, '0').slice(0, scale));
  return negative ? -digits : digits;
}

function fromScaled(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

/**
 * An approximate position of a key on a number line, for progress bars only (never for reads):
 * numbers as numbers, dates as epoch milliseconds, strings by their first characters.
 */
export function keyPosition(kind: KeyKind, key: string): number {
  switch (kind) {
    case 'signed':
    case 'unsigned':
    case 'decimal':
      return Number(key);
    case 'date':
    case 'datetime':
      return Date.parse(`${key.replace(' ', 'T')}Z`);
    case 'string': {
      let n = 0;
      for (let i = 0; i < 6; i++) n = n * 65536 + (key.charCodeAt(i) || 0);
      return n;
    }
  }
}
