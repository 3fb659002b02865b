import { describe, expect, it } from 'vitest';
import type { FlatRecords } from './sqlite-batch-writer.js';
import { packRecords, transferablesOf, unpackRecords } from './packed-records.js';

describe('packRecords', () => {
  it('gives back every value exactly: strings of any kind, numbers, nulls, in order', () => {
    const values: FlatRecords = [
      '1',
      'a@x.io',
      null,
      '',
      'Zoë 👩‍💻 名前',
      '\ud800 lone surrogate',
      0,
      -0,
      1.5,
      2 ** 53 + 2,
      Number.MAX_VALUE,
      '2024-01-01T00:00:00.000Z',
      null,
      '{"plan":"pro"}',
    ];
    const back = unpackRecords(packRecords(values));
    expect(back).toEqual(values);
    expect(Object.is(back[7], -0)).toBe(true);
  });

  it('keeps a number only for the values that are numbers', () => {
    const packed = packRecords(['a', 1, null, 'b', 2.5, -0]);
    expect([...packed.numbers]).toEqual([1, 2.5, -0]);
    expect(Object.is(packed.numbers[2], -0)).toBe(true);
  });

  it('packs an empty part', () => {
    expect(unpackRecords(packRecords([]))).toEqual([]);
  });

  it('crosses a structured clone with its buffers transferred', () => {
    const values: FlatRecords = ['row-1', 2, null, 'été'];
    const packed = packRecords(values);
    const copy = structuredClone(packed, { transfer: transferablesOf(packed) });
    expect(unpackRecords(copy)).toEqual(values);
    // Transferred, not copied: the sender's arrays are detached.
    expect(packed.lengths.length).toBe(0);
  });
});
