import { describe, expect, it } from 'vitest';
import type { FlatRecords } from './sqlite-batch-writer.js';
import { packRecords, packedBytes, transferablesOf, unpackRecords } from './packed-records.js';

const roundTrip = (values: FlatRecords) => {
  const packed = packRecords(values);
  return unpackRecords(packed, packed.bytes);
};

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
    const back = roundTrip(values);
    expect(back).toEqual(values);
    expect(Object.is(back[7], -0)).toBe(true);
  });

  it('keeps a number only for the values that are numbers, and Latin-1 text a byte a character', () => {
    const packed = packRecords(['a', 1, null, 'bé', 2.5, -0]);
    expect(packed).toMatchObject({ textBytes: 3, latin1: true, values: 6, numbers: 3 });
    // 3 bytes of text padded to 8, six lengths (24 bytes), three numbers.
    expect(packed.bytes.byteLength).toBe(8 + 24 + 3 * 8);
    expect(packedBytes(packed)).toBe(packed.bytes.byteLength);
    const numbers = new Float64Array(packed.bytes.buffer, 32, 3);
    expect([...numbers]).toEqual([1, 2.5, -0]);
    expect(Object.is(numbers[2], -0)).toBe(true);
    // Padding is written, not left as whatever the memory held.
    expect([...packed.bytes.subarray(3, 8)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('keeps text past Latin-1 as UTF-16', () => {
    const packed = packRecords(['a', 'ā', '\ud800']);
    expect(packed).toMatchObject({ textBytes: 6, latin1: false });
    expect(unpackRecords(packed, packed.bytes)).toEqual(['a', 'ā', '\ud800']);
  });

  it('packs an empty part', () => {
    expect(roundTrip([])).toEqual([]);
  });

  it('reads a copy of its bytes (a spill file read back into another buffer)', () => {
    const values: FlatRecords = ['x', 7, null, 'y'];
    const packed = packRecords(values);
    const copy = new Uint8Array(packed.bytes.byteLength + 8);
    copy.set(packed.bytes, 8);
    expect(unpackRecords(packed, copy.subarray(8))).toEqual(values);
  });

  it('crosses a structured clone with its buffers transferred', () => {
    const values: FlatRecords = ['row-1', 2, null, 'été'];
    const packed = packRecords(values);
    const copy = structuredClone(packed, { transfer: transferablesOf(packed) });
    expect(unpackRecords(copy, copy.bytes)).toEqual(values);
    // Transferred, not copied: the sender's buffer is detached.
    expect(packed.bytes.byteLength).toBe(0);
  });
});
