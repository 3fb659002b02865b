/**
 * The writer thread's entry: a second better-sqlite3 connection to the store's file that commits
 * the batches the main thread posts, in the order posted (see sqlite-writer.ts for the protocol).
 * SQLite's own work (the inserts, the B-trees, the commit) then runs on the other core while the
 * main thread parses the next MySQL batch, maps it and aggregates the last one.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { SluiceError } from '../core/errors.js';
import { BatchParts, spillFiles } from './batch-parts.js';
import { tableTransferables } from './seen-table.js';
import { SqliteBatchWriter } from './sqlite-batch-writer.js';
import { SQLITE_PRAGMAS, WRITER_WAL_AUTOCHECKPOINT } from './sqlite-pragmas.js';
import type { WriterMessage, WriterReply } from './sqlite-writer.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer-thread runs as a worker thread only');
const { file } = workerData as { file: string };

const sqlite = new BetterSqlite3(file, { fileMustExist: true });
for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
sqlite.pragma(`wal_autocheckpoint = ${WRITER_WAL_AUTOCHECKPOINT}`);
const writer = new SqliteBatchWriter(sqlite);
/**
 * The parts of the batches not committed yet, by batch id. They wait here, packed (spilled to a
 * file past a bound, see BatchParts), rather than in a transaction: holding SQLite's write lock
 * until the last part arrives would make a write on the main thread's connection wait for the
 * main thread itself.
 */
const parts = new Map<number, BatchParts>();
const spills = spillFiles(file, `w${threadId}`);

/** The parts of batch `id` so far (none yet for its first). */
function heldFor(id: number): BatchParts {
  let held = parts.get(id);
  if (held === undefined) parts.set(id, (held = new BatchParts(spills)));
  return held;
}

function errorReply(id: number, err: unknown): WriterReply {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; details?: unknown };
  return {
    id,
    ok: false,
    error: {
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: typeof e?.message === 'string' ? e.message : String(err),
      code: typeof e?.code === 'string' ? e.code : undefined,
      details: e?.details,
    },
  };
}

port.on('message', (message: WriterMessage) => {
  switch (message.op) {
    case 'part':
      heldFor(message.id).add(message.records);
      return;
    case 'body':
      heldFor(message.id).addBody(message.body, message.chunks);
      return;
    case 'abort':
      parts.get(message.id)?.discard();
      parts.delete(message.id);
      return;
    case 'close':
      // Batches never committed (their run was dropped) let go of their spill files.
      for (const held of parts.values()) held.discard();
      parts.clear();
      // (Node closes what a thread opened when it exits; closed here all the same.)
      spills.close();
      sqlite.close();
      port.close();
      return;
    case 'commit': {
      const held = parts.get(message.id) ?? new BatchParts(spills);
      parts.delete(message.id);
      let reply: WriterReply;
      let transfer: ArrayBuffer[] = [];
      try {
        if (held.count !== message.parts) {
          throw new SluiceError(
            'STORE_FAILED',
            `the store's writer thread got ${held.count} of the ${message.parts} parts of a batch`,
          );
        }
        const result = writer.commit(message.req, held);
        // A fold's tables go back to be filled again (see TablePool).
        transfer = (result.tables ?? []).flatMap(tableTransferables);
        reply = { id: message.id, ok: true, result };
      } catch (err) {
        reply = errorReply(message.id, err);
      } finally {
        held.discard();
      }
      port.postMessage(reply, transfer);
    }
  }
});
