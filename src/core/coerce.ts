/**
 * Coercion of MySQL values (as mysql2 delivers them with dateStrings and bigNumberStrings) into
 * record fields. Each function returns the value or a failure code; none throws, because a bad
 * value is a reject, not an error.
 */

export type Coerced<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      code: 'not_a_number' | 'not_finite' | 'bad_date' | 'too_long' | 'bad_type';
      reason: string;
    };

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MYSQL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Epoch values below this are seconds, above it milliseconds (1e11 s is the year 5138). */
const EPOCH_MS_THRESHOLD = 1e11;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validYmd(y: number, m: number, d: number): boolean {
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  if (d > (DAYS_IN_MONTH[m - 1] ?? 0)) return false;
  if (m === 2 && d === 29) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return true;
}

/**
 * Any date a source row can hold, as UTC ISO-8601 (`2024-05-01T12:00:00.000Z`): DATE and
 * DATETIME/TIMESTAMP strings (the session is UTC, so they are UTC already), ISO strings with or
 * without an offset (none means UTC), epoch seconds or milliseconds as numbers or digit strings.
 * MySQL strings are rewritten without a Date round trip: this runs once per row.
 */
export function toIsoDate(value: unknown): Coerced<string> {
  if (typeof value === 'string') {
    const fast = mysqlDatetimeToIso(value);
    if (fast !== undefined) return { ok: true, value: fast };
    const s = value.trim();
    let m = MYSQL_DATETIME.exec(s);
    if (m) {
      const y = Number(m[1]);
      const mo = Number(m[2]);
      const d = Number(m[3]);
      if (!validYmd(y, mo, d) || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) {
        return badDate(value);
      }
      const ms = (m[7] ?? '').padEnd(3, '0').slice(0, 3);
      return { ok: true, value: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${ms}Z` };
    }
    m = DATE_ONLY.exec(s);
    if (m) {
      if (!validYmd(Number(m[1]), Number(m[2]), Number(m[3]))) return badDate(value);
      return { ok: true, value: `${s}T00:00:00.000Z` };
    }
    if (NUMERIC.test(s)) return fromEpoch(Number(s), value);
    // ISO 8601 with T and an offset or Z; strings without offset are taken as UTC.
    const iso = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}/.exec(s);
    // Date.parse rolls an impossible day over (2024-02-30 -> 2024-03-01): check the calendar first.
    if (iso && validYmd(Number(iso[1]), Number(iso[2]), Number(iso[3]))) {
      const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) ? s : `${s}Z`;
      const t = Date.parse(withZone);
      if (Number.isFinite(t)) return { ok: true, value: new Date(t).toISOString() };
    }
    return badDate(value);
  }
  if (typeof value === 'number') return fromEpoch(value, value);
  if (typeof value === 'bigint') return fromEpoch(Number(value), value);
  if (value instanceof Date) {
    return Number.isFinite(value.getTime())
      ? { ok: true, value: value.toISOString() }
      : badDate(value);
  }
  return badDate(value);
}

const ZERO = 48;

/** The number of the two ASCII digits at i, or -1. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - ZERO;
  const b = s.charCodeAt(i + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Year, month, day, hour, minute, second of the last readDateTime (a scratch: no allocation). */
const FIELDS = new Int32Array(6);

/**
 * Reads `YYYY-MM-DD?hh:mm:ss` at the start of `s` into FIELDS, by character codes: false unless
 * the separators at 4, 7, 13 and 16 are there and the rest are digits (the one at 10 is the
 * caller's to check). Ranges are not checked.
 */
function readDateTime(s: string): boolean {
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false; // '-'
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false; // ':'
  const c = digits2(s, 0);
  const y2 = digits2(s, 2);
  const mo = digits2(s, 5);
  const d = digits2(s, 8);
  const h = digits2(s, 11);
  const mi = digits2(s, 14);
  const se = digits2(s, 17);
  if ((c | y2 | mo | d | h | mi | se) < 0) return false;
  FIELDS[0] = c * 100 + y2;
  FIELDS[1] = mo;
  FIELDS[2] = d;
  FIELDS[3] = h;
  FIELDS[4] = mi;
  FIELDS[5] = se;
  return true;
}

/**
 * The fast path of {@link toIsoDate} for what mysql2 hands over for DATE, DATETIME(0/3) and
 * TIMESTAMP columns (`YYYY-MM-DD[ hh:mm:ss[.mmm]]`): checked by character codes and rewritten
 * (about 4x faster than the regular expression; this runs once per landed row). Undefined for
 * anything else, which the general path then handles or rejects.
 */
export function mysqlDatetimeToIso(s: string): string | undefined {
  const n = s.length;
  if (n === 10) {
    if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined; // '-'
    const c = digits2(s, 0);
    const y2 = digits2(s, 2);
    const mo = digits2(s, 5);
    const d = digits2(s, 8);
    if ((c | y2 | mo | d) < 0 || !validYmd(c * 100 + y2, mo, d)) return undefined;
    return flatIso(s, n);
  }
  if (n !== 19 && n !== 23) return undefined;
  const t = s.charCodeAt(10);
  if (t !== 32 && t !== 84) return undefined; // ' ' or 'T'
  if (!readDateTime(s)) return undefined;
  const h = FIELDS[3] as number;
  const mi = FIELDS[4] as number;
  const se = FIELDS[5] as number;
  if (h > 23 || mi > 59 || se > 59) return undefined;
  if (!validYmd(FIELDS[0] as number, FIELDS[1] as number, FIELDS[2] as number)) return undefined;
  if (n === 23 && (s.charCodeAt(19) !== 46 || digits2(s, 20) < 0 || digits2(s, 21) < 0)) {
    return undefined; // '.'
  }
  return flatIso(s, n);
}

const at = (s: string, i: number): number => s.charCodeAt(i);

/**
 * A checked `YYYY-MM-DD` (n 10), `YYYY-MM-DD hh:mm:ss` (19) or `... .mmm` (23) as
 * `YYYY-MM-DDThh:mm:ss.mmmZ`, built from character codes into one flat string. Joined from
 * slices instead, the date was a rope of four strings, and every later read of it (isoMillis,
 * the rollup's day, packing the part) walked or flattened the rope: 0.4 s of a million-row sync's
 * main thread went to reading such dates back.
 */
function flatIso(s: string, n: number): string {
  const time = n > 10;
  const ms = n > 19;
  return String.fromCharCode(
    at(s, 0),
    at(s, 1),
    at(s, 2),
    at(s, 3),
    45, // '-'
    at(s, 5),
    at(s, 6),
    45,
    at(s, 8),
    at(s, 9),
    84, // 'T'
    time ? at(s, 11) : 48, // '0'
    time ? at(s, 12) : 48,
    58, // ':'
    time ? at(s, 14) : 48,
    time ? at(s, 15) : 48,
    58,
    time ? at(s, 17) : 48,
    time ? at(s, 18) : 48,
    46, // '.'
    ms ? at(s, 20) : 48,
    ms ? at(s, 21) : 48,
    ms ? at(s, 22) : 48,
    90, // 'Z'
  );
}

/**
 * Milliseconds since the epoch of a date as {@link toIsoDate} gives it (`toISOString`'s shape),
 * read by character codes when it has the usual 24 (no Date, about 30 ns), else by Date.parse.
 * NaN when it is no such date. A number keeps a running first or last date without holding a
 * string per update: each one a row replaced outlived the young generation.
 */
export function isoMillis(s: string): number {
  if (
    s.length !== 24 ||
    s.charCodeAt(10) !== 84 || // 'T'
    s.charCodeAt(19) !== 46 || // '.'
    s.charCodeAt(23) !== 90 || // 'Z'
    !readDateTime(s)
  ) {
    return Date.parse(s);
  }
  const ms1 = digits2(s, 20);
  const ms2 = s.charCodeAt(22) - ZERO;
  if (ms1 < 0 || ms2 < 0 || ms2 > 9) return Date.parse(s);
  const days = daysFromCivil(FIELDS[0] as number, FIELDS[1] as number, FIELDS[2] as number);
  const h = FIELDS[3] as number;
  return (
    days * 86_400_000 +
    h * 3_600_000 +
    (FIELDS[4] as number) * 60_000 +
    (FIELDS[5] as number) * 1000 +
    ms1 * 10 +
    ms2
  );
}

/** Days from 1970-01-01 to a proleptic Gregorian date, years 0-9999 (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function fromEpoch(n: number, input: unknown): Coerced<string> {
  if (!Number.isFinite(n)) return badDate(input);
  const ms = Math.abs(n) < EPOCH_MS_THRESHOLD ? n * 1000 : n;
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return badDate(input);
  return { ok: true, value: d.toISOString() };
}

function badDate(input: unknown): Coerced<never> {
  return { ok: false, code: 'bad_date', reason: `${describe(input)} is not a date` };
}

/** A finite number from a number, a numeric string (DECIMAL arrives as one) or a bigint. */
export function toFiniteNumber(value: unknown): Coerced<number> {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    const s = value.trim();
    if (!NUMERIC.test(s))
      return { ok: false, code: 'not_a_number', reason: `${describe(value)} is not a number` };
    n = Number(s);
  } else if (typeof value === 'bigint') n = Number(value);
  else return { ok: false, code: 'not_a_number', reason: `${describe(value)} is not a number` };
  if (!Number.isFinite(n))
    return { ok: false, code: 'not_finite', reason: `${describe(value)} is not a finite number` };
  return { ok: true, value: n };
}

/**
 * Text for a string field: strings as they are, numbers printed, Buffers as UTF-8, JSON values
 * serialised. Length counts characters (an emoji is one); longer than `max` is a reject.
 */
export function toText(value: unknown, max: number): Coerced<string> {
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'bigint') s = String(value);
  else if (Buffer.isBuffer(value)) s = value.toString('utf8');
  else if (typeof value === 'object' && value !== null) s = JSON.stringify(value);
  else if (typeof value === 'boolean') s = String(value);
  else return { ok: false, code: 'bad_type', reason: `${describe(value)} cannot be text` };
  // UTF-16 length over-counts astral characters only, so count code points just when close.
  if (s.length > max && [...s].length > max) {
    return {
      ok: false,
      code: 'too_long',
      reason: `is ${[...s].length} characters, longer than ${max}`,
    };
  }
  return { ok: true, value: s };
}

/** A short printable form of an input for messages and reject records. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Buffer.isBuffer(value)) return `0x${value.subarray(0, 30).toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(value).slice(0, 60);
  return String(value);
}

/** The input as kept on a reject: text, at most 200 characters. */
export function rejectInput(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s =
    typeof value === 'string'
      ? value
      : Buffer.isBuffer(value)
        ? value.toString('utf8')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  return s.length > 200 ? s.slice(0, 200) : s;
}
