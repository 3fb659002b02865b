/**
 * The schedule store on the Kysely instance of the SQLite store (see `sqliteKyselyOf`): the
 * same single connection, so its writes queue behind the store's transactions instead of
 * nesting in them. Plain Kysely, so the PostgreSQL store can reuse it as it is.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, SectionSchedulesTable } from './schema.js';
import { guard as storeGuard } from './sqlite-helpers.js';
import type { ScheduleState, ScheduleStore } from './schedule-store.js';

/** Failures read `schedule store <operation> failed: …`. */
const guard = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
  storeGuard(operation, fn, 'schedule store');

function toState(row: Selectable<SectionSchedulesTable>): ScheduleState {
  return {
    sectionId: row.section_id,
    schedule: row.schedule,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
    failures: row.failures,
    lastError: row.last_error,
    failingSince: row.failing_since,
  };
}

/** A ScheduleStore over `db`; closing the store that owns `db` closes this one too. */
export function openSqliteScheduleStore(db: Kysely<Database>): ScheduleStore {
  return {
    async list() {
      return guard('list', async () => {
        const rows = await db
          .selectFrom('section_schedules')
          .selectAll()
          .orderBy('section_id')
          .execute();
        return rows.map(toState);
      });
    },

    async save(state) {
      return guard('save', async () => {
        const values = {
          schedule: state.schedule,
          next_run_at: state.nextRunAt,
          last_run_at: state.lastRunAt,
          failures: state.failures,
          last_error: state.lastError,
          failing_since: state.failingSince,
          updated_at: new Date().toISOString(),
        };
        // INSERT ... SELECT FROM sections: a section deleted while its run finished inserts
        // nothing, where VALUES would fail on the foreign key.
        await db
          .insertInto('section_schedules')
          .columns([
            'section_id',
            'schedule',
            'next_run_at',
            'last_run_at',
            'failures',
            'last_error',
            'failing_since',
            'updated_at',
          ])
          .expression((eb) =>
            eb
              .selectFrom('sections')
              .select((s) => [
                s.ref('sections.id').as('section_id'),
                s.val(values.schedule).as('schedule'),
                s.val(values.next_run_at).as('next_run_at'),
                s.val(values.last_run_at).as('last_run_at'),
                s.val(values.failures).as('failures'),
                s.val(values.last_error).as('last_error'),
                s.val(values.failing_since).as('failing_since'),
                s.val(values.updated_at).as('updated_at'),
              ])
              .where('sections.id', '=', state.sectionId),
          )
          .onConflict((oc) => oc.column('section_id').doUpdateSet(values))
          .execute();
      });
    },
  };
}
