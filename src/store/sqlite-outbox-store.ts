import type { Kysely } from 'kysely';
import { sql } from './kysely.js';
import type { OutboxEntry, OutboxStore } from './outbox-store.js';
import type { Database } from './schema.js';

/** The outbox on the store's SQLite connection; `sinkToken` decrypts with the store's secret box. */
export function openSqliteOutboxStore(
  db: Kysely<Database>,
  sinkToken: (sectionId: number) => Promise<string | undefined>,
): OutboxStore {
  return {
    async pending(sectionId, limit) {
      const rows = await db
        .selectFrom('outbox')
        .selectAll()
        .where('section_id', '=', sectionId)
        .where('delivered_at', 'is', null)
        .orderBy('id')
        .limit(limit)
        .execute();
      // The page's chunks in one read, in entry and body order.
      const chunked = rows.filter((r) => r.chunks > 0).map((r) => r.id);
      const chunks =
        chunked.length === 0
          ? []
          : await db
              .selectFrom('outbox_chunks')
              .select(['entry_id', 'bytes'])
              .where('entry_id', 'in', chunked)
              .orderBy('entry_id')
              .orderBy('seq')
              .execute();
      return rows.map((r): OutboxEntry => {
        // Queued before bodies were chunks: one value, text or bytes.
        const body =
          r.chunks > 0
            ? chunks.filter((c) => c.entry_id === r.id).map((c) => c.bytes)
            : [typeof r.body === 'string' ? Buffer.from(r.body) : r.body];
        return {
          id: r.id,
          sectionId: r.section_id,
          runId: r.run_id,
          kind: r.kind,
          body,
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
