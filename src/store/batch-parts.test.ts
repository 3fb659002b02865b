import { fstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchParts, SPILL_AFTER_BYTES, spillFiles, SpillFiles } from './batch-parts.js';
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

/** The largest of the spill files open in `folder` (unlinked, so found by its descriptor). */
function fdOf(folder: string): number {
  const fds = readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(folder, 'store.db.spill-'));
      } catch {
        return false;
      }
    });
  return fds.sort((x, y) => fstatSync(y).size - fstatSync(x).size)[0] as number;
}

describe('BatchParts', () => {
  it('holds a batch in memory up to its bound, and frees it once discarded', () => {
    const parts = new BatchParts(spillFiles(join(dir, 'store.db'), 't'));
    const added = [part(1, 120), part(2, 120), part(3, 120)];
    const packed = added.map((p) => packRecords(p));
    for (const p of packed) parts.add(p);
    expect(parts.spilledParts).toBe(0);
    expect(parts.heldBytes).toBeGreaterThan(0);
    expect([...parts.records()]).toEqual(added);
    parts.discard();
    expect(packed.map((p) => p.bytes.byteLength)).toEqual([0, 0, 0]);
  });

  it('spills a batch of 10,000 rows by default: its parts do not wait on the heap', () => {
    const parts = new BatchParts(spillFiles(join(dir, 'store.db'), 't'));
    // In parts of 256 rows, as the engine hands them over.
    const added = Array.from({ length: 40 }, (_, n) => part(n, 256));
    for (const p of added) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(40);
    expect(parts.heldBytes).toBe(0);
    expect([...parts.records()]).toEqual(added);
    parts.discard();
    // A batch of a few rows makes no file (its part well under the bound).
    const small = new BatchParts(spillFiles(join(dir, 'store.db'), 't'));
    small.add(packRecords(part(1, 10)));
    expect(small.spilledParts).toBe(0);
    expect(SPILL_AFTER_BYTES).toBeGreaterThan(10 * 7 * 16);
  });

  it('past its bound, spills the parts held and every later one; gives them back exactly, in order', () => {
    const fds = openFds();
    const files = spillFiles(join(dir, 'store.db'), 't');
    // Parts over Buffer's pool (8 KiB), so each may be freed (see core/bytes.ts).
    const parts = new BatchParts(files, 12_000);
    const added = Array.from({ length: 12 }, (_, n) => part(n, 120));
    const first = packRecords(added[0] as FlatRecords);
    parts.add(first);
    expect(parts.spilledParts).toBe(0);
    expect(first.bytes.byteLength).toBeGreaterThan(0);
    for (const p of added.slice(1)) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(12);
    // A part's buffer is freed once it is in the file, the one held before too.
    expect(first.bytes.byteLength).toBe(0);
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
    // The file waits for the thread's next batch until the store closes.
    expect(openFds()).toBe(fds + 1);
    expect([...parts.records()]).toEqual([]);
    files.close();
    expect(openFds()).toBe(fds);
  });

  it('keeps the batch in memory when the spill file cannot be made', () => {
    const parts = new BatchParts(spillFiles(join(dir, 'missing', 'store.db'), 't'), 1_000);
    const added = Array.from({ length: 5 }, (_, n) => part(n));
    for (const p of added) parts.add(packRecords(p));
    expect(parts.spilledParts).toBe(0);
    expect([...parts.records()]).toEqual(added);
  });

  it('gives batches in flight files of their own, and a batch done its file to the next', () => {
    const fds = openFds();
    const files = spillFiles(join(dir, 'store.db'), 't');
    const a = new BatchParts(files, 100);
    const b = new BatchParts(files, 100);
    a.add(packRecords(part(1)));
    b.add(packRecords(part(2)));
    a.add(packRecords(part(3)));
    expect(files.opened).toBe(2);
    expect([...a.records()]).toEqual([part(1), part(3)]);
    expect([...b.records()]).toEqual([part(2)]);
    a.discard();
    expect(openFds()).toBe(fds + 2);
    // The next batch writes over a's file, shorter than what a left there, and reads back its own.
    const c = new BatchParts(files, 100);
    c.add(packRecords(part(4, 3)));
    expect(files.opened).toBe(2);
    expect([...c.records()]).toEqual([part(4, 3)]);
    expect([...b.records()]).toEqual([part(2)]);
    b.discard();
    c.discard();
    expect(openFds()).toBe(fds + 2);
    expect(readdirSync(dir)).toEqual([]);
    files.close();
    expect(openFds()).toBe(fds);
    // A batch that ends after the close closes its file rather than keep it.
    const late = new BatchParts(files, 100);
    late.add(packRecords(part(5)));
    expect(openFds()).toBe(fds + 1);
    late.discard();
    expect(openFds()).toBe(fds);
  });

  it('keeps a few files, cut back to a bound', () => {
    const fds = openFds();
    const files = spillFiles(join(dir, 'store.db'), 't');
    const batches = Array.from({ length: SpillFiles.KEEP + 2 }, () => new BatchParts(files, 100));
    for (const [n, batch] of batches.entries()) batch.add(packRecords(part(n)));
    expect(openFds()).toBe(fds + SpillFiles.KEEP + 2);
    for (const batch of batches) batch.discard();
    expect(openFds()).toBe(fds + SpillFiles.KEEP);
    // A long batch leaves its file at KEEP_BYTES.
    const long = new BatchParts(files, 100);
    for (let i = 0; i < 6; i++) long.add(packRecords(['x'.repeat(SpillFiles.KEEP_BYTES / 4), 1]));
    const fd = fdOf(dir);
    expect(fstatSync(fd).size).toBeGreaterThan(SpillFiles.KEEP_BYTES);
    long.discard();
    expect(fstatSync(fd).size).toBe(SpillFiles.KEEP_BYTES);
    files.close();
    expect(openFds()).toBe(fds);
  });

  it('holds the chunks of outbox bodies handed over ahead, spills them with the parts, and gives each body back with its tail', () => {
    const files = spillFiles(join(dir, 'store.db'), 't');
    const parts = new BatchParts(files, 19_000);
    const chunk = (text: string) => {
      const bytes = Buffer.allocUnsafeSlow(text.length);
      bytes.write(text);
      return bytes;
    };
    // Larger than Buffer's pool (8 KiB), so each may be freed (see core/bytes.ts).
    const first = chunk('a'.repeat(9_000));
    parts.addBody(0, [first, chunk('b'.repeat(9_000))]);
    expect(parts.spilledParts).toBe(0);
    expect(parts.heldBytes).toBe(18_000);
    // Past the bound: what was held goes to the file and is freed there.
    parts.add(packRecords(part(1)));
    parts.addBody(1, [chunk('c'.repeat(9_000))]);
    expect(parts.heldBytes).toBe(0);
    expect(first.byteLength).toBe(0);
    expect(parts.count).toBe(3);
    const tail = [[Buffer.from('-end0')], [Buffer.from('-end1')], [Buffer.from('-two')]];
    // Each chunk is used before the next is taken (a spilled one is read into a reused buffer).
    const textOf = (chunks: Iterable<Uint8Array>) => {
      let text = '';
      for (const bytes of chunks) text += Buffer.from(bytes).toString();
      return text;
    };
    const bodies = parts
      .outboxBodies(tail)
      .map((b) => ({ chunks: b.chunks, text: textOf(b.bytes) }));
    expect(bodies).toEqual([
      { chunks: 3, text: `${'a'.repeat(9_000)}${'b'.repeat(9_000)}-end0` },
      { chunks: 2, text: `${'c'.repeat(9_000)}-end1` },
      { chunks: 1, text: '-two' },
    ]);
    expect([...parts.records()]).toEqual([part(1)]);
    // A body with nothing in the tail, and a batch whose chunks stayed in memory, freed on discard.
    const small = new BatchParts(files);
    const held = chunk('x'.repeat(10_000));
    small.addBody(0, [held]);
    expect(small.outboxBodies([]).map((b) => [b.chunks, [...b.bytes].length])).toEqual([[1, 1]]);
    small.discard();
    expect(held.byteLength).toBe(0);
    parts.discard();
    files.close();
  });
});
