import { describe, expect, it } from 'vitest';
import {
  MAX_KEY_LENGTH,
  checkKeyValue,
  keyMinus,
  keyPosition,
  keyTypeOf,
  parseLookback,
} from './keys.js';
import type { ColumnInfo } from './types.js';

function col(dataType: string, columnType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name: 'k',
    dataType,
    columnType,
    nullable: false,
    maxLength: null,
    numericPrecision: null,
    numericScale: null,
    datetimePrecision: null,
    ...extra,
  };
}

describe('keyTypeOf', () => {
  it('treats int as a signed key of at most 20 characters', () => {
    expect(keyTypeOf(col('int', 'int(11)'))).toEqual({ kind: 'signed', scale: 0, maxLength: 20 });
  });

  it('treats bigint unsigned as an unsigned key', () => {
    expect(keyTypeOf(col('bigint', 'bigint(20) unsigned'))).toEqual({
      kind: 'unsigned',
      scale: 0,
      maxLength: 20,
    });
    expect(keyTypeOf(col('BIGINT', 'BIGINT UNSIGNED'))?.kind).toBe('unsigned');
    expect(keyTypeOf(col('tinyint', 'tinyint(3) unsigned zerofill'))?.kind).toBe('unsigned');
  });

  it('treats decimal(30,10) as a decimal key of 32 characters: 30 digits, a sign and a point', () => {
    const t = keyTypeOf(
      col('decimal', 'decimal(30,10)', { numericPrecision: 30, numericScale: 10 }),
    );
    expect(t).toEqual({ kind: 'decimal', scale: 10, maxLength: 32 });
    expect(t && t.maxLength <= MAX_KEY_LENGTH).toBe(true);
  });

  it('counts no point for a decimal without scale, and too long a decimal exceeds the limit', () => {
    expect(
      keyTypeOf(col('decimal', 'decimal(20,0)', { numericPrecision: 20, numericScale: 0 })),
    ).toEqual({ kind: 'decimal', scale: 0, maxLength: 21 });
    const wide = keyTypeOf(
      col('decimal', 'decimal(31,10)', { numericPrecision: 31, numericScale: 10 }),
    );
    expect(wide?.maxLength).toBeGreaterThan(MAX_KEY_LENGTH);
  });

  it('treats date as a 10-character date key', () => {
    expect(keyTypeOf(col('date', 'date'))).toEqual({ kind: 'date', scale: 0, maxLength: 10 });
  });

  it('treats datetime(6) as a datetime key with 6 fractional digits', () => {
    expect(keyTypeOf(col('datetime', 'datetime(6)', { datetimePrecision: 6 }))).toEqual({
      kind: 'datetime',
      scale: 6,
      maxLength: 26,
    });
  });

  it('treats timestamp as a datetime key without fraction', () => {
    expect(keyTypeOf(col('timestamp', 'timestamp', { datetimePrecision: 0 }))).toEqual({
      kind: 'datetime',
      scale: 0,
      maxLength: 19,
    });
  });

  it('treats varchar(32) as a string key of 32 and varchar(64) as longer than the limit', () => {
    expect(keyTypeOf(col('varchar', 'varchar(32)', { maxLength: 32 }))).toEqual({
      kind: 'string',
      scale: 0,
      maxLength: 32,
    });
    expect(keyTypeOf(col('varchar', 'varchar(64)', { maxLength: 64 }))?.maxLength).toBe(64);
    expect(keyTypeOf(col('char', 'char(16)', { maxLength: 16 }))?.kind).toBe('string');
  });

  it('refuses float, double, text, blob, json and time as keys', () => {
    for (const [t, ct] of [
      ['float', 'float'],
      ['double', 'double'],
      ['text', 'text'],
      ['blob', 'blob'],
      ['json', 'json'],
      ['time', 'time'],
    ]) {
      expect(keyTypeOf(col(t as string, ct as string)), t).toBeUndefined();
    }
  });
});

describe('checkKeyValue', () => {
  it('accepts integers for signed keys and refuses anything else', () => {
    expect(checkKeyValue('signed', '-42')).toBeUndefined();
    expect(checkKeyValue('signed', '9223372036854775807')).toBeUndefined();
    expect(checkKeyValue('signed', '4.2')).toBe('is not an integer');
    expect(checkKeyValue('signed', '')).toBe('is not an integer');
    expect(checkKeyValue('signed', '1e3')).toBe('is not an integer');
  });

  it('refuses negatives for unsigned keys', () => {
    expect(checkKeyValue('unsigned', '18446744073709551615')).toBeUndefined();
    expect(checkKeyValue('unsigned', '-1')).toBe('is not a non-negative integer');
  });

  it('accepts decimals with or without a fraction', () => {
    expect(checkKeyValue('decimal', '100.0001')).toBeUndefined();
    expect(checkKeyValue('decimal', '-7')).toBeUndefined();
    expect(checkKeyValue('decimal', '1.')).toBe('is not a decimal number');
    expect(checkKeyValue('decimal', 'abc')).toBe('is not a decimal number');
  });

  it('wants YYYY-MM-DD for dates and YYYY-MM-DD HH:MM:SS[.ffffff] for datetimes', () => {
    expect(checkKeyValue('date', '2024-03-01')).toBeUndefined();
    expect(checkKeyValue('date', '2024-3-1')).toMatch(/YYYY-MM-DD/);
    expect(checkKeyValue('date', '2024-03-01 00:00:00')).toMatch(/YYYY-MM-DD/);
    expect(checkKeyValue('datetime', '2024-03-01 00:00:05')).toBeUndefined();
    expect(checkKeyValue('datetime', '2024-03-01T00:00:05.123456')).toBeUndefined();
    expect(checkKeyValue('datetime', '2024-03-01')).toMatch(/HH:MM:SS/);
  });

  it('accepts any string key up to 32 characters', () => {
    expect(checkKeyValue('string', 'abc-01')).toBeUndefined();
    expect(checkKeyValue('string', 'x'.repeat(32))).toBeUndefined();
  });

  it('refuses any value longer than 32 characters', () => {
    expect(checkKeyValue('string', 'x'.repeat(33))).toBe('is longer than 32 characters');
    expect(checkKeyValue('unsigned', '1'.repeat(33))).toBe('is longer than 32 characters');
  });
});

describe('parseLookback', () => {
  it('reads a positive count of key units for integer keys', () => {
    expect(parseLookback('signed', '100')).toEqual({ ok: true, units: '100' });
    expect(parseLookback('unsigned', ' 5 ')).toEqual({ ok: true, units: '5' });
  });

  it('refuses zero, negatives, fractions and durations for integer keys', () => {
    for (const text of ['0', '000', '-5', '1.5', '10m', '', 'abc']) {
      const r = parseLookback('signed', text);
      expect(r.ok, text).toBe(false);
    }
  });

  it('reads decimal units with a fraction for decimal keys, but not zero', () => {
    expect(parseLookback('decimal', '0.0002')).toEqual({ ok: true, units: '0.0002' });
    expect(parseLookback('decimal', '0.000').ok).toBe(false);
    expect(parseLookback('decimal', '-1.5').ok).toBe(false);
  });

  it('reads durations for datetime keys', () => {
    expect(parseLookback('datetime', '30s')).toEqual({ ok: true, seconds: 30 });
    expect(parseLookback('datetime', '10m')).toEqual({ ok: true, seconds: 600 });
    expect(parseLookback('datetime', '2h')).toEqual({ ok: true, seconds: 7200 });
    expect(parseLookback('datetime', '1d')).toEqual({ ok: true, seconds: 86400 });
    expect(parseLookback('datetime', '10 m')).toEqual({ ok: true, seconds: 600 });
  });

  it('refuses a bare count or zero for datetime keys', () => {
    const bare = parseLookback('datetime', '100');
    expect(bare.ok).toBe(false);
    if (!bare.ok) expect(bare.error).toContain('duration');
    expect(parseLookback('datetime', '0m').ok).toBe(false);
    expect(parseLookback('datetime', '5w').ok).toBe(false);
  });

  it('wants whole days for date keys', () => {
    expect(parseLookback('date', '2d')).toEqual({ ok: true, seconds: 172800 });
    expect(parseLookback('date', '48h')).toEqual({ ok: true, seconds: 172800 });
    const r = parseLookback('date', '10m');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('whole days');
  });

  it('refuses any lookback for string keys', () => {
    const r = parseLookback('string', '10');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('string keys');
  });
});

describe('keyMinus', () => {
  it('subtracts exactly at the top of BIGINT UNSIGNED', () => {
    expect(keyMinus('unsigned', 0, '18446744073709551615', '5')).toBe('18446744073709551610');
    // A JS number would round these to the same value.
    expect(keyMinus('unsigned', 0, '9007199254740993', '1')).toBe('9007199254740992');
  });

  it('returns null (read from the start) when the window reaches below zero for unsigned keys', () => {
    expect(keyMinus('unsigned', 0, '3', '5')).toBeNull();
    expect(keyMinus('unsigned', 0, '5', '5')).toBe('0');
  });

  it('goes negative for signed keys', () => {
    expect(keyMinus('signed', 0, '3', '5')).toBe('-2');
    expect(keyMinus('signed', 0, '-9223372036854775800', '7')).toBe('-9223372036854775807');
  });

  it('subtracts decimals at the column scale without rounding', () => {
    expect(keyMinus('decimal', 4, '100.0001', '0.0002')).toBe('99.9999');
    expect(keyMinus('decimal', 4, '100.0000', '1')).toBe('99.0000');
    expect(keyMinus('decimal', 4, '0.0001', '0.0002')).toBe('-0.0001');
    expect(keyMinus('decimal', 0, '10', '3')).toBe('7');
    expect(keyMinus('decimal', 10, '12345678901234567890.0000000001', '0.0000000002')).toBe(
      '12345678901234567889.9999999999',
    );
  });

  it('keeps the microseconds of a datetime cursor and crosses into a leap day', () => {
    expect(keyMinus('datetime', 6, '2024-03-01 00:00:05.123456', '10s')).toBe(
      '2024-02-29 23:59:55.123456',
    );
    expect(keyMinus('datetime', 0, '2024-03-01 00:10:00', '10m')).toBe('2024-03-01 00:00:00');
    expect(keyMinus('datetime', 0, '2025-01-01 01:00:00', '1d')).toBe('2024-12-31 01:00:00');
  });

  it('subtracts whole days from a date cursor', () => {
    expect(keyMinus('date', 0, '2024-03-01', '2d')).toBe('2024-02-28');
    expect(keyMinus('date', 0, '2023-03-01', '1d')).toBe('2023-02-28');
  });

  it('keeps years below 100 as they are instead of reading them as 19xx', () => {
    // Regression: Date.UTC maps years 0-99 to 1900-1999, which moved the window forward.
    expect(keyMinus('datetime', 0, '0050-06-15 12:00:00', '1h')).toBe('0050-06-15 11:00:00');
    expect(keyMinus('date', 0, '0001-01-03', '2d')).toBe('0001-01-01');
  });

  it('reads from the start when the cursor is a MySQL zero date', () => {
    // Regression: '0000-00-00' used to become 1899-11-30, a bound after the cursor.
    expect(keyMinus('datetime', 0, '0000-00-00 00:00:00', '10m')).toBeNull();
    expect(keyMinus('date', 0, '0000-00-00', '1d')).toBeNull();
    expect(keyMinus('date', 0, '2024-00-00', '1d')).toBeNull();
  });

  it('returns null for a cursor that is not a printed date', () => {
    expect(keyMinus('datetime', 0, 'yesterday', '10m')).toBeNull();
    expect(keyMinus('date', 0, '2024/03/01', '1d')).toBeNull();
  });

  it('throws on a lookback that does not fit the key kind', () => {
    expect(() => keyMinus('signed', 0, '10', '10m')).toThrow(/not a positive count/);
    expect(() => keyMinus('string', 0, 'abc', '1')).toThrow(/string keys/);
  });
});

describe('keyPosition', () => {
  it('places keys on a number line in key order', () => {
    expect(keyPosition('unsigned', '10')).toBeLessThan(keyPosition('unsigned', '11'));
    expect(keyPosition('decimal', '1.5')).toBe(1.5);
    expect(keyPosition('datetime', '2024-03-01 00:00:00')).toBe(Date.UTC(2024, 2, 1));
    expect(keyPosition('date', '2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(keyPosition('string', 'abc')).toBeLessThan(keyPosition('string', 'abd'));
    expect(keyPosition('string', 'ab')).toBeLessThan(keyPosition('string', 'abc'));
  });
});
