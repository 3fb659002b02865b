import { describe, expect, it } from 'vitest';
import { count } from './format.js';

describe('count', () => {
  it('groups digits by three as en-US does', () => {
    expect(count(0)).toBe('0');
    expect(count(7)).toBe('7');
    expect(count(999)).toBe('999');
    expect(count(1000)).toBe('1,000');
    expect(count(1_234_567)).toBe('1,234,567');
    expect(count(-1_234_567)).toBe('-1,234,567');
    expect(count(100_000)).toBe('100,000');
    expect(count(Number.MAX_SAFE_INTEGER)).toBe('9,007,199,254,740,991');
    for (let n = 1; n < 1e16; n = n * 7 + 3) {
      expect(count(n)).toBe(n.toLocaleString('en-US'));
      expect(count(-n)).toBe((-n).toLocaleString('en-US'));
    }
  });

  it('writes fractions with one decimal', () => {
    expect(count(2.25)).toBe('2.3');
    expect(count(1234.5)).toBe('1234.5');
  });
});
