/**
 * The writer thread's entry: a second better-sqlite3 connection to the store's file that commits
 * the batches the main thread posts, in the order posted (see sqlite-writer.ts for the protocol).
 * SQLite's own work (the inserts, the B-trees, the commit) then runs on the other core while the
 * main thread parses the next MySQL batch, maps it and aggregates the last one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { SluiceError } from '../core/errors.js';
import { unpackRecords, type PackedRecords } from './packed-records.js';
import { tableTransferables } from './seen-table.js';
import { SqliteBatchWriter, type FlatRecords } from './sqlite-batch-writer.js';
import { SQLITE_PRAGMAS } from './sqlite-pragmas.js';
import type { WriterMessage, WriterReply } from './sqlite-writer.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer-thread runs as a worker thread only');
const { file } = workerData as { file: string };

const sqlite = new BetterSqlite3(file, { fileMustExist: true });
for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
const writer = new SqliteBatchWriter(sqlite);
/**
 * The parts of the batches not committed yet, by batch id. They wait here, packed, rather than in
 * a transaction: holding SQLite's write lock until the last part arrives would make a write on
 * the main thread's connection wait for the main thread itself.
 */
const parts = new Map<number, PackedRecords[]>();

/** A batch's parts unpacked one at a time, as the commit inserts them (each is garbage after). */
function* unpacked(packed: PackedRecords[]): Iterable<FlatRecords> {
  for (const part of packed) yield unpackRecords(part);
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
    case 'part': {
      const held = parts.get(message.id);
      if (held === undefined) parts.set(message.id, [message.records]);
      else held.push(message.records);
      return;
    }
    case 'abort':
      parts.delete(message.id);
      return;
    case 'close':
      sqlite.close();
      port.close();
      return;
    case 'commit': {
      const held = parts.get(message.id) ?? [];
      parts.delete(message.id);
      let reply: WriterReply;
      let transfer: ArrayBuffer[] = [];
      try {
        if (held.length !== message.parts) {
          throw new SluiceError(
            'STORE_FAILED',
            `the store's writer thread got ${held.length} of the ${message.parts} parts of a batch`,
          );
        }
        const result = writer.commit(message.req, unpacked(held));
        // A fold's tables go back to be filled again (see TablePool).
        transfer = (result.tables ?? []).flatMap(tableTransferables);
        reply = { id: message.id, ok: true, result };
      } catch (err) {
        reply = errorReply(message.id, err);
      }
      port.postMessage(reply, transfer);
    }
  }
});
