import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SPILL_AFTER_BYTES } from '../../src/store/batch-parts.js';
import { createMigrationProvider } from '../../src/store/migrations.js';
import { openOutboxStore, openStore } from '../../src/store/open-store.js';
import { CHUNKS_A_READ } from '../../src/store/sqlite-outbox-store.js';
import type { Database } from '../../src/store/schema.js';
import type { BatchTail } from '../../src/store/store.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import {
  ADD_METRIC_DAYS,
  PAIRS_OF,
  type FlatRecords,
  type SqliteBatchWriter,
  type WriteRequest,
} from '../../src/store/sqlite-batch-writer.js';
import { TablePool, type SeenTable } from '../../src/store/seen-table.js';
import { CHECKPOINT_ROWS, UNFOLDED_SQL, openSqliteStore } from '../../src/store/sqlite-store.js';
import { WRITER_WAL_AUTOCHECKPOINT } from '../../src/store/sqlite-pragmas.js';
import {
  InlineWriter,
  ThreadWriter,
  WRITER_SEMI_SPACE_MB,
  semiSpaceFlag,
  type WriterBatch,
} from '../../src/store/sqlite-writer.js';
import { activity, integration, section, storeBehaviour } from './store-behaviour.js';
import type { StoreUnderTest } from './store-behaviour.js';
import { BUILT_WRITER_THREAD } from '../helpers/built.js';
import { until } from '../helpers/until.js';

const execFileP = promisify(execFile);

function reader(file: string): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new SqliteDialect({ database: new BetterSqlite3(file) }),
  });
}

/** An activity as the writer takes it (FlatRecords order: row id, email, ... date, info). */
function flatActivity(rowId: string, email: string): FlatRecords {
  return [rowId, email, null, null, null, 'a', 1, '2024-01-01T00:00:00.000Z', null];
}

/** The tail of a batch of one row (key 1) that queues `outbox`. */
function oneRowTail(outbox: BatchTail['outbox']): BatchTail {
  return { rejects: [], cursor: '1', rowsRead: 1, keyFrom: '1', keyTo: '1', outbox };
}

/** A batch's request to the writer: nothing but its records (and what is given). */
function request(runId: number, given: Partial<WriteRequest> = {}): WriteRequest {
  return {
    sectionId: 1,
    runId,
    dataType: 'activities',
    rejects: [],
    cursor: '1',
    rowsRead: 0,
    keyFrom: null,
    keyTo: null,
    now: '2024-01-01T00:00:00.000Z',
    ...given,
  };
}

const openFds = () => readdirSync('/proc/self/fd').length;

/** Hands over parts enough to pass the bytes a batch holds in memory (so it spills). */
function fillPastSpill(batch: WriterBatch): void {
  const wide = 'x'.repeat(64 * 1024);
  const parts = Math.ceil(SPILL_AFTER_BYTES / (wide.length * 2)) + 4;
  for (let p = 0; p < parts; p++) batch.part(flatActivity(`${p}`, wide));
}

async function openTemp(
  writer: 'inline' | 'thread' = 'inline',
): Promise<StoreUnderTest & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
  const store = await openStore({ dataDir: dir, writer, writerThreadUrl: BUILT_WRITER_THREAD });
  const db = reader(join(dir, 'sluice.db'));
  return {
    dir,
    store,
    db,
    cleanup: async () => {
      await db.destroy();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

storeBehaviour('sqlite', () => openTemp('inline'));
storeBehaviour('sqlite, batches committed by the writer thread', () => openTemp('thread'));

describe('SQLite store', () => {
  const dirs: string[] = [];
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
    dirs.push(dir);
    return dir;
  }
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A store committing through the writer thread, in a temp dir, with one activities section. */
  async function threadStore(name: string) {
    const dataDir = await tempDir();
    const store = await openStore({
      dataDir,
      writer: 'thread',
      writerThreadUrl: BUILT_WRITER_THREAD,
    });
    await store.applyConfig(integration(), [section(name)]);
    const [s] = await store.listSections();
    if (s === undefined) throw new Error('no section');
    return { dataDir, store, s };
  }

  it("reads by key: landed rows by their id range, not the section index; a merge's pairs by (action, ident)", async () => {
    // Without `+section_id`, SQLite takes the (section_id, row_id) index: every row the section
    // ever landed, then a sort. Checked on a store with rows in it, as the planner sees one.
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    await store.applyConfig(integration(), [section('s')]);
    await store.close();
    const sqlite = new BetterSqlite3(join(dataDir, 'sluice.db'));
    try {
      const insert = sqlite.prepare(
        `INSERT INTO metric_points (section_id, row_id, model, external_id, dimension_id, value,
           date, landed_at) VALUES (1, ?, 'Company', 'c', 'd', 1, '2024-01-01T00:00:00.000Z', '')`,
      );
      sqlite.transaction(() => {
        for (let i = 0; i < 2000; i++) insert.run(String(i));
      })();
      const plan = (text: string, params: (number | string)[]): string[] =>
        sqlite
          .prepare(`EXPLAIN QUERY PLAN ${text}`)
          .all(...params)
          .map((r) => (r as { detail: string }).detail);
      for (const text of [UNFOLDED_SQL.activities, UNFOLDED_SQL.metrics]) {
        const steps = plan(text, [10, 20, 1]);
        expect(steps, text).toEqual([
          expect.stringMatching(/USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/),
        ]);
      }
      const steps = plan(ADD_METRIC_DAYS, [1, 10, 20, 1]);
      expect(steps.join('; ')).toMatch(
        /SEARCH metric_points USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/,
      );
      expect(steps.join('; ')).not.toMatch(/section_id=/);
      // A merge's pairs by (action, ident), not a scan of enduser_actions.
      expect(plan(PAIRS_OF.copy, ['x:u', 'e:u']).join('; ')).toMatch(
        /SEARCH enduser_actions USING PRIMARY KEY \(action=\? AND ident=\?\)/,
      );
      expect(plan(PAIRS_OF.delete, ['x:u']).join('; ')).toMatch(
        /SEARCH enduser_actions USING PRIMARY KEY \(action=\? AND ident=\?\)/,
      );
    } finally {
      sqlite.close();
    }
  });

  it('keeps passwords encrypted at rest: no file in the data folder holds the plain text', async () => {
    const dataDir = await tempDir();
    const password = 'plain-Passw0rd-that-must-not-leak';
    const store = await openStore({ dataDir });
    await store.applyConfig(
      integration({ mysql: { host: 'h', port: 3306, user: 'u', database: 'd', password } }),
      [section('events')],
    );
    // Read while open too: the row sits in the WAL file until a checkpoint.
    const scan = async () => {
      for (const name of await readdir(dataDir)) {
        const bytes = await readFile(join(dataDir, name));
        expect(bytes.includes(password), `${name} holds the plain password`).toBe(false);
      }
    };
    await scan();
    await store.close();
    await scan();

    const raw = new BetterSqlite3(join(dataDir, 'sluice.db'));
    const row = raw.prepare('SELECT password_enc FROM integrations').get() as {
      password_enc: string;
    };
    raw.close();
    expect(row.password_enc).toMatch(/^v1:[^:]+:[^:]+:[^:]+$/);

    const reopened = await openStore({ dataDir });
    expect(await reopened.getIntegrationPassword('shop')).toBe(password);
    await reopened.close();
  });

  it('fails with SECRET_KEY_INVALID when the secret key is not the one that encrypted', async () => {
    const dataDir = await tempDir();
    const first = await openStore({ dataDir, secretKey: 'the right key' });
    await first.applyConfig(
      integration({ mysql: { host: 'h', port: 3306, user: 'u', database: 'd', password: 'pw' } }),
      [],
    );
    expect(await first.getIntegrationPassword('shop')).toBe('pw');
    await first.close();

    const wrong = await openStore({ dataDir, secretKey: 'a wrong key' });
    await expect(wrong.getIntegrationPassword('shop')).rejects.toMatchObject({
      code: 'SECRET_KEY_INVALID',
    });
    // Listing never decrypts, so a wrong key does not hide the integrations.
    expect((await wrong.getIntegration('shop'))?.hasPassword).toBe(true);
    await wrong.close();

    const keyFile = await openStore({ dataDir });
    await expect(keyFile.getIntegrationPassword('shop')).rejects.toMatchObject({
      code: 'SECRET_KEY_INVALID',
    });
    await keyFile.close();
  });

  it('creates the data folder, the store file and an owner-only secret.key on first open', async () => {
    const dataDir = join(await tempDir(), 'nested', 'data');
    const store = await openStore({ dataDir });
    await store.close();
    expect((await stat(join(dataDir, 'sluice.db'))).isFile()).toBe(true);
    const key = await stat(join(dataDir, 'secret.key'));
    expect(key.mode & 0o777).toBe(0o600);
    expect(key.size).toBe(32);
  });

  it('keeps its data across reopen and runs no migration twice', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    await store.applyConfig(integration(), [section('events')]);
    await store.close();
    await store.close(); // closing twice is harmless

    const again = await openStore({ dataDir });
    expect((await again.listSections()).map((s) => s.name)).toEqual(['events']);
    await again.close();
    const raw = new BetterSqlite3(join(dataDir, 'sluice.db'));
    const names = raw.prepare('SELECT name FROM kysely_migration').all();
    raw.close();
    // Every migration once, in name order (other migrations join 0001_initial over time).
    const all = Object.keys(await createMigrationProvider().getMigrations()).sort();
    expect(all[0]).toBe('0001_initial');
    expect(names).toEqual(all.map((name) => ({ name })));
  });

  it("checkpoints the writer thread's WAL on its own connection as batches land", async () => {
    const { dataDir, store, s } = await threadStore('events');
    const run = await store.startRun(s.id, 'manual');
    /** The WAL's last frame and the frames copied into the database (wal-index header). */
    const wal = async () => {
      const shm = await readFile(join(dataDir, 'sluice.db-shm'));
      const view = new DataView(shm.buffer, shm.byteOffset, shm.byteLength);
      return { frames: view.getUint32(16, true), backfilled: view.getUint32(96, true) };
    };
    const rows = CHECKPOINT_ROWS / 2;
    const hand = (b: number) =>
      store.commitBatch({
        sectionId: s.id,
        runId: run.id,
        dataType: 'activities',
        records: Array.from({ length: rows }, (_, i) => activity(b * rows + i + 1)),
        rejects: [],
        cursor: String((b + 1) * rows),
        rowsRead: rows,
        keyFrom: String(b * rows + 1),
        keyTo: String((b + 1) * rows),
      });
    await hand(0);
    await new Promise((r) => setImmediate(r));
    // Half the rows: the WAL holds the batch, not copied yet (the writer's own bound is far).
    const first = await wal();
    expect(first.frames).toBeGreaterThan(100);
    expect(first.frames).toBeLessThan(WRITER_WAL_AUTOCHECKPOINT);
    expect(first.backfilled).toBe(0);
    await hand(1);
    await new Promise((r) => setImmediate(r));
    // CHECKPOINT_ROWS landed: the store's connection copied every frame the writer committed.
    const second = await wal();
    expect(second.frames).toBeGreaterThan(first.frames);
    expect(second.backfilled).toBe(second.frames);
    await store.finishRun(run.id, { status: 'succeeded' });
    await store.close();
  });

  it('starts the writer thread as a run begins when the last one read rows, not after an idle one', async () => {
    const { store, s } = await threadStore('events');
    const threads = () => (store as unknown as { writerThreads: number }).writerThreads;
    const gone = () => until('the retired thread exits', () => threads() === 0, 5_000);
    const owner = { id: 'test', host: 'here', pid: process.pid };
    const begin = async () => {
      const run = await store.beginRun(s.id, 'manual', { owner, ttlMs: 60_000 });
      if (run === undefined) throw new Error('no run');
      return run;
    };
    // Never ran: the thread starts with the run, before any batch.
    const first = await begin();
    expect(threads()).toBe(1);
    await store.finishRun(first.id, { status: 'succeeded' }, owner);
    await gone();
    // The last run read nothing: none starts until a batch comes.
    const second = await begin();
    expect(threads()).toBe(0);
    await store.commitBatch({
      sectionId: s.id,
      runId: second.id,
      dataType: 'activities',
      records: [activity(1)],
      rejects: [],
      cursor: '1',
      rowsRead: 1,
      keyFrom: '1',
      keyTo: '1',
    });
    expect(threads()).toBe(1);
    await store.finishRun(second.id, { status: 'succeeded' }, owner);
    await gone();
    // The last run read a row: the next one starts the thread again.
    const third = await begin();
    expect(threads()).toBe(1);
    await store.finishRun(third.id, { status: 'succeeded' }, owner);
    await store.close();
    expect(threads()).toBe(0);
  });

  it('fails the batches a dying writer thread held, and refuses the rest of their run', async () => {
    const dir = await tempDir();
    const script = join(dir, 'dying-writer.mjs');
    await writeFile(
      script,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n",
    );
    const writer = new ThreadWriter(join(dir, 'unused.db'), pathToFileURL(script));
    const req = (runId: number) => request(runId);
    const died = { code: 'STORE_FAILED', message: expect.stringContaining('writer thread failed') };
    const commit = (runId: number) => writer.open(runId).commit(req(runId));
    await expect(commit(1)).rejects.toMatchObject(died);
    await expect(commit(1)).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: expect.stringContaining('an earlier batch of this run failed'),
    });
    // Another run gets a new thread (this one dies too).
    await expect(commit(2)).rejects.toMatchObject(died);
    // A thread that dies holding parts of a batch fails that batch: it never commits without them.
    const streamed = writer.open(3);
    streamed.part(flatActivity('1', 'a@x.io'));
    await expect(streamed.commit(req(3))).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await expect(commit(3)).rejects.toMatchObject({
      message: expect.stringContaining('an earlier batch of this run failed'),
    });
    await writer.close();
  });

  it("gives the writer thread its own young generation, whatever Node's flag gives the process", async () => {
    const dir = await tempDir();
    // A stand-in thread that answers a commit with the size of its heap.
    const thread = join(dir, 'heap-writer.mjs');
    await writeFile(
      thread,
      `import { parentPort } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
parentPort.on('message', (m) => {
  if (m.op === 'commit') parentPort.postMessage({ id: m.id, ok: true, result: { limit: getHeapStatistics().heap_size_limit } });
  if (m.op === 'close') parentPort.close();
});
`,
    );
    // V8's flags are the process's: run with another semi-space than the writer's, then start a
    // plain thread after the writer's, which must get the process's size back.
    const script = join(dir, 'main.mjs');
    await writeFile(
      script,
      `import { Worker } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { ThreadWriter } from ${JSON.stringify(new URL('../../dist/store/sqlite-writer.js', import.meta.url).href)};
const writer = new ThreadWriter(${JSON.stringify(join(dir, 'unused.db'))}, new URL(${JSON.stringify(pathToFileURL(thread).href)}));
const { limit } = await writer.open(1).commit({ runId: 1 });
await writer.close();
const plain = new Worker("import { parentPort } from 'node:worker_threads'; import { getHeapStatistics } from 'node:v8'; parentPort.postMessage(getHeapStatistics().heap_size_limit);", { eval: true });
const after = await new Promise((resolve) => plain.once('message', resolve));
await plain.terminate();
console.log(JSON.stringify({ main: getHeapStatistics().heap_size_limit, writer: limit, after }));
`,
    );
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^node_options$/i.test(name)),
    );
    const processSemiSpace = WRITER_SEMI_SPACE_MB + 3;
    const { stdout } = await execFileP(
      process.execPath,
      [`--max-semi-space-size=${processSemiSpace}`, script],
      { env },
    );
    const heap = JSON.parse(stdout) as { main: number; writer: number; after: number };
    // V8 counts a young generation in the heap's limit: three semi-spaces' worth.
    expect(heap.writer - heap.main).toBe(
      3 * (WRITER_SEMI_SPACE_MB - processSemiSpace) * 1024 * 1024,
    );
    expect(heap.after).toBe(heap.main);
  });

  it('reads the semi-space Node was given from NODE_OPTIONS and its command line', () => {
    expect(semiSpaceFlag([], undefined)).toBeUndefined();
    expect(semiSpaceFlag([], '--max-semi-space-size=4')).toBe('4');
    expect(semiSpaceFlag(['--max-semi-space-size', '6'], '--max-semi-space-size=4')).toBe('6');
    expect(semiSpaceFlag(['--max_semi_space_size=2'], ' --trace-gc  ')).toBe('2');
    expect(semiSpaceFlag(['--max-old-space-size=64'], '--semi-space-growth-factor=2')).toBe(
      undefined,
    );
  });

  it('lets go of an idle writer thread when asked, never of one with a batch open or waiting', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    await store.applyConfig(integration(), [section('s')]);
    const [s] = await store.listSections();
    const run = await store.startRun(s?.id ?? 0, 'manual');
    const writer = new ThreadWriter(join(dataDir, 'sluice.db'), BUILT_WRITER_THREAD);
    const req = (n: number): WriteRequest =>
      request(run.id, {
        sectionId: s?.id ?? 0,
        cursor: String(n),
        rowsRead: 1,
        keyFrom: String(n),
        keyTo: String(n),
      });
    const row = (n: number) => flatActivity(String(n), `u${n}@x.io`);
    const land = async (n: number) => {
      const batch = writer.open(run.id);
      batch.part(row(n));
      return (await batch.commit(req(n))).landed;
    };
    const exited = async () => {
      await until('the retired thread exits', () => writer.threads === 0, 1_000).catch(() => {});
      return writer.threads;
    };
    expect(await land(1)).toBe(1);
    expect(writer.threads).toBe(1);
    writer.retire();
    expect(await exited()).toBe(0);
    // A batch open (parts handed over, not committed) keeps the thread and its parts.
    const open = writer.open(run.id);
    open.part(row(2));
    writer.retire();
    expect(writer.threads).toBe(1);
    expect((await open.commit(req(2))).landed).toBe(1);
    // A batch waiting for its commit keeps it too.
    const waiting = land(3);
    writer.retire();
    expect(await waiting).toBe(1);
    // Let go of, then a batch at once: a new thread commits it; the old one's exit fails nothing.
    writer.retire();
    expect(await Promise.all([land(4), land(5)])).toEqual([1, 1]);
    await writer.close();
    expect(writer.threads).toBe(0);
    await store.finishRun(run.id, { status: 'succeeded' });
    await store.close();
    const sqlite = new BetterSqlite3(join(dataDir, 'sluice.db'), { readonly: true });
    expect(
      sqlite.prepare('SELECT count(*) AS n, max(row_id) AS last FROM activities').get(),
    ).toEqual({ n: 5, last: '5' });
    sqlite.close();
  });

  it('closes the spill files of batches committed or not, when the writer thread closes', async () => {
    const dir = await tempDir();
    await (await openStore({ dataDir: dir })).close();
    const before = openFds();
    const writer = new ThreadWriter(join(dir, 'sluice.db'), BUILT_WRITER_THREAD);
    // A batch that spilled and failed (no section 1 in this store) gives its file back to the
    // thread, which keeps it for the next batch.
    const failed = writer.open(1);
    fillPastSpill(failed);
    await expect(failed.commit(request(1))).rejects.toThrow();
    fillPastSpill(writer.open(2));
    expect(openFds()).toBeGreaterThan(before);
    await writer.close();
    expect(openFds()).toBe(before);
    expect((await readdir(dir)).filter((f) => f.includes('spill'))).toEqual([]);
  });

  it('lets go of the spill file of a batch whose inline commit cannot take the connection', async () => {
    const dir = await tempDir();
    const before = openFds();
    const writer = new InlineWriter(
      {} as SqliteBatchWriter,
      () => Promise.reject(new Error('the store is closed')),
      join(dir, 'sluice.db'),
    );
    const batch = writer.open();
    fillPastSpill(batch);
    expect(openFds()).toBe(before + 1);
    await expect(batch.commit(request(1))).rejects.toThrow('the store is closed');
    // Given back for the writer's next batch, and closed with the writer.
    expect(openFds()).toBe(before + 1);
    await writer.close();
    expect(openFds()).toBe(before);
  });

  it("lets go of its writer thread when a run ends (the process's threads, from /proc)", async () => {
    const threads = async () => (await readdir('/proc/self/task')).length;
    const { store, s } = await threadStore('s');
    const before = await threads();
    const run = await store.startRun(s.id, 'manual');
    const stream = store.openBatch({
      sectionId: s.id,
      runId: run.id,
      dataType: 'activities',
    });
    stream.add([activity(1, { externalId: 'u1' })]);
    await stream.commit({ rejects: [], cursor: '1', rowsRead: 1, keyFrom: '1', keyTo: '1' });
    expect(await threads()).toBe(before + 1);
    await store.finishRun(run.id, { status: 'succeeded' });
    await until('the writer thread exits', async () => (await threads()) <= before, 1_000).catch(
      () => {},
    );
    expect(await threads()).toBe(before);
    await store.close();
  });

  it('refuses calls after close with STORE_FAILED', async () => {
    const store = await openStore({ dataDir: await tempDir() });
    await store.close();
    await expect(store.listSections()).rejects.toMatchObject({ code: 'STORE_FAILED' });
  });

  it('sets WAL, synchronous NORMAL and foreign keys on its connection', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    const raw = new BetterSqlite3(join(dataDir, 'sluice.db'));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    // Foreign keys are per connection: a pruned section taking its runs with it proves them on.
    await store.applyConfig(integration(), [section('a'), section('b')]);
    const b = (await store.listSections()).find((s) => s.name === 'b')!;
    await store.startRun(b.id, 'manual');
    await store.applyConfig(integration(), [section('a')], { prune: true });
    expect(await store.listRuns({})).toEqual([]);
    await store.close();
  });

  it('shares locks and cursors between two processes opening the same file', async () => {
    const dataDir = await tempDir();
    const one = await openStore({ dataDir });
    const two = await openStore({ dataDir });
    await one.applyConfig(integration(), [section('events')]);
    const [s] = await two.listSections();
    const owner = (id: string) => ({ id, host: 'h', pid: process.pid });
    expect(await one.acquireLock(s!.id, owner('one'), 60_000)).toBe(true);
    expect(await two.acquireLock(s!.id, owner('two'), 60_000)).toBe(false);
    await two.setCursor(s!.id, '7');
    expect((await one.getSection(s!.id))?.cursor).toBe('7');
    await one.close();
    await two.close();
  });

  it('folds endusers and rollups of rows a process landed but never folded, exactly once', async () => {
    const dataDir = await tempDir();
    const dead = await openStore({ dataDir });
    await dead.applyConfig(integration(), [section('events')]);
    const [s] = await dead.listSections();
    const run = await dead.startRun(s!.id, 'manual');
    const records = (from: number) =>
      Array.from({ length: 5 }, (_, i) => activity(from + i, { externalId: `u${(from + i) % 2}` }));
    for (const from of [1, 6]) {
      await dead.commitBatch({
        sectionId: s!.id,
        runId: run.id,
        dataType: 'activities',
        records: records(from),
        rejects: [],
        cursor: String(from + 4),
        rowsRead: 5,
        keyFrom: String(from),
        keyTo: String(from + 4),
      });
    }
    // `dead` stops here, as if killed: its aggregates never reached the file.
    const file = join(dataDir, 'sluice.db');
    const count = () =>
      reader(file)
        .selectFrom('endusers')
        .select(['ident', 'activity_count'])
        .orderBy('ident')
        .execute();
    expect(await count()).toEqual([]);

    const next = await openStore({ dataDir });
    const rerun = await next.startRun(s!.id, 'manual');
    await next.finishRun(rerun.id, { status: 'succeeded' });
    expect(await count()).toEqual([
      { ident: 'x:u0', activity_count: 5 },
      { ident: 'x:u1', activity_count: 5 },
    ]);
    // The dead store's memory, were it to wake, is stale: closing it folds nothing twice.
    await dead.close();
    await next.close();
    expect(await count()).toEqual([
      { ident: 'x:u0', activity_count: 5 },
      { ident: 'x:u1', activity_count: 5 },
    ]);
    const daily = await reader(file)
      .selectFrom('activity_daily')
      .select((eb) => eb.fn.sum<number>('count').as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(daily.n)).toBe(10);
  });

  it('names the failed migration and leaves no half-made schema', async () => {
    const file = join(await tempDir(), 'clash.db');
    const raw = new BetterSqlite3(file);
    // A table of the same name makes 0001_initial fail partway, after it created `integrations`.
    raw.exec('CREATE TABLE runs (x integer)');
    raw.close();
    const secretBox = createSecretBox(Buffer.alloc(32), 'a test key');
    await expect(openSqliteStore({ file, secretBox })).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: expect.stringContaining('0001_initial'),
    });
    const check = new BetterSqlite3(file);
    const tables = check
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all();
    check.close();
    expect(tables).toEqual([{ name: 'runs' }]);
  });
});

describe.each(['inline', 'thread'] as const)('folds riding in batches (%s writer)', (writer) => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A store that folds every 4 rows counted, with one activities section and a run started. */
  async function start() {
    dir = await mkdtemp(join(tmpdir(), 'sluice-fold-'));
    const store = await openStore({
      dataDir: dir,
      writer,
      writerThreadUrl: BUILT_WRITER_THREAD,
      foldEvery: { rows: 4, entries: 1_000, days: 1_000, bytes: 1e9 },
    });
    await store.applyConfig(integration(), [section('events')]);
    const [s] = await store.listSections();
    if (s === undefined) throw new Error('no section');
    const run = await store.startRun(s.id, 'manual');
    const hand = (ids: number[], last?: true) =>
      store.commitBatch({
        ...(last ? { last } : {}),
        sectionId: s.id,
        runId: run.id,
        dataType: 'activities',
        records: ids.map((n) => activity(n, { externalId: `u${n % 3}` })),
        rejects: [],
        cursor: String(Math.max(...ids)),
        rowsRead: ids.length,
        keyFrom: String(Math.min(...ids)),
        keyTo: String(Math.max(...ids)),
      });
    const read = (sql: string) => {
      const sqlite = new BetterSqlite3(join(dir, 'sluice.db'), { readonly: true });
      try {
        return sqlite.prepare(sql).get() as Record<string, number>;
      } finally {
        sqlite.close();
      }
    };
    const totals = () =>
      read(`SELECT (SELECT sum(activity_count) FROM endusers) AS endusers,
        (SELECT sum(count) FROM activity_daily) AS daily,
        (SELECT count(*) FROM enduser_actions) AS pairs`);
    return { store, s, run, hand, read, totals };
  }

  it('count every landed row once, folding while the next batches are in flight', async () => {
    const { store, run, hand, read, totals } = await start();
    const handed = [1, 3, 5, 7, 9, 11].map((n) => hand([n, n + 1]));
    expect(await Promise.all(handed)).toEqual(handed.map(() => ({ landed: 2, rejected: 0 })));
    // Folds rode in the batches: part of the run is in endusers before it ends.
    expect(read('SELECT folded_id FROM sections').folded_id).toBeGreaterThan(0);
    await store.finishRun(run.id, { status: 'succeeded' });
    expect(totals()).toEqual({ endusers: 12, daily: 12, pairs: 3 });
    expect(read('SELECT landed_id - folded_id AS unfolded FROM sections').unfolded).toBe(0);
    await store.close();
  });

  it('fold again and again on the same buffers: each enduser, company and pair once, past 31 actions', async () => {
    const { store, s, run } = await start();
    // Per table the pool hands out: whether it is on new buffers (none until its first row).
    const made: boolean[] = [];
    const table = TablePool.prototype.table;
    const tables = vi.spyOn(TablePool.prototype, 'table').mockImplementation(function (
      this: TablePool,
      fields: number,
      capacity: number,
    ) {
      const t: SeenTable = table.call(this, fields, capacity);
      made.push(t.nums.length === 0);
      return t;
    });
    const counts = new Map<string, number>();
    const pairs = new Set<string>();
    const companies = new Map<string, number>();
    const handed: Promise<unknown>[] = [];
    // Batches of irregular sizes: a fold covers one batch (it is due at 4 rows), and the big
    // ones hold more than 31 actions, so some go without a bit.
    const sizes = [3, 45, 7, 40, 11, 2, 38];
    let n = 0;
    for (let b = 0; b < 21; b++) {
      const records = [];
      const from = n + 1;
      for (let k = 0; k < (sizes[b % sizes.length] as number); k++) {
        n++;
        const user = (n * 13) % 23;
        const action = `a${(n * 7 + b) % 41}`;
        const company = `c${(user + b) % 5}`;
        const r =
          user % 5 === 0
            ? activity(n, {
                externalId: undefined,
                email: `p${user}@x.io`,
                action,
                companyExternalId: company,
              })
            : activity(n, {
                externalId: `p${user}`,
                email: undefined,
                action,
                companyExternalId: company,
              });
        const ident = user % 5 === 0 ? `e:p${user}@x.io` : `x:p${user}`;
        counts.set(ident, (counts.get(ident) ?? 0) + 1);
        pairs.add(`${action} ${ident}`);
        companies.set(company, (companies.get(company) ?? 0) + 1);
        records.push(r);
      }
      handed.push(
        store.commitBatch({
          ...(b === 20 ? { last: true as const } : {}),
          sectionId: s.id,
          runId: run.id,
          dataType: 'activities',
          records,
          rejects: [],
          cursor: String(n),
          rowsRead: records.length,
          keyFrom: String(from),
          keyTo: String(n),
        }),
      );
    }
    await Promise.all(handed);
    await store.finishRun(run.id, { status: 'succeeded' });
    await store.close();
    // One set of buffers for the whole run: the batch after a fold waits for the writer to hand
    // the fold's tables back and counts on them, rather than filling a second set meanwhile.
    tables.mockRestore();
    expect(made.length).toBeGreaterThanOrEqual(20);
    expect(made.filter(Boolean)).toHaveLength(2);
    const sqlite = new BetterSqlite3(join(dir, 'sluice.db'), { readonly: true });
    try {
      const rows = <T>(q: string) => sqlite.prepare(q).all() as T[];
      const endusers = rows<{ ident: string; n: number }>(
        'SELECT ident, activity_count AS n FROM endusers ORDER BY ident',
      );
      expect(endusers).toEqual([...counts].sort().map(([ident, n]) => ({ ident, n })));
      const stored = rows<{ p: string }>(
        "SELECT action || ' ' || ident AS p FROM enduser_actions ORDER BY p",
      );
      expect(stored.map((r) => r.p)).toEqual([...pairs].sort());
      const byCompany = rows<{ id: string; n: number }>(
        'SELECT external_id AS id, activity_count AS n FROM companies ORDER BY id',
      );
      expect(byCompany).toEqual([...companies].sort().map(([id, n]) => ({ id, n })));
    } finally {
      sqlite.close();
    }
  });

  it('tell a reader to wait for a fold in flight before it reads the next batch', async () => {
    const { store, s, hand, read } = await start();
    await hand([1, 2, 3, 4]);
    // Due at 4 rows: this batch carries the fold, after its own records.
    const folding = hand([5]);
    await store.readyForBatch(s.id);
    expect(read('SELECT folded_id FROM sections').folded_id).toBe(5);
    expect(await folding).toEqual({ landed: 1, rejected: 0 });
    // Nothing of the section in flight: ready at once, the aggregates held for the next batch.
    await store.readyForBatch(s.id);
    expect(await hand([6])).toEqual({ landed: 1, rejected: 0 });
    await store.close();
  });

  it('refuse a fold whose batches re-read landed rows, and count from the store instead', async () => {
    const { store, run, hand, read, totals } = await start();
    // The second batch re-reads the first (a lookback): two of its rows land nowhere. The fold
    // riding in the third was counted with them, so the writer refuses it.
    const handed = [hand([1, 2]), hand([1, 2, 3]), hand([4, 5])];
    expect(await Promise.all(handed)).toEqual([
      { landed: 2, rejected: 0 },
      { landed: 1, rejected: 0 },
      { landed: 2, rejected: 0 },
    ]);
    expect(read('SELECT folded_id FROM sections').folded_id).toBe(0);
    await store.finishRun(run.id, { status: 'succeeded' });
    expect(totals()).toEqual({ endusers: 5, daily: 5, pairs: 3 });
    await store.close();
  });

  it("fold everything pending after the records of a run's last batch, leaving finishRun nothing", async () => {
    const { store, run, hand, read, totals } = await start();
    await hand([1, 2]);
    expect(read('SELECT folded_id FROM sections').folded_id).toBe(0);
    expect(await hand([3], true)).toEqual({ landed: 1, rejected: 0 });
    // Folded in the last batch's commit, that batch included.
    expect(read('SELECT folded_id, landed_id FROM sections')).toEqual({
      folded_id: 3,
      landed_id: 3,
    });
    expect(totals()).toEqual({ endusers: 3, daily: 3, pairs: 3 });
    await store.finishRun(run.id, { status: 'succeeded' });
    expect(totals()).toEqual({ endusers: 3, daily: 3, pairs: 3 });
    await store.close();
  });

  it('take writes on the main connection while a batch is handed over in parts', async () => {
    const { store, s, run, read, totals } = await start();
    const stream = store.openBatch({ sectionId: s.id, runId: run.id, dataType: 'activities' });
    stream.add([activity(1, { externalId: 'u1' })]);
    // Long enough for the part to reach the writer, which must not hold SQLite's write lock for
    // the batch still being read: a write here would wait for it, and this thread with it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await store.applyConfig(integration(), [section('events'), section('more')]);
    expect(Date.now() - started).toBeLessThan(1_000);
    stream.add([activity(2, { externalId: 'u2' })]);
    expect(
      await stream.commit({
        rejects: [],
        cursor: '2',
        rowsRead: 2,
        keyFrom: '1',
        keyTo: '2',
        last: true,
      }),
    ).toEqual({ landed: 2, rejected: 0 });
    expect(read('SELECT count(*) AS n FROM activities').n).toBe(2);
    expect(totals()).toEqual({ endusers: 2, daily: 2, pairs: 2 });
    expect((await store.listSections()).map((x) => x.name)).toEqual(['events', 'more']);
    await store.close();
  });

  it('commit a streamed batch given no part (a sink taking the records alone), after one that was', async () => {
    const { store, s, run, read } = await start();
    const first = store.openBatch({ sectionId: s.id, runId: run.id, dataType: 'activities' });
    first.add([activity(1, { externalId: 'u1' })]);
    const landed = first.commit({
      rejects: [],
      cursor: '1',
      rowsRead: 1,
      keyFrom: '1',
      keyTo: '1',
    });
    const bodyOnly = store.openBatch({ sectionId: s.id, runId: run.id, dataType: 'activities' });
    // A body larger than Buffer's pool is taken: moved to the writer and freed once written.
    const big = Buffer.allocUnsafeSlow(100_000).fill('x');
    big.write('["', 0);
    big.write('"]', big.length - 2);
    const small = Buffer.from('[{"externalId":"u2"}]');
    const queued = bodyOnly.commit({
      rejects: [],
      cursor: '3',
      rowsRead: 2,
      keyFrom: '2',
      keyTo: '3',
      outbox: {
        bodies: [[small], [big.subarray(0, 60_000), big.subarray(60_000)]],
        records: 2,
        alsoInStore: false,
      },
    });
    expect(await Promise.all([landed, queued])).toEqual([
      { landed: 1, rejected: 0 },
      { landed: 2, rejected: 0 },
    ]);
    expect(read('SELECT count(*) AS n FROM activities').n).toBe(1);
    expect(read('SELECT count(*) AS n FROM outbox').n).toBe(2);
    expect(read('SELECT sum(length(bytes)) AS n FROM outbox_chunks WHERE entry_id = 2').n).toBe(
      100_000,
    );
    expect(big.byteLength).toBe(0);
    // A small one is copied: it may share Buffer's pool with others.
    expect(small.toString()).toBe('[{"externalId":"u2"}]');
    expect(
      read(
        'SELECT sections.cursor, rows_read FROM sections JOIN runs ON runs.section_id = sections.id',
      ),
    ).toEqual({
      cursor: '3',
      rows_read: 3,
    });
    await store.close();
  });

  it('queue outbox bodies from the chunks handed over ahead of the commit, then those of the commit', async () => {
    const { store, s, run, read } = await start();
    const batch = store.openBatch({ sectionId: s.id, runId: run.id, dataType: 'activities' });
    const chunk = (c: string, n: number) => Buffer.allocUnsafeSlow(n).fill(c);
    // Handed over before the batch is open (they wait for it), then after, past the spill bound.
    batch.addBody(0, [chunk('a', 100_000)]);
    batch.add([activity(1, { externalId: 'u1' })]);
    batch.addBody(0, [chunk('b', 200_000)]);
    batch.addBody(1, [chunk('c', 300_000)]);
    expect(
      await batch.commit(
        oneRowTail({
          bodies: [[Buffer.from('-0')], [Buffer.from('-1')], [Buffer.from('-2')]],
          records: 1,
          alsoInStore: true,
        }),
      ),
    ).toEqual({ landed: 1, rejected: 0 });
    const body = (entry: number) =>
      read(
        `SELECT count(*) AS n, group_concat(substr(CAST(bytes AS TEXT), 1, 1) || length(bytes), ' ') AS chunks
           FROM (SELECT bytes FROM outbox_chunks WHERE entry_id = ${entry} ORDER BY seq)`,
      );
    const entries = read(
      'SELECT group_concat(id) AS ids, group_concat(chunks) AS chunks FROM outbox',
    );
    expect(entries).toEqual({ ids: '1,2,3', chunks: '3,2,1' });
    expect(body(1)).toEqual({ n: 3, chunks: 'a100000 b200000 -2' });
    expect(body(2)).toEqual({ n: 2, chunks: 'c300000 -2' });
    expect(body(3)).toEqual({ n: 1, chunks: '-2' });
    expect(read('SELECT count(*) AS n FROM activities').n).toBe(1);
    await store.close();
  });

  it("give an outbox entry's size, and its chunks a page at a time; a chunk gone mid-body is an error", async () => {
    const { store, s, run } = await start();
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.from(`${i}`.padStart(1000, '.')));
    const batch = store.openBatch({ sectionId: s.id, runId: run.id, dataType: 'activities' });
    await batch.commit(
      oneRowTail({ bodies: [chunks.map((c) => Buffer.from(c))], records: 1, alsoInStore: false }),
    );
    const outbox = openOutboxStore(store);
    const [entry] = await outbox.pending(s.id, 10);
    expect(entry?.bytes).toBe(40_000);
    const read: Uint8Array[] = [];
    for await (const chunk of entry?.body() ?? []) read.push(chunk);
    expect(read).toEqual(chunks);
    // Read again (a retry) from the start; the chunks from 20 on go away after the first page.
    const raw = new BetterSqlite3(join(dir, 'sluice.db'));
    const again: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of entry?.body() ?? []) {
          if (again.length === 0) raw.prepare('DELETE FROM outbox_chunks WHERE seq >= 20').run();
          again.push(Buffer.from(chunk).toString().replace(/^\.+/, ''));
        }
      })(),
    ).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: `outbox entry ${entry?.id} lost its chunk 20 while it was sent`,
    });
    raw.close();
    // The first page of CHUNKS_A_READ was read before the delete, the next up to the gap.
    expect(CHUNKS_A_READ).toBeLessThan(20);
    expect(again).toEqual(Array.from({ length: 20 }, (_, i) => `${i}`));
    await store.close();
  });

  it('refuse the fold of a last batch that re-read landed rows, and fold from the store at the end', async () => {
    const { store, run, hand, read, totals } = await start();
    await hand([1, 2]);
    expect(await hand([2, 3], true)).toEqual({ landed: 1, rejected: 0 });
    expect(read('SELECT folded_id FROM sections').folded_id).toBe(0);
    await store.finishRun(run.id, { status: 'succeeded' });
    expect(totals()).toEqual({ endusers: 3, daily: 3, pairs: 3 });
    expect(read('SELECT landed_id - folded_id AS unfolded FROM sections').unfolded).toBe(0);
    await store.close();
  });
});
