import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SPILL_AFTER_BYTES } from '../../src/store/batch-parts.js';
import { openStore } from '../../src/store/open-store.js';
import type { FlatRecords, SqliteBatchWriter } from '../../src/store/sqlite-batch-writer.js';
import { InlineWriter, ThreadWriter, type WriterBatch } from '../../src/store/sqlite-writer.js';
import { BUILT_WRITER_THREAD } from '../helpers/built.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function storeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-spill-'));
  dirs.push(dir);
  await (await openStore({ dataDir: dir })).close();
  return dir;
}

const openFds = () => readdirSync('/proc/self/fd').length;

/** Hands over parts enough to pass the bytes a batch holds in memory (so it spills). */
function fill(batch: WriterBatch): void {
  const wide = 'x'.repeat(64 * 1024);
  const parts = Math.ceil(SPILL_AFTER_BYTES / (wide.length * 2)) + 4;
  for (let p = 0; p < parts; p++) {
    const record: FlatRecords = [
      `${p}`,
      wide,
      null,
      null,
      null,
      'a',
      1,
      '2024-01-01T00:00:00.000Z',
      null,
    ];
    batch.part(record);
  }
}

describe('spilled batches that are never committed', () => {
  it('let go of their spill files when the writer thread closes', async () => {
    const dir = await storeDir();
    const before = openFds();
    const writer = new ThreadWriter(join(dir, 'sluice.db'), BUILT_WRITER_THREAD);
    fill(writer.open(1));
    await writer.close();
    expect(openFds()).toBe(before);
    expect((await readdir(dir)).filter((f) => f.includes('spill'))).toEqual([]);
  });

  it('let go of their spill files when an inline commit cannot take the connection', async () => {
    const dir = await storeDir();
    const before = openFds();
    const writer = new InlineWriter(
      {} as SqliteBatchWriter,
      () => Promise.reject(new Error('the store is closed')),
      join(dir, 'sluice.db'),
    );
    const batch = writer.open();
    fill(batch);
    expect(openFds()).toBe(before + 1);
    await expect(
      batch.commit({
        sectionId: 1,
        runId: 1,
        dataType: 'activities',
        rejects: [],
        cursor: '1',
        rowsRead: 0,
        keyFrom: null,
        keyTo: null,
        now: '2024-01-01T00:00:00.000Z',
      }),
    ).rejects.toThrow('the store is closed');
    expect(openFds()).toBe(before);
  });
});
