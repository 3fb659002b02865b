import { describe, expect, it } from 'vitest';
import { movable, movableBuffers, release } from './bytes.js';

describe('bytes handed on', () => {
  it("never moves a small Buffer, which may be a slice of Buffer's shared pool", () => {
    const pooled = Buffer.from('[{"email":"a@x.io"}]');
    const neighbour = Buffer.from('still here');
    expect(pooled.buffer.byteLength).toBe(Buffer.poolSize);
    expect(movable(pooled)).toBe(false);
    expect(movableBuffers([pooled, neighbour])).toEqual([]);
    release([pooled]);
    expect(pooled.toString()).toBe('[{"email":"a@x.io"}]');
    expect(neighbour.toString()).toBe('still here');
  });

  it('moves and releases a large buffer once, emptying every view of it', () => {
    const big = Buffer.allocUnsafeSlow(64 * 1024).fill(0x20);
    const head = big.subarray(0, 10);
    const tail = big.subarray(10);
    expect(movable(head)).toBe(true);
    expect(movableBuffers([head, tail])).toEqual([big.buffer]);
    release([head, tail]);
    expect([big.byteLength, head.byteLength, tail.byteLength]).toEqual([0, 0, 0]);
    // Released already: nothing left to free, and no error.
    release([big]);
  });

  it('frees at once, and thousands of releases hold nothing (a released buffer is not kept anywhere)', () => {
    const before = process.memoryUsage();
    const kept: Buffer[] = [];
    for (let i = 0; i < 5_000; i++) {
      const chunk = Buffer.allocUnsafeSlow(64 * 1024).fill(i & 0xff);
      release([chunk]);
      kept.push(chunk);
    }
    const after = process.memoryUsage();
    // 320 MiB allocated and released, the views kept: none of it is held.
    expect(kept.every((chunk) => chunk.byteLength === 0)).toBe(true);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(4 * 1024 * 1024);
    // A channel made for each release held about 70 MiB more here until a collection.
    expect(after.rss - before.rss).toBeLessThan(24 * 1024 * 1024);
  });
});
