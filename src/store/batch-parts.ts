/**
 * Where a batch's records wait for its commit: the writer takes them in parts while MySQL sends
 * the batch, and inserts them all in the batch's one transaction once the batch is read (holding
 * SQLite's write lock meanwhile would make every other write wait for MySQL). In memory the wait
 * cost about 0.9 MiB per 1,000 rows of `batchSize` at the peak (the parts, their buffers freed only
 * when a collection comes, the writer's heap grown around them): 216 MiB at 100,000 rows a batch.
 * A batch that grows past SPILL_AFTER_BYTES moves the parts it held, and every later one, to a
 * file of its own in the data folder, unlinked as soon as it is open (a crash leaves nothing
 * behind); the commit reads them back one at a time. (Spilling only the parts past the bound left
 * the first 8 MiB waiting the whole read: 170-177 MiB at 100,000 rows a batch, 143-147 then.)
 * The file's pages are the operating system's cache, not the process's memory. A batch committed
 * gives its file back to the thread's SpillFiles, and the next batch writes over the same pages.
 * The chunks of a batch's outbox bodies handed over ahead of its commit wait the same way.
 */
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { release } from '../core/bytes.js';
import { SluiceError } from '../core/errors.js';
import {
  packedBytes,
  unpackRecords,
  type PackedRecords,
  type PackedShape,
} from './packed-records.js';
import type { FlatRecords, HeldBatch, OutboxBody } from './sqlite-batch-writer.js';

/**
 * Bytes of parts a batch holds in memory before they and the rest go to its spill file: a batch
 * of up to about a thousand rows never makes a file, one of 10,000 rows of the benchmark's kind
 * (about 3.7 MB) spills from its first tenth on. Held up to 8 MiB (no batch of the default size
 * spilled), the parts outlived the writer thread's young generation unless it was 2 x 8 MiB;
 * spilled, it does with 2 x 1 (see WRITER_SEMI_SPACE_MB): the benchmark's table peaked at 105-108
 * MiB instead of 121-125, 300,000 endusers at 137-142 instead of 152-156, for a write and a read
 * of each part.
 */
export const SPILL_AFTER_BYTES = 256 * 1024;

/** A part written to the spill file, at `at`: its bytes as they were packed. */
type Spilled = PackedShape & { at: number };

/** A chunk of an outbox body handed over ahead of the commit: held (`bytes`), or spilled at `at`. */
interface BodyChunk {
  body: number;
  bytes: Uint8Array | undefined;
  at: number;
  length: number;
}

/**
 * One buffer per thread that spilled parts and chunks are read back into: a part's bytes are
 * copied out of it at once (into the strings and numbers of its records), a chunk's into the
 * store, so nothing is allocated per part.
 */
let scratch = new Uint8Array(0);
function scratchOf(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = new Uint8Array(Math.max(bytes, 2 * scratch.length, 65536));
  return Buffer.from(scratch.buffer, 0, bytes);
}

/** An open spill file, unlinked already (or, where that waits for the close, with its path). */
interface SpillFile {
  fd: number;
  /** Its path while it could not be unlinked yet (Windows keeps open files). */
  path: string | undefined;
  /** Its size: the most a batch wrote to it. */
  size: number;
}

/**
 * A thread's spill files. A batch takes one when it first spills and gives it back once it is
 * committed or dropped, and the next batch writes over the same pages: a new file for each batch
 * made the kernel allocate, and then free, the page cache of every part (a million rows of the
 * benchmark's kind in 48 KB parts: 210-270 ms of system time through new files, 50-70 through one
 * written over). Up to KEEP files wait (a batch read while two commit takes a third), each cut back
 * to KEEP_BYTES when a long batch left it larger: a thread keeps at most 24 MiB of the kernel's
 * cache (11 MiB at the default batch size), which the kernel writes back to disk now and then
 * rather than drop with the file.
 */
export class SpillFiles {
  static readonly KEEP = 3;
  static readonly KEEP_BYTES = 8 * 1024 * 1024;
  readonly #free: SpillFile[] = [];
  #closed = false;
  /** Files opened so far (a batch taking one given back opens none). */
  opened = 0;

  constructor(
    /** Path of a new spill file. */
    private readonly paths: () => string,
  ) {}

  /** A free file, or a new one; throws when none can be made. */
  take(): SpillFile {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    const path = this.paths();
    const fd = openSync(path, 'wx+', 0o600);
    this.opened++;
    try {
      unlinkSync(path);
      return { fd, path: undefined, size: 0 };
    } catch {
      return { fd, path, size: 0 };
    }
  }

  /** Takes a file back for the next batch; `broken` when a write to it failed (it is closed). */
  give(file: SpillFile, broken = false): void {
    try {
      if (!broken && !this.#closed && this.#free.length < SpillFiles.KEEP) {
        if (file.size > SpillFiles.KEEP_BYTES) {
          ftruncateSync(file.fd, SpillFiles.KEEP_BYTES);
          file.size = SpillFiles.KEEP_BYTES;
        }
        this.#free.push(file);
        return;
      }
    } catch {
      // Could not be cut back: closed instead.
    }
    closeFile(file);
  }

  /** Closes the files waiting, and any given back later (the store closes). */
  close(): void {
    this.#closed = true;
    for (const file of this.#free.splice(0)) closeFile(file);
  }
}

function closeFile(file: SpillFile): void {
  closeSync(file.fd);
  if (file.path !== undefined) unlinkQuietly(file.path);
}

export class BatchParts implements HeldBatch {
  /** Parts added, held or spilled. */
  count = 0;
  readonly #held: PackedRecords[] = [];
  #heldBytes = 0;
  #spilled: Spilled[] = [];
  /** The outbox body chunks handed over ahead, in order, held or spilled. */
  #chunks: BodyChunk[] = [];
  #file: SpillFile | undefined;
  /** Bytes of this batch in its spill file. */
  #size = 0;
  /** Set when the spill file could not be made or written: the batch stays in memory. */
  #inMemoryOnly = false;

  constructor(
    /** Where the spill file comes from, should the batch need one. */
    private readonly files: SpillFiles,
    private readonly limit = SPILL_AFTER_BYTES,
  ) {}

  /** Bytes held in memory (the parts not spilled). */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Parts written to the spill file. */
  get spilledParts(): number {
    return this.#spilled.length;
  }

  add(part: PackedRecords): void {
    this.count++;
    this.#held.push(part);
    this.#heldBytes += part.bytes.byteLength;
    this.#spillIfLong();
  }

  /**
   * Takes the next chunks of the batch's outbox body `body`, handed over ahead of its commit:
   * held or spilled as the parts are, and freed once written to the file (they are the batch's).
   */
  addBody(body: number, chunks: readonly Uint8Array[]): void {
    this.count++;
    for (const bytes of chunks) {
      this.#chunks.push({ body, bytes, at: -1, length: bytes.byteLength });
      this.#heldBytes += bytes.byteLength;
    }
    this.#spillIfLong();
  }

  /** The batch's records part by part, in the order added; each part is garbage once passed on. */
  *records(): Generator<FlatRecords> {
    // Spilled parts come first: a batch spills the parts it held once it grows past the bound.
    for (const s of this.#spilled) yield this.#readBack(s);
    for (const part of this.#held) yield unpackRecords(part, part.bytes);
  }

  /**
   * The batch's outbox bodies: each body's chunks handed over ahead (addBody), then its chunks in
   * `tail` (the commit's). A spilled chunk is read back into a buffer the next one reuses: write
   * each where it goes before taking the next.
   */
  outboxBodies(tail: readonly (readonly Uint8Array[])[]): OutboxBody[] {
    let count = tail.length;
    for (const chunk of this.#chunks) count = Math.max(count, chunk.body + 1);
    return Array.from({ length: count }, (_, body) => {
      const ahead = this.#chunks.filter((chunk) => chunk.body === body);
      const rest = tail[body] ?? [];
      const chunkBack = (chunk: BodyChunk) => chunk.bytes ?? this.#readChunk(chunk);
      return {
        chunks: ahead.length + rest.length,
        bytes: (function* () {
          for (const chunk of ahead) yield chunkBack(chunk);
          yield* rest;
        })(),
      };
    });
  }

  /** Lets go of the parts and of the spill file (after the commit, or when the batch is dropped). */
  discard(): void {
    release(this.#held.map((part) => part.bytes));
    this.#held.length = 0;
    this.#heldBytes = 0;
    this.#spilled = [];
    const held = this.#chunks.flatMap((chunk) => (chunk.bytes === undefined ? [] : [chunk.bytes]));
    this.#chunks = [];
    release(held);
    this.#size = 0;
    if (this.#file !== undefined) this.files.give(this.#file, this.#inMemoryOnly);
    this.#file = undefined;
  }

  /**
   * Once the batch has passed its bound, moves what it holds to the spill file, in order (the
   * commit reads the parts in order), and frees it: nothing of a long batch waits in memory for
   * the rest. Stops for good once the file failed us.
   */
  #spillIfLong(): void {
    if (this.#inMemoryOnly || (this.#size === 0 && this.#heldBytes <= this.limit)) return;
    const written: Uint8Array[] = [];
    while (this.#held.length > 0) {
      const { bytes, ...shape } = this.#held[0] as PackedRecords;
      const at = this.#write(bytes);
      if (at === undefined) break;
      this.#spilled.push({ ...shape, at });
      this.#held.shift();
      this.#heldBytes -= bytes.byteLength;
      written.push(bytes);
    }
    for (const chunk of this.#chunks) {
      if (chunk.bytes === undefined || this.#inMemoryOnly) continue;
      const at = this.#write(chunk.bytes);
      if (at === undefined) break;
      written.push(chunk.bytes);
      chunk.bytes = undefined;
      chunk.at = at;
      this.#heldBytes -= chunk.length;
    }
    release(written);
  }

  /**
   * Appends bytes to the spill file: where they start, or undefined when the file failed us (no
   * room in the data folder, no right to write there). The batch then waits in memory as before
   * (a commit would find the same disk full and fail with SQLite's own error).
   */
  #write(bytes: Uint8Array): number | undefined {
    try {
      const file = (this.#file ??= this.files.take());
      const total = bytes.byteLength;
      if (writeSync(file.fd, bytes, 0, total, this.#size) !== total) throw new Error('short write');
      const at = this.#size;
      this.#size += total;
      file.size = Math.max(file.size, this.#size);
      return at;
    } catch {
      this.#inMemoryOnly = true;
      return undefined;
    }
  }

  /** A spilled chunk read back, into the buffer the next read reuses. */
  #readChunk(chunk: BodyChunk): Uint8Array {
    return this.#read(chunk.at, chunk.length, "a batch's outbox body");
  }

  /** A spilled part read back and unpacked. */
  #readBack(s: Spilled): FlatRecords {
    return unpackRecords(s, this.#read(s.at, packedBytes(s), "a batch's records"));
  }

  /** `length` bytes of the spill file from `at`, in the buffer the next read reuses. */
  #read(at: number, length: number, what: string): Buffer {
    const buf = scratchOf(length);
    if (readSync((this.#file as SpillFile).fd, buf, 0, length, at) !== length) {
      throw new SluiceError('STORE_FAILED', `${what} could not be read back from its spill file`);
    }
    return buf;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

let spills = 0;

/**
 * The spill files of the store at `file`: beside it (the data folder, which holds the landed data
 * already), each one new; the operating system's temporary folder for a store in memory.
 */
export function spillFiles(file: string, tag: string): SpillFiles {
  const base = file === ':memory:' || file === '' ? join(tmpdir(), 'sluice') : file;
  return new SpillFiles(() => `${base}.spill-${process.pid}-${tag}-${++spills}`);
}
