import type { Kysely } from 'kysely';
import { SluiceError } from '../core/errors.js';
import { sql } from './kysely.js';
import type { OutboxEntry, OutboxStore } from './outbox-store.js';
import type { Database } from './schema.js';

/**
 * Chunks of a body read at a time while it is sent: 1 MiB of 64 KiB chunks. Read whole, the two
 * bodies of a delivery held 60 MB at 100,000 rows a batch (the peak of such a sync: 151-156 MiB).
 */
export const CHUNKS_A_READ = 16;

/**
 * A chunk missing under a body being sent (the entry delivered meanwhile by another process, or
 * cut short): the request is abandoned rather than part of a body sent.
 */
function chunkLost(id: number, seq: number): SluiceError {
  return new SluiceError(
    'STORE_FAILED',
    `outbox entry ${id} lost its chunk ${seq} while it was sent`,
    {
      outboxId: id,
      seq,
    },
  );
}

/** The outbox on the store's SQLite connection; `sinkToken` decrypts with the store's secret box. */
export function openSqliteOutboxStore(
  db: Kysely<Database>,
  sinkToken: (sectionId: number) => Promise<string | undefined>,
): OutboxStore {
  /** The `count` chunks of entry `id`, CHUNKS_A_READ at a time. */
  async function* chunksOf(id: number, count: number): AsyncGenerator<Uint8Array> {
    for (let seq = 0; seq < count;) {
      const rows = await db
        .selectFrom('outbox_chunks')
        .select(['seq', 'bytes'])
        .where('entry_id', '=', id)
        .where('seq', '>=', seq)
        .orderBy('seq')
        .limit(Math.min(CHUNKS_A_READ, count - seq))
        .execute();
      if (rows.length === 0) throw chunkLost(id, seq);
      for (const row of rows) {
        if (row.seq !== seq) throw chunkLost(id, seq);
        yield row.bytes;
        seq++;
      }
    }
  }

  return {
    async pending(sectionId, limit) {
      const rows = await db
        .selectFrom('outbox')
        .leftJoin('outbox_chunks', 'outbox_chunks.entry_id', 'outbox.id')
        .select([
          'outbox.id',
          'outbox.section_id',
          'outbox.run_id',
          'outbox.kind',
          'outbox.chunks',
          'outbox.created_at',
          'outbox.attempts',
          'outbox.delivered_at',
          'outbox.last_error',
          // A blob's length comes from its record's header: the chunks themselves are not read.
          sql<number>`coalesce(sum(length(outbox_chunks.bytes)), 0)`.as('chunk_bytes'),
          // Queued before bodies were chunks: one value, text or bytes, small enough to hold.
          sql<string | Uint8Array | null>`CASE WHEN outbox.chunks = 0 THEN outbox.body END`.as(
            'body',
          ),
        ])
        .where('outbox.section_id', '=', sectionId)
        .where('outbox.delivered_at', 'is', null)
        .groupBy('outbox.id')
        .orderBy('outbox.id')
        .limit(limit)
        .execute();
      return rows.map((r): OutboxEntry => {
        const whole =
          r.chunks > 0 ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
        return {
          id: r.id,
          sectionId: r.section_id,
          runId: r.run_id,
          kind: r.kind,
          bytes: whole === undefined ? r.chunk_bytes : (whole?.byteLength ?? 0),
          body:
            whole === undefined
              ? () => chunksOf(r.id, r.chunks)
              : async function* () {
                  if (whole !== null) yield Buffer.from(whole);
                },
          createdAt: r.created_at,
          attempts: r.attempts,
          deliveredAt: r.delivered_at,
          lastError: r.last_error,
        };
      });
    },
    async recordFailure(id, error) {
      await db
        .updateTable('outbox')
        .set({ attempts: sql`attempts + 1`, last_error: error })
        .where('id', '=', id)
        .execute();
    },
    async delivered(id) {
      await db.deleteFrom('outbox').where('id', '=', id).execute();
    },
    sinkToken,
  };
}
