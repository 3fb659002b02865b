import { describe, expect, it } from 'vitest';
import {
  ACTIVITIES,
  NUMS,
  PackedStrings,
  SeenTable,
  TablePool,
  charsToString,
  type PackedTable,
} from './seen-table.js';

/** The keys of a packed table, in its order. */
function keys(t: PackedTable): string[] {
  const strings = new PackedStrings(t);
  return [...t.order].map((r) => strings.get(r, 0) as string);
}

describe('SeenTable', () => {
  it('finds each key once, by prefix and key, through growth from a capacity not a power of two', () => {
    const table = new SeenTable(2, 3);
    const rows = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) {
      const prefix = i % 2 === 0 ? 'x:' : 'e:';
      const key = `k${(i * 7919) % 2_000}`;
      const r = table.row(prefix, key);
      const seen = rows.get(prefix + key);
      expect(table.added).toBe(seen === undefined);
      if (seen === undefined) rows.set(prefix + key, r);
      else expect(r).toBe(seen);
      table.nums[r * NUMS + ACTIVITIES] = (table.nums[r * NUMS + ACTIVITIES] as number) + 1;
    }
    // 'x:' takes the even i, whose keys are the even residues, 'e:' the odd: 1,000 keys each.
    expect(table.rows).toBe(rows.size);
    expect(table.rows).toBe(2_000);
    // The same text split differently is the same key.
    expect(table.row('', 'x:k0')).toBe(rows.get('x:k0'));
    expect(table.added).toBe(false);
    let total = 0;
    for (let r = 0; r < table.rows; r++) total += table.nums[r * NUMS + ACTIVITIES] as number;
    expect(total).toBe(5_000);
  });

  it('frees the buffers it outgrows at once, and keeps every row through the growth', () => {
    const table = new SeenTable(2, 256);
    table.row('x:', 'first');
    const outgrown = table.nums;
    const rows = 5_000;
    for (let i = 1; i < rows; i++) {
      const r = table.row('x:', `user-${i}-${'z'.repeat(i % 40)}`);
      table.nums[r * NUMS + ACTIVITIES] = i;
      table.set(r, 1, `mail-${i}`);
    }
    // Moved away (detached) rather than left for the collector: nothing can read them since.
    expect(outgrown.byteLength).toBe(0);
    expect(table.nums.byteLength).toBeGreaterThan(0);
    for (let i = 1; i < rows; i++) {
      const r = table.row('x:', `user-${i}-${'z'.repeat(i % 40)}`);
      expect(table.added).toBe(false);
      expect(table.nums[r * NUMS + ACTIVITIES]).toBe(i);
      expect(table.get(r, 1)).toBe(`mail-${i}`);
    }
    expect(table.rows).toBe(rows);
  });

  it('keeps strings exactly: empty, emoji, lone surrogates, NUL, and fields null until set', () => {
    const table = new SeenTable(3);
    const odd = ['', '😀 ünïcode', '\ud800 lone', 'a\u0000b', 'x'.repeat(10_000)];
    const rows = odd.map((k) => table.row('', k));
    expect(new Set(rows).size).toBe(odd.length);
    table.set(rows[1] as number, 2, 'name 😀');
    expect(table.isNull(rows[1] as number, 1)).toBe(true);
    expect(table.get(rows[1] as number, 1)).toBeNull();
    expect(table.get(rows[1] as number, 2)).toBe('name 😀');
    odd.forEach((k, i) => expect(table.get(rows[i] as number, 0)).toBe(k));
    expect(table.keyIs(rows[3] as number, 'a\u0000b')).toBe(true);
    expect(table.keyIs(rows[3] as number, 'a\u0000')).toBe(false);
    const packed = table.pack();
    const strings = new PackedStrings(packed);
    expect(strings.get(rows[1] as number, 2)).toBe('name 😀');
    expect(strings.get(rows[2] as number, 0)).toBe('\ud800 lone');
    expect(strings.get(rows[1] as number, 0, 3)).toBe('ünïcode');
    expect(strings.startsWith(rows[1] as number, '😀')).toBe(true);
    expect(strings.startsWith(rows[0] as number, 'x')).toBe(false);
    expect(strings.startsWith(rows[3] as number, 'a\u0000b!')).toBe(false);
    expect(() => table.row('', 'late')).toThrow(/after pack/);
  });

  it('keeps one byte a character until one needs two, then finds and reads every row as before', () => {
    const table = new SeenTable(2, 4);
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${i}${i % 7 === 0 ? 'é' : ''}`);
    keys.forEach((k) => table.set(table.row('x:', k), 1, `${k}@x.io`));
    const narrow = table.bytes;
    table.row('x:', 'k\u0100');
    // The same rows take one more byte per character now (the new row's own aside).
    expect(table.bytes).toBeGreaterThan(narrow + 10_000);
    keys.forEach((k, r) => {
      expect(table.row('x:', k)).toBe(r);
      expect(table.get(r, 1)).toBe(`${k}@x.io`);
    });
    const packed = table.pack();
    expect(packed.chars).toBeInstanceOf(Uint16Array);
    expect(new PackedStrings(packed).get(1_000, 0)).toBe('x:k\u0100');
  });

  it('packs its rows in the order JS compares strings (prefixes first, code units, not locale)', () => {
    const table = new SeenTable(1);
    const words = [
      'x:b',
      'e:z',
      'x:B',
      'x:a',
      'x:ab',
      'x:é',
      'x:😀',
      'x:\uffff',
      'e:',
      'x:a\u0000',
    ];
    for (const w of words) table.row(w.slice(0, 2), w.slice(2));
    expect(keys(table.pack())).toEqual([...words].sort());
  });

  it('allocates nothing until its first row, whatever the capacity asked (even none)', () => {
    const empty = new SeenTable(2, 1 << 16);
    expect(empty.nums.length).toBe(0);
    expect(empty.pack().rows).toBe(0);
    const none = new SeenTable(1, 0);
    for (let i = 0; i < 100; i++) none.row('', `k${i}`);
    expect(none.row('', 'k99')).toBe(99);
    expect(none.get(42, 0)).toBe('k42');
  });

  it('counts what its rows use, not its capacity', () => {
    const table = new SeenTable(4, 1 << 16);
    expect(table.bytes).toBe(0);
    table.row('x:', 'abc');
    const one = table.bytes;
    table.row('x:', 'abd');
    expect(table.bytes).toBe(one * 2);
  });
});

describe('TablePool', () => {
  it('gives back the buffers of a table done with, emptied, once', () => {
    const pool = new TablePool();
    const first = pool.table(2, 8);
    for (let i = 0; i < 100; i++) {
      const r = first.row('', `k${i}`);
      first.nums[r * NUMS + ACTIVITIES] = 5;
      first.bits[r] = 3;
      first.links[r] = 9;
      first.set(r, 1, `v${i}`);
    }
    const packed = first.pack();
    pool.recycle([packed]);
    const second = pool.table(2, 8);
    expect(second.nums.buffer).toBe(packed.nums.buffer);
    // A table of another width does not take them, nor does a second table of this one.
    expect(pool.table(1, 8).nums.buffer).not.toBe(packed.nums.buffer);
    expect(pool.table(2, 8).nums.buffer).not.toBe(packed.nums.buffer);
    expect(second.rows).toBe(0);
    const r = second.row('', 'k5');
    expect(second.added).toBe(true);
    expect([second.nums[r * NUMS + ACTIVITIES], second.bits[r], second.links[r]]).toEqual([
      0, 0, 0,
    ]);
    expect(second.isNull(r, 1)).toBe(true);
    expect(second.row('', 'k6')).toBe(1);
    expect(second.row('', 'k5')).toBe(0);
    expect(keys(second.pack())).toEqual(['k5', 'k6']);
  });

  it('keeps nothing of a table whose buffers were transferred away', () => {
    const pool = new TablePool();
    const t = pool.table(1, 8);
    t.row('', 'a');
    const packed = t.pack();
    structuredClone(packed, { transfer: [packed.bits.buffer as ArrayBuffer] });
    pool.recycle([packed]);
    expect(pool.table(1, 8).nums.buffer).not.toBe(packed.nums.buffer);
  });
});

describe('charsToString', () => {
  it('reads long runs in pieces, exactly', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(i % 0xffff)).join('');
    const chars = new Uint16Array(text.length);
    for (let i = 0; i < text.length; i++) chars[i] = text.charCodeAt(i);
    expect(charsToString(chars, 0, chars.length)).toBe(text);
    expect(charsToString(chars, 5, 9_000)).toBe(text.slice(5, 9_000));
  });
});
