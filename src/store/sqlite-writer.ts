/**
 * Where the SQLite store's batches are committed: on its own connection (inline), or in a writer
 * thread with a connection of its own, so SQLite's work overlaps the main thread's. Both commit
 * batches in the order they are handed over and both refuse the later batches of a run once one
 * failed (see SqliteBatchWriter). The thread is used when its compiled file sits beside this one
 * (the built package); run from TypeScript sources (the unit tests), the store writes inline.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { movableBuffers } from '../core/bytes.js';
import { ERROR_CATALOGUE, SluiceError, type ErrorCode } from '../core/errors.js';
import { BatchParts, spillFiles, type SpillFiles } from './batch-parts.js';
import { packRecords, transferablesOf, type PackedRecords } from './packed-records.js';
import { tableTransferables } from './seen-table.js';
import {
  earlierBatchFailed,
  foldTables,
  type FlatRecords,
  type SqliteBatchWriter,
  type WriteRequest,
  type WriteResult,
} from './sqlite-batch-writer.js';

/** What the store needs of a writer. */
export interface BatchWriterPort {
  /**
   * Starts a batch of `runId`: its records are handed over in parts while they are read, and
   * committed with the batch's other writes by `commit`. Commits happen in call order whether or
   * not earlier ones have resolved.
   */
  open(runId: number): WriterBatch;
  /** Waits for the batches handed over, then lets go of the connection (idempotent). */
  close(): Promise<void>;
  /**
   * Lets go of what an idle writer holds (the thread, its heap and connection) when no batch is
   * open or waiting; the next batch starts anew. Called when a run ends.
   */
  retire(): void;
  /**
   * Starts what the next batch needs ahead of it: a writer thread boots in about 0.1 s (its
   * isolate, better-sqlite3, the connection and statements), which the first batch of a run
   * waited for. Called as a run begins that will likely land rows.
   */
  prepare(): void;
  /** Threads running or closing (a retired one until it has exited); 0 for an inline writer. */
  readonly threads: number;
  readonly kind: 'inline' | 'thread';
}

/** One batch on its way to a writer. */
export interface WriterBatch {
  /** Hands over the next part of the batch's records. */
  part(records: FlatRecords): void;
  /** Hands over the next chunks of the batch's outbox body `body` (see BatchStream.addBody). */
  body(body: number, chunks: Uint8Array[]): void;
  /** Commits the parts handed over with the rest of the batch, in one transaction. */
  commit(req: WriteRequest): Promise<WriteResult>;
  /** Drops the parts handed over: nothing of the batch is written. */
  abort(): void;
}

/** Main thread to writer thread. */
export type WriterMessage =
  | { op: 'part'; id: number; records: PackedRecords }
  | { op: 'body'; id: number; body: number; chunks: Uint8Array[] }
  | { op: 'commit'; id: number; parts: number; req: WriteRequest }
  | { op: 'abort'; id: number }
  | { op: 'close' };

/** Writer thread to main thread: one reply per commit, in order. */
export type WriterReply =
  | { id: number; ok: true; result: WriteResult }
  | {
      id: number;
      ok: false;
      error: { name: string; message: string; code: string | undefined; details: unknown };
    };

/** Commits on the store's own connection; `exclusive` serialises with its other users. */
export class InlineWriter implements BatchWriterPort {
  readonly kind = 'inline';
  readonly #spills: SpillFiles;
  constructor(
    private readonly writer: SqliteBatchWriter,
    private readonly exclusive: <T>(fn: () => T) => Promise<T>,
    /** The store's file: a large batch spills beside it (see BatchParts). */
    file: string,
  ) {
    this.#spills = spillFiles(file, 'inline');
  }

  /** The last commit handed over: the connection's lock alone does not serve waiters in order. */
  #tail: Promise<unknown> = Promise.resolve();

  open(): WriterBatch {
    // The parts wait here until the commit: a transaction left open between them would hold the
    // connection (and SQLite's write lock) while the batch is still being read.
    let parts = new BatchParts(this.#spills);
    return {
      part: (records) => {
        parts.add(packRecords(records));
      },
      body: (body, chunks) => {
        parts.addBody(body, chunks);
      },
      commit: (req) => {
        const held = parts;
        parts = new BatchParts(this.#spills);
        const committed = this.#tail
          .then(() => this.exclusive(() => this.writer.commit(req, held)))
          .finally(() => held.discard());
        this.#tail = committed.catch(() => undefined);
        return committed;
      },
      abort: () => {
        parts.discard();
      },
    };
  }

  async close(): Promise<void> {
    await this.#tail;
    this.#spills.close();
  }

  retire(): void {}

  prepare(): void {}

  readonly threads = 0;
}

/**
 * The writer thread's semi-space, MiB (its young generation is two of them). What it allocates
 * dies young as long as a batch's parts wait in the spill file rather than on its heap (see
 * SPILL_AFTER_BYTES): held there until the commit, they were promoted at 4 MiB (80 MiB of a
 * million-row sync, seven full collections) and needed 8. (The main thread promotes as much at
 * 4 as at 8: 6.4 MiB.)
 */
export const WRITER_SEMI_SPACE_MB = 1;

/** Writer threads starting, whose semi-space flag is set (see startWithSemiSpace). */
let starting = 0;

/**
 * Starts a writer thread with a semi-space of WRITER_SEMI_SPACE_MB. `resourceLimits` sizes a
 * thread's young generation only while Node was given no `--max-semi-space-size` (the project's
 * .npmrc gives one): V8's flags are the process's, and that flag wins over the limits in every
 * thread. So the flag is set to the writer's size while its thread starts (V8 reads it when the
 * thread's heap is made, before 'online') and put back after; the main thread's heap, made long
 * before, keeps its own.
 */
function startWithSemiSpace(start: () => Worker): Worker {
  const own = semiSpaceFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (own === undefined) return start();
  if (starting++ === 0) setFlagsFromString(`--max-semi-space-size=${WRITER_SEMI_SPACE_MB}`);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (--starting === 0) setFlagsFromString(`--max-semi-space-size=${own}`);
  };
  let worker: Worker;
  try {
    worker = start();
  } catch (err) {
    restore();
    throw err;
  }
  worker.once('online', restore);
  worker.once('error', restore);
  worker.once('exit', restore);
  return worker;
}

/**
 * The `--max-semi-space-size` Node was started with, from NODE_OPTIONS and then its command line
 * (the last one given wins, as V8 reads them), or undefined.
 */
export function semiSpaceFlag(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  const args = [...(nodeOptions ?? '').split(/\s+/), ...execArgv];
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const m = /^--max[-_]semi[-_]space[-_]size(?:=(.*))?$/.exec(args[i] as string);
    if (m === null) continue;
    value = m[1] ?? args[++i];
  }
  return value !== undefined && /^\d+$/.test(value) ? value : undefined;
}

/** The compiled writer thread, when this module runs from the built package. */
export function writerThreadUrl(): URL | undefined {
  const url = new URL('./sqlite-writer-thread.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * Commits in a worker thread holding a second connection to `file`. The thread starts with the
 * first batch and is unreferenced while idle, so it never keeps the process alive by itself.
 */
export class ThreadWriter implements BatchWriterPort {
  readonly kind = 'thread';
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #waiting = new Map<
    number,
    { runId: number; resolve: (r: WriteResult) => void; reject: (e: Error) => void }
  >();
  /** Runs with a batch lost with a thread that died: a new thread must not commit their later ones. */
  readonly #lostRuns = new Set<number>();
  /** Batches opened and not yet committed or aborted. */
  #open = 0;
  /** Threads let go of (see retire) until they have exited. */
  readonly #retiring = new Map<Worker, Promise<void>>();

  constructor(
    private readonly file: string,
    private readonly url: URL,
  ) {}

  open(runId: number): WriterBatch {
    const id = this.#nextId++;
    /** The thread holding the parts: one that died took them along. */
    let holder: Worker | undefined;
    let parts = 0;
    let open = true;
    this.#open++;
    const done = (): void => {
      if (open) this.#open--;
      open = false;
    };
    /** Posts a part of the batch (records or body chunks) to the thread that holds the rest. */
    const handOver = (message: WriterMessage, transfer: ArrayBuffer[]): void => {
      holder ??= this.#worker ?? this.#start();
      holder.postMessage(message, transfer);
      parts++;
    };
    return {
      part: (records) => {
        // A batch of a lost run is refused at its commit; its parts need not travel.
        if (this.#lostRuns.has(runId)) return;
        const packed = packRecords(records);
        handOver({ op: 'part', id, records: packed }, transferablesOf(packed));
      },
      body: (body, chunks) => {
        if (this.#lostRuns.has(runId)) return;
        handOver({ op: 'body', id, body, chunks }, movableBuffers(chunks));
      },
      commit: (req) => {
        done();
        if (this.#lostRuns.has(req.runId)) return Promise.reject(earlierBatchFailed(req));
        if (holder !== undefined && holder !== this.#worker) {
          this.#lostRuns.add(req.runId);
          return Promise.reject(
            new SluiceError(
              'STORE_FAILED',
              "the store's writer thread failed while the batch was handed over",
            ),
          );
        }
        const worker = holder ?? this.#worker ?? this.#start();
        return new Promise((resolve, reject) => {
          if (this.#waiting.size === 0) worker.ref();
          this.#waiting.set(id, { runId: req.runId, resolve, reject });
          try {
            // A fold's tables and the outbox bodies move to the thread rather than being
            // copied (pending.ts and the engine are done with them).
            worker.postMessage({ op: 'commit', id, parts, req } satisfies WriterMessage, [
              ...(req.fold === undefined ? [] : foldTables(req.fold).flatMap(tableTransferables)),
              ...movableBuffers(req.outbox?.bodies.flat() ?? []),
            ]);
          } catch (err) {
            this.#waiting.delete(id);
            if (this.#waiting.size === 0) worker.unref();
            throw err;
          }
        });
      },
      abort: () => {
        done();
        if (holder !== undefined && holder === this.#worker) {
          holder.postMessage({ op: 'abort', id } satisfies WriterMessage);
        }
      },
    };
  }

  async close(): Promise<void> {
    for (const [retired, exited] of this.#retiring) {
      retired.ref();
      await exited;
    }
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    // Messages are handled in order: the batches posted before are committed first.
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ op: 'close' } satisfies WriterMessage);
    await exited;
  }

  /** Threads running or closing (a retired one until it has exited). */
  get threads(): number {
    return (this.#worker === undefined ? 0 : 1) + this.#retiring.size;
  }

  prepare(): void {
    if (this.#worker === undefined) this.#start();
  }

  /**
   * A thread holds 30-40 MiB (its heap, better-sqlite3, its page cache) that an idle server need
   * not keep, and that a run's final fold, on the main connection, would add to.
   */
  retire(): void {
    const worker = this.#worker;
    if (worker === undefined || this.#open > 0 || this.#waiting.size > 0) return;
    this.#worker = undefined;
    // Every commit posted to it has been answered: it closes its connection and exits, which
    // fails nothing (another thread may be committing by then).
    worker.removeAllListeners();
    worker.on('error', () => undefined);
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', () => {
        this.#retiring.delete(worker);
        resolve();
      }),
    );
    this.#retiring.set(worker, exited);
    worker.postMessage({ op: 'close' } satisfies WriterMessage);
  }

  #start(): Worker {
    const worker = startWithSemiSpace(
      () =>
        new Worker(this.url, {
          workerData: { file: this.file },
          // The old generation keeps V8's default: no limit a big batch could hit.
          resourceLimits: { maxYoungGenerationSizeMb: 2 * WRITER_SEMI_SPACE_MB },
        }),
    );
    worker.unref();
    worker.on('message', (reply: WriterReply) => this.#settle(worker, reply));
    worker.on('error', (err) => this.#fail(worker, err));
    worker.on('exit', (code) =>
      this.#fail(worker, new Error(`the store's writer thread exited with code ${code}`)),
    );
    this.#worker = worker;
    return worker;
  }

  #settle(worker: Worker, reply: WriterReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (waiting === undefined) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) worker.unref();
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(rebuildError(reply.error));
  }

  /** The thread died: every batch still waiting fails (none of them is known to have committed). */
  #fail(worker: Worker, err: Error): void {
    if (this.#worker === worker) this.#worker = undefined;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) {
      this.#lostRuns.add(w.runId);
      w.reject(new SluiceError('STORE_FAILED', `the store's writer thread failed: ${err.message}`));
    }
  }
}

/** A Sluice error crosses as its code and details; a driver error keeps its code (SQLITE_BUSY...). */
function rebuildError(e: Extract<WriterReply, { ok: false }>['error']): Error {
  if (e.name === 'SluiceError' && e.code !== undefined && e.code in ERROR_CATALOGUE) {
    return new SluiceError(
      e.code as ErrorCode,
      e.message,
      e.details as Record<string, unknown> | undefined,
    );
  }
  const err = new Error(e.message) as Error & { code?: string };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  return err;
}
