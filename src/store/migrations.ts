/**
 * The store's schema, as named migrations in code (no migration folder to ship or find at run
 * time). Written with Kysely's schema builder and only types every store dialect has (text,
 * integer, bigint, double precision), so SQLite and PostgreSQL run the same migrations; the one
 * dialect difference, how an id column auto-increments, lives in {@link idColumn}.
 *
 * Never edit a migration that has shipped: add a new one (names sort in run order).
 */
import { Migrator, sql } from './kysely.js';
import type { ColumnDefinitionBuilder, Kysely, Migration, MigrationProvider } from 'kysely';
import { SluiceError } from '../core/errors.js';
import { serverMigration } from './migration-server.js';

/** The SQL dialects the store runs on. */
export type StoreDialect = 'sqlite' | 'postgres';

function idColumn(dialect: StoreDialect) {
  return (col: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
    dialect === 'sqlite'
      ? // AUTOINCREMENT: ids of deleted rows (pruned sections, runs) are never handed out again.
        col.primaryKey().autoIncrement()
      : col.primaryKey().generatedByDefaultAsIdentity();
}

function migrations(dialect: StoreDialect): Record<string, Migration> {
  const id = idColumn(dialect);
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('integrations')
          .addColumn('id', 'integer', id)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('user_name', 'text', (c) => c.notNull())
          .addColumn('database_name', 'text', (c) => c.notNull())
          .addColumn('password_env', 'text')
          .addColumn('password_enc', 'text')
          .addColumn('ssl_mode', 'text')
          .addColumn('ssl_ca', 'text')
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sections')
          .addColumn('id', 'integer', id)
          .addColumn('integration_id', 'integer', (c) =>
            c.notNull().references('integrations.id').onDelete('cascade'),
          )
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('data_type', 'text', (c) => c.notNull())
          .addColumn('direction', 'text', (c) => c.notNull())
          .addColumn('table_name', 'text', (c) => c.notNull())
          .addColumn('key_column', 'text', (c) => c.notNull())
          .addColumn('batch_size', 'integer', (c) => c.notNull())
          .addColumn('schedule', 'text', (c) => c.notNull())
          .addColumn('model', 'text')
          .addColumn('mapping', 'text', (c) => c.notNull())
          .addColumn('info', 'text', (c) => c.notNull())
          .addColumn('lookback', 'text')
          .addColumn('cursor', 'text')
          .addColumn('landed_total', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('rejected_total', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('lock_owner', 'text')
          .addColumn('lock_host', 'text')
          .addColumn('lock_pid', 'integer')
          .addColumn('lock_expires_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('sections_integration_name_uq', ['integration_id', 'name'])
          .execute();

        await db.schema
          .createTable('runs')
          .addColumn('id', 'integer', id)
          .addColumn('section_id', 'integer', (c) =>
            c.notNull().references('sections.id').onDelete('cascade'),
          )
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('rows_read', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('landed', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('rejected', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('key_from', 'text')
          .addColumn('key_to', 'text')
          .addColumn('cursor', 'text')
          .addColumn('error', 'text')
          .addColumn('error_code', 'text')
          .execute();
        await db.schema
          .createIndex('runs_section_idx')
          .on('runs')
          .columns(['section_id', 'id'])
          .execute();

        await db.schema
          .createTable('rejects')
          .addColumn('id', 'integer', id)
          .addColumn('section_id', 'integer', (c) =>
            c.notNull().references('sections.id').onDelete('cascade'),
          )
          // Not a foreign key: runs and rejects both go with their section (cascade), and the
          // check would cost a lookup per reject on the hot path.
          .addColumn('run_id', 'integer', (c) => c.notNull())
          .addColumn('row_id', 'text', (c) => c.notNull())
          .addColumn('source_key', 'text', (c) => c.notNull())
          .addColumn('field', 'text', (c) => c.notNull())
          .addColumn('source_column', 'text')
          .addColumn('code', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('input', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('rejects_section_row_uq', ['section_id', 'row_id'])
          .execute();
        await db.schema.createIndex('rejects_run_idx').on('rejects').column('run_id').execute();

        // section_id is nullable: data pushed through the ingest API has no section.
        await db.schema
          .createTable('activities')
          .addColumn('id', 'integer', id)
          .addColumn('section_id', 'integer', (c) =>
            c.references('sections.id').onDelete('cascade'),
          )
          .addColumn('row_id', 'text', (c) => c.notNull())
          .addColumn('email', 'text')
          .addColumn('external_id', 'text')
          .addColumn('name', 'text')
          .addColumn('company_external_id', 'text')
          .addColumn('action', 'text')
          .addColumn('weight', 'double precision', (c) => c.notNull())
          .addColumn('date', 'text', (c) => c.notNull())
          .addColumn('info', 'text')
          .addColumn('landed_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('activities_section_row_uq', ['section_id', 'row_id'])
          .execute();
        // No secondary indexes on the landed data: each one costs a B-tree insert per row, and
        // measured with better-sqlite3 three of them cut landing from ~260k to ~55k rows/s.
        // Lookups by enduser go through `endusers`; per-day views get rollup tables.

        await db.schema
          .createTable('metric_points')
          .addColumn('id', 'integer', id)
          .addColumn('section_id', 'integer', (c) =>
            c.references('sections.id').onDelete('cascade'),
          )
          .addColumn('row_id', 'text', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text', (c) => c.notNull())
          .addColumn('dimension_id', 'text', (c) => c.notNull())
          .addColumn('value', 'double precision', (c) => c.notNull())
          .addColumn('date', 'text', (c) => c.notNull())
          .addColumn('landed_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('metric_points_section_row_uq', ['section_id', 'row_id'])
          .execute();
        await db.schema
          .createTable('endusers')
          .addColumn('id', 'integer', id)
          .addColumn('ident', 'text', (c) => c.notNull().unique())
          .addColumn('external_id', 'text')
          .addColumn('email', 'text')
          .addColumn('name', 'text')
          .addColumn('company_external_id', 'text')
          .addColumn('first_seen', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('companies')
          .addColumn('id', 'integer', id)
          .addColumn('external_id', 'text', (c) => c.notNull().unique())
          .addColumn('first_seen', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_server': serverMigration(dialect, id),
    '0003_scheduler': {
      async up(db: Kysely<unknown>): Promise<void> {
        // One ALTER per column: SQLite adds one column per statement.
        await db.schema.alterTable('integrations').addColumn('alert_webhook', 'text').execute();
        await db.schema.alterTable('sections').addColumn('alert_webhook', 'text').execute();
        await db.schema.alterTable('sections').addColumn('reject_threshold', 'integer').execute();
        await db.schema
          .createTable('section_schedules')
          .addColumn('section_id', 'integer', (c) =>
            c.primaryKey().references('sections.id').onDelete('cascade'),
          )
          .addColumn('schedule', 'text', (c) => c.notNull())
          .addColumn('next_run_at', 'text')
          .addColumn('last_run_at', 'text')
          .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_error', 'text')
          .addColumn('failing_since', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0004_runs_by_status': {
      async up(db: Kysely<unknown>): Promise<void> {
        // startRun looks for a section's runs still marked running on every tick; without this
        // it walks every run the section ever had (288 a day at every 5m).
        await db.schema
          .createIndex('runs_section_status_idx')
          .on('runs')
          .columns(['section_id', 'status'])
          .execute();
      },
    },
    '0005_fold_watermarks': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Endusers, companies and rollups are folded from landed rows in bulk, not per batch:
        // rows with an id up to folded_id are counted there, those up to landed_id have landed.
        await db.schema
          .alterTable('sections')
          .addColumn('landed_id', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable('sections')
          .addColumn('folded_id', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        // Everything landed so far was folded batch by batch.
        await sql`UPDATE sections SET landed_id = coalesce((SELECT max(id) FROM activities
            WHERE activities.section_id = sections.id), (SELECT max(id) FROM metric_points
            WHERE metric_points.section_id = sections.id), 0)`.execute(db);
        await sql`UPDATE sections SET folded_id = landed_id`.execute(db);
      },
    },
    '0006_ingest': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Tenant tokens of the Planhat-compatible ingest API: only a SHA-256 of the token is kept,
        // with its first characters to tell tokens apart in a list. Revoked, never deleted: the
        // data a token pushed keeps its origin.
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'integer', id)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();
        // Each token lands through two pseudo-sections (activities, metrics) of the hidden
        // integration INGEST_INTEGRATION: pushed rows, rejects and rollups reuse the section
        // machinery (row-id dedupe, cascade, per-section rollups) and are labelled by the token.
        await db.schema
          .alterTable('sections')
          .addColumn('token_id', 'integer', (c) => c.references('api_tokens.id'))
          .execute();
      },
    },
    '0007_sink': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('sections').addColumn('sink', 'text').execute();
        // Batches bound for a section's Planhat sink commit here with their cursor, and leave
        // only once delivered: at-least-once, in id order per section.
        await db.schema
          .createTable('outbox')
          .addColumn('id', 'integer', id)
          .addColumn('section_id', 'integer', (c) =>
            c.notNull().references('sections.id').onDelete('cascade'),
          )
          .addColumn('run_id', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('delivered_at', 'text')
          .addColumn('last_error', 'text')
          .execute();
        await db.schema
          .createIndex('outbox_pending_idx')
          .on('outbox')
          .columns(['section_id', 'delivered_at', 'id'])
          .execute();
      },
    },
    '0008_enduser_email': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Folds look endusers up by email: one person is one enduser, whether a row names them
        // by external id, by email, or both.
        await db.schema.createIndex('endusers_email_idx').on('endusers').column('email').execute();
        // Endusers counted by email alone before their external id showed up with that email
        // join the enduser known by that external id (the first one, when several share it).
        await sql`CREATE TEMPORARY TABLE enduser_merge AS
          SELECT e.ident AS from_ident, min(x.id) AS into_id
          FROM endusers e JOIN endusers x ON x.email = e.email AND x.ident LIKE 'x:%'
          WHERE e.ident LIKE 'e:%'
          GROUP BY e.ident`.execute(db);
        // Two-argument min/max are SQLite's; PostgreSQL calls them least/greatest.
        const least = sql.raw(dialect === 'sqlite' ? 'min' : 'least');
        const greatest = sql.raw(dialect === 'sqlite' ? 'max' : 'greatest');
        await sql`UPDATE endusers SET
            activity_count = endusers.activity_count + m.n,
            activity_weight = endusers.activity_weight + m.w,
            metric_points = endusers.metric_points + m.p,
            first_seen = ${least}(endusers.first_seen, m.f),
            last_seen = ${greatest}(endusers.last_seen, m.l),
            name = coalesce(endusers.name, m.merged_name),
            company_external_id = coalesce(endusers.company_external_id, m.company)
          FROM (SELECT g.into_id, sum(e.activity_count) AS n, sum(e.activity_weight) AS w,
                  sum(e.metric_points) AS p, min(e.first_seen) AS f, max(e.last_seen) AS l,
                  max(e.name) AS merged_name, max(e.company_external_id) AS company
                FROM enduser_merge g JOIN endusers e ON e.ident = g.from_ident
                GROUP BY g.into_id) AS m
          WHERE endusers.id = m.into_id`.execute(db);
        await sql`INSERT INTO enduser_actions (action, ident, section_id)
          SELECT a.action, x.ident, a.section_id
          FROM enduser_merge g JOIN endusers x ON x.id = g.into_id
            JOIN enduser_actions a ON a.ident = g.from_ident
          ON CONFLICT (action, ident, section_id) DO NOTHING`.execute(db);
        await sql`DELETE FROM enduser_actions
          WHERE ident IN (SELECT from_ident FROM enduser_merge)`.execute(db);
        await sql`DELETE FROM endusers WHERE ident IN (SELECT from_ident FROM enduser_merge)`.execute(
          db,
        );
        await sql`DROP TABLE enduser_merge`.execute(db);
      },
    },
    '0009_metric_daily_per_batch': {
      async up(db: Kysely<unknown>): Promise<void> {
        // metric_daily now takes each batch's points in the batch's own transaction, no longer
        // at the fold: points landed but not folded yet (above their section's folded_id) are
        // added here, or no later fold would count them.
        const least = sql.raw(dialect === 'sqlite' ? 'min' : 'least');
        const greatest = sql.raw(dialect === 'sqlite' ? 'max' : 'greatest');
        await sql`INSERT INTO metric_daily (model, dimension_id, day, external_id, section_id,
            value_sum, count, first_date, last_date, last_value)
          SELECT model, dimension_id, day, external_id, section_id, sum(value), count(*),
            min(date), max(date), max(CASE WHEN rn = 1 THEN value END)
          FROM (
            SELECT p.model, p.dimension_id, substr(p.date, 1, 10) AS day, p.external_id,
              p.section_id, p.value, p.date,
              row_number() OVER (PARTITION BY p.model, p.dimension_id, substr(p.date, 1, 10),
                p.external_id, p.section_id ORDER BY p.date DESC, p.id DESC) AS rn
            FROM metric_points p JOIN sections s ON s.id = p.section_id
            WHERE p.id > s.folded_id
          ) AS ranked
          GROUP BY model, dimension_id, day, external_id, section_id
          ON CONFLICT (model, dimension_id, day, external_id, section_id) DO UPDATE SET
            value_sum = metric_daily.value_sum + excluded.value_sum,
            count = metric_daily.count + excluded.count,
            first_date = ${least}(metric_daily.first_date, excluded.first_date),
            last_value = CASE WHEN excluded.last_date >= metric_daily.last_date
              THEN excluded.last_value ELSE metric_daily.last_value END,
            last_date = ${greatest}(metric_daily.last_date, excluded.last_date)`.execute(db);
      },
    },
    '0010_outbox_delivered_leave': {
      async up(db: Kysely<unknown>): Promise<void> {
        // A delivered entry was kept with its body, about 400 bytes a row sent, for ever: the
        // outbox now holds only what is still to deliver (delivered_at stays, always NULL).
        await sql`DELETE FROM outbox WHERE delivered_at IS NOT NULL`.execute(db);
      },
    },
    '0011_outbox_chunks': {
      async up(db: Kysely<unknown>): Promise<void> {
        // A body as rows of 64 KiB rather than one value of up to 32 MB: SQLite allocated each
        // whole to write it and to read it back, blocks malloc then kept (see planhat-sink.ts).
        await db.schema
          .alterTable('outbox')
          .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable('outbox_chunks')
          .addColumn('entry_id', 'integer', (c) =>
            c.notNull().references('outbox.id').onDelete('cascade'),
          )
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('bytes', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
          .addPrimaryKeyConstraint('outbox_chunks_pk', ['entry_id', 'seq'])
          .execute();
      },
    },
  };
}

/** The store's migrations as a Kysely MigrationProvider. */
export function createMigrationProvider(dialect: StoreDialect = 'sqlite'): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}

/**
 * Brings the store's schema up to date with Kysely's Migrator and returns the names of the
 * migrations it ran. Throws SluiceError('STORE_FAILED') naming the migration that failed.
 * On SQLite, migrations run without a transaction of their own: the caller wraps this call in
 * one (see sqlite-store.ts) so a failed or concurrent first open leaves no half-made schema.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: StoreDialect = 'sqlite',
): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: createMigrationProvider(dialect),
    // Kysely's default is localeCompare, which loads ICU's collation data: about 3 MiB of
    // resident memory in every process that opens a store, for names that are plain ASCII.
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const what = failed ? `migration ${failed}` : 'the migration setup';
    const message = error instanceof Error ? error.message : String(error);
    throw new SluiceError(
      'STORE_FAILED',
      `store ${what} failed: ${message}`,
      { migration: failed ?? null },
      { cause: error },
    );
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
