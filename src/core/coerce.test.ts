import { describe, expect, it } from 'vitest';
import {
  describe as describeValue,
  isoMillis,
  rejectInput,
  toFiniteNumber,
  toIsoDate,
  toText,
} from './coerce.js';

function date(v: unknown): string {
  const r = toIsoDate(v);
  if (!r.ok) throw new Error(`expected a date from ${String(v)}: ${r.reason}`);
  return r.value;
}

function badDate(v: unknown): void {
  const r = toIsoDate(v);
  expect(r, String(v)).toMatchObject({ ok: false, code: 'bad_date' });
  if (!r.ok) expect(r.reason).toContain('is not a date');
}

describe('toIsoDate', () => {
  it('reads a MySQL DATETIME string as UTC', () => {
    expect(date('2024-05-01 12:34:56')).toBe('2024-05-01T12:34:56.000Z');
  });

  it('keeps milliseconds of a DATETIME(6) and drops the rest', () => {
    expect(date('2024-05-01 12:34:56.123456')).toBe('2024-05-01T12:34:56.123Z');
    expect(date('2024-05-01 12:34:56.5')).toBe('2024-05-01T12:34:56.500Z');
  });

  it('takes the fast path for DATE and DATETIME text exactly as the general one', () => {
    // A leading space skips the fast path (the general path trims), so both can be compared.
    const samples = [
      '2024-05-01 12:34:56',
      '2024-05-01 12:34:56.789',
      '2024-05-01T12:34:56.789',
      '2024-02-29 00:00:00.000',
      '2023-02-29 00:00:00.000',
      '2024-04-31 10:00:00',
      '0000-00-00 00:00:00',
      '2024-13-01 00:00:00',
      '2024-05-01 24:00:00',
      '2024-05-01 23:60:00',
      '2024-05-01 23:59:60',
      '2024-05-01 12:34:56.78x',
      '2024-05-01x12:34:56.789',
      '2024/05/01 12:34:56.789',
      '9999-12-31 23:59:59.999',
      '0001-01-01 00:00:00',
      '2024-05-01',
      '2024-02-29',
      '2023-02-29',
      '0000-00-00',
      '2024-00-10',
      '2024-05-1x',
      '2024/05/01',
      '9999-12-31',
    ];
    for (let i = 0; i < 2000; i++) {
      const pick = (n: number) => String(Math.floor(Math.random() * n)).padStart(2, '0');
      samples.push(
        `20${pick(40)}-${pick(14)}-${pick(33)} ${pick(26)}:${pick(62)}:${pick(62)}.${pick(100)}${pick(10).slice(1)}`,
        `20${pick(40)}-${pick(14)}-${pick(33)} ${pick(26)}:${pick(62)}:${pick(62)}`,
        `${pick(100)}${pick(100)}-${pick(14)}-${pick(33)}`,
      );
    }
    const outcome = (r: ReturnType<typeof toIsoDate>) => (r.ok ? r.value : r.code);
    for (const s of samples) expect(outcome(toIsoDate(s)), s).toBe(outcome(toIsoDate(` ${s}`)));
    expect(date('2024-05-01 12:34:56.789')).toBe('2024-05-01T12:34:56.789Z');
    badDate('2023-02-29 00:00:00.000');
  });

  it('reads a DATE as midnight UTC', () => {
    expect(date('2024-05-01')).toBe('2024-05-01T00:00:00.000Z');
  });

  it('converts an ISO string with an offset to UTC', () => {
    expect(date('2024-05-01T12:00:00+02:00')).toBe('2024-05-01T10:00:00.000Z');
    expect(date('2024-05-01T12:00:00-05:00')).toBe('2024-05-01T17:00:00.000Z');
    expect(date('2024-05-01T12:00:00.250Z')).toBe('2024-05-01T12:00:00.250Z');
  });

  it('reads an ISO string without a zone as UTC', () => {
    expect(date('2024-05-01T12:00:00')).toBe('2024-05-01T12:00:00.000Z');
    expect(date('2024-05-01T12:00')).toBe('2024-05-01T12:00:00.000Z');
  });

  it('reads epoch seconds and milliseconds, as numbers and as digit strings', () => {
    const iso = '2024-05-01T12:00:00.000Z';
    expect(date(1714564800)).toBe(iso);
    expect(date(1714564800000)).toBe(iso);
    expect(date('1714564800')).toBe(iso);
    expect(date('1714564800000')).toBe(iso);
    expect(date(1714564800n)).toBe(iso);
    expect(date(1714564800.5)).toBe('2024-05-01T12:00:00.500Z');
  });

  it('accepts a valid Date object', () => {
    expect(date(new Date('2024-05-01T12:00:00Z'))).toBe('2024-05-01T12:00:00.000Z');
    badDate(new Date('nope'));
  });

  it('trims surrounding spaces', () => {
    expect(date(' 2024-05-01 ')).toBe('2024-05-01T00:00:00.000Z');
  });

  it('rejects the MySQL zero date', () => {
    badDate('0000-00-00 00:00:00');
    badDate('0000-00-00');
    badDate('2024-00-10');
    badDate('2024-05-00');
  });

  it('rejects days that do not exist, and accepts Feb 29 in leap years only', () => {
    badDate('2024-02-30');
    badDate('2023-02-29');
    badDate('2023-02-29 10:00:00');
    badDate('2024-04-31');
    badDate('2024-13-01');
    badDate('1900-02-29');
    expect(date('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
    expect(date('2000-02-29')).toBe('2000-02-29T00:00:00.000Z');
  });

  it('rejects an impossible day in an ISO string instead of rolling it over', () => {
    // Regression: Date.parse turned 2024-02-30T... into 2024-03-01 silently.
    badDate('2024-02-30T12:00:00+02:00');
    badDate('2023-02-29T00:00:00Z');
    badDate('2024-04-31T00:00:00');
  });

  it('rejects impossible times', () => {
    badDate('2024-05-01 24:00:00');
    badDate('2024-05-01 12:60:00');
    badDate('2024-05-01 12:00:60');
    badDate('2024-05-01T25:00:00Z');
  });

  it('rejects garbage, empty strings, NULL and other types', () => {
    for (const v of [
      'garbage',
      '',
      'yesterday',
      '2024-05',
      '01/05/2024',
      null,
      undefined,
      true,
      {},
      [],
      NaN,
      Infinity,
    ]) {
      badDate(v);
    }
  });
});

describe('isoMillis', () => {
  it('reads every day of years 0000-9999 and any time of day as Date.parse does', () => {
    // Every 7th day with a time that walks through hours, minutes, seconds and milliseconds.
    const wrong: string[] = [];
    let n = 0;
    for (let t = Date.UTC(2000, 0, 1) - 730_485 * 86_400_000; t < 253402300800000; n++) {
      const iso = new Date(t).toISOString();
      if (isoMillis(iso) !== t) wrong.push(iso);
      t += 7 * 86_400_000 + ((n * 7_919_993) % 86_400_000) - 43_200_000;
    }
    expect(wrong).toEqual([]);
    expect(n).toBeGreaterThan(500_000);
    for (const iso of [
      '2024-02-29T23:59:59.999Z',
      '1900-03-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
    ]) {
      expect(isoMillis(iso), iso).toBe(Date.parse(iso));
    }
  });

  it('falls back to Date.parse for other shapes, and is NaN for what is no date', () => {
    for (const iso of [
      '+010000-01-01T00:00:00.000Z',
      '-000001-06-01T12:00:00.000Z',
      '2024-01-01T00:00:00Z',
    ]) {
      expect(isoMillis(iso), iso).toBe(Date.parse(iso));
    }
    expect(isoMillis('2024-0x-01T00:00:00.000Z')).toBeNaN();
    expect(isoMillis('not a date at all, 24 ch')).toBeNaN();
  });
});

describe('toFiniteNumber', () => {
  it('reads a DECIMAL string', () => {
    expect(toFiniteNumber('12.50')).toEqual({ ok: true, value: 12.5 });
    expect(toFiniteNumber(' -3 ')).toEqual({ ok: true, value: -3 });
    expect(toFiniteNumber('.5')).toEqual({ ok: true, value: 0.5 });
  });

  it('passes a number through', () => {
    expect(toFiniteNumber(3)).toEqual({ ok: true, value: 3 });
    expect(toFiniteNumber(0)).toEqual({ ok: true, value: 0 });
  });

  it('reads exponent notation', () => {
    expect(toFiniteNumber('1e3')).toEqual({ ok: true, value: 1000 });
    expect(toFiniteNumber('2.5E-1')).toEqual({ ok: true, value: 0.25 });
  });

  it('reads a bigint', () => {
    expect(toFiniteNumber(42n)).toEqual({ ok: true, value: 42 });
  });

  it('refuses text that is not a number', () => {
    for (const v of ['abc', '', ' ', '12abc', '1,5', '0x10', 'Infinity', 'NaN']) {
      const r = toFiniteNumber(v);
      expect(r, JSON.stringify(v)).toMatchObject({ ok: false, code: 'not_a_number' });
      if (!r.ok) expect(r.reason).toContain('is not a number');
    }
  });

  it('refuses NaN, Infinity and overflowing text as not finite', () => {
    for (const v of [NaN, Infinity, -Infinity, '1e400']) {
      expect(toFiniteNumber(v), String(v)).toMatchObject({ ok: false, code: 'not_finite' });
    }
  });

  it('refuses NULL, booleans and objects', () => {
    for (const v of [null, undefined, true, {}, Buffer.from('1')]) {
      expect(toFiniteNumber(v)).toMatchObject({ ok: false, code: 'not_a_number' });
    }
  });
});

describe('toText', () => {
  it('counts an emoji as one character', () => {
    const emoji = '😀'.repeat(255);
    expect(emoji.length).toBe(510);
    expect(toText(emoji, 255)).toEqual({ ok: true, value: emoji });
    expect(toText('😀'.repeat(256), 255)).toMatchObject({ ok: false, code: 'too_long' });
  });

  it('accepts 255 characters and rejects 256 as too long', () => {
    expect(toText('a'.repeat(255), 255)).toEqual({ ok: true, value: 'a'.repeat(255) });
    const r = toText('a'.repeat(256), 255);
    expect(r).toMatchObject({ ok: false, code: 'too_long' });
    if (!r.ok) expect(r.reason).toBe('is 256 characters, longer than 255');
  });

  it('decodes a Buffer as UTF-8', () => {
    expect(toText(Buffer.from('héllo 😀', 'utf8'), 255)).toEqual({ ok: true, value: 'héllo 😀' });
  });

  it('serialises an object or array as JSON', () => {
    expect(toText({ plan: 'pro', seats: 3 }, 255)).toEqual({
      ok: true,
      value: '{"plan":"pro","seats":3}',
    });
    expect(toText([1, 2], 255)).toEqual({ ok: true, value: '[1,2]' });
  });

  it('prints numbers, bigints and booleans', () => {
    expect(toText(42, 255)).toEqual({ ok: true, value: '42' });
    expect(toText(18446744073709551615n, 255)).toEqual({ ok: true, value: '18446744073709551615' });
    expect(toText(false, 255)).toEqual({ ok: true, value: 'false' });
  });

  it('refuses NULL, undefined and functions as bad_type', () => {
    for (const v of [null, undefined, () => 1, Symbol('s')]) {
      expect(toText(v, 255)).toMatchObject({ ok: false, code: 'bad_type' });
    }
  });
});

describe('describe and rejectInput', () => {
  it('describes values briefly', () => {
    expect(describeValue(null)).toBe('NULL');
    expect(describeValue('abc')).toBe('"abc"');
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(57)}..."`);
    expect(describeValue(Buffer.from([0xab, 0xcd]))).toBe('0xabcd');
    expect(describeValue(12)).toBe('12');
  });

  it('keeps at most 200 characters of a reject input, and none for NULL', () => {
    expect(rejectInput(null)).toBeUndefined();
    expect(rejectInput(undefined)).toBeUndefined();
    expect(rejectInput('x'.repeat(300))).toHaveLength(200);
    expect(rejectInput(Buffer.from('hi'))).toBe('hi');
    expect(rejectInput({ a: 1 })).toBe('{"a":1}');
    expect(rejectInput(7)).toBe('7');
  });
});
