import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchParts, SPILL_AFTER_BYTES, spillPaths } from './batch-parts.js';
import { packRecords } from './packed-records.js';
import type { FlatRecords } from './sqlite-batch-writer.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-parts-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Part `n`: rows of strings of every width (Latin-1, CJK, emoji, a lone surrogate), numbers, nulls. */
function part(n: number, rows = 40): FlatRecords {
  const values: FlatRecords = [];
  for (let r = 0; r < rows; r++) {
    const wide = (n + r) % 3 === 0;
    values.push(
      `${n}-${r}`,
      wide ? `zoë 名前 👩‍💻 ${r}` : `café ${r}`,
      null,
      r % 5 === 0 ? '\ud800 lone' : '',
      n * 1000 + r,
      -0,
      r / 3,
    );
  }
  return values;
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('BatchParts', () => {
  it('holds a batch in memory up to its bound', () => {
    const parts = new BatchParts(spillPaths(join(dir, 'store.db'), 't'));
    const added = [part(1), part(2), part(3)];
    for (const p of added) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(0);
    expect(parts.heldBytes).toBeGreaterThan(0);
    expect([...parts.records()]).toEqual(added);
  });

  it('spills a batch of 10,000 rows by default: its parts do not wait on the heap', () => {
    const parts = new BatchParts(spillPaths(join(dir, 'store.db'), 't'));
    // In parts of 256 rows, as the engine hands them over.
    const added = Array.from({ length: 40 }, (_, n) => part(n, 256));
    for (const p of added) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(40);
    expect(parts.heldBytes).toBe(0);
    expect([...parts.records()]).toEqual(added);
    parts.discard();
    // A batch of a few rows makes no file (its part well under the bound).
    const small = new BatchParts(spillPaths(join(dir, 'store.db'), 't'));
    small.add(packRecords(part(1, 10)));
    expect(small.spilledParts).toBe(0);
    expect(SPILL_AFTER_BYTES).toBeGreaterThan(10 * 7 * 16);
  });

  it('past its bound, spills the parts held and every later one; gives them back exactly, in order', () => {
    const fds = openFds();
    const parts = new BatchParts(spillPaths(join(dir, 'store.db'), 't'), 6_000);
    const added = Array.from({ length: 12 }, (_, n) => part(n));
    parts.add(packRecords(added[0] as FlatRecords));
    expect(parts.spilledParts).toBe(0);
    for (const p of added.slice(1)) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(12);
    expect(parts.heldBytes).toBe(0);
    expect(parts.count).toBe(12);
    // The file is unlinked as soon as it is open: a crash leaves nothing in the data folder.
    expect(readdirSync(dir)).toEqual([]);
    expect(openFds()).toBe(fds + 1);
    const back = [...parts.records()];
    expect(back).toEqual(added);
    expect(Object.is(back[0]?.[5], -0)).toBe(true);
    // Read twice (a commit retried) gives the same.
    expect([...parts.records()]).toEqual(added);
    parts.discard();
    expect(openFds()).toBe(fds);
    expect([...parts.records()]).toEqual([]);
  });

  it('keeps the batch in memory when the spill file cannot be made', () => {
    const parts = new BatchParts(spillPaths(join(dir, 'missing', 'store.db'), 't'), 1_000);
    const added = Array.from({ length: 5 }, (_, n) => part(n));
    for (const p of added) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(0);
    expect([...parts.records()]).toEqual(added);
  });

  it('makes a new file for each batch', () => {
    const a = new BatchParts(spillPaths(join(dir, 'store.db'), 't'), 100);
    const b = new BatchParts(spillPaths(join(dir, 'store.db'), 't'), 100);
    a.add(packRecords(part(1)));
    b.add(packRecords(part(2)));
    a.add(packRecords(part(3)));
    expect([...a.records()]).toEqual([part(1), part(3)]);
    expect([...b.records()]).toEqual([part(2)]);
    a.discard();
    b.discard();
  });
});
