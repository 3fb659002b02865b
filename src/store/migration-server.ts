/**
 * Migration `0002_server` (registered in migrations.ts): what the HTTP server needs.
 *
 * - `users`, `sessions`, `audit_log`: accounts (scrypt hashes), login sessions (the cookie's token
 *   is kept only as a SHA-256 hash) and the audit trail of console queries and admin actions.
 * - Rollups of the landed data, maintained by `commitBatch` in the same transaction as the rows
 *   (the landed tables have no secondary index, by design): `activity_daily`, `metric_daily`,
 *   `enduser_actions`, and activity/metric counters on `endusers` and `companies`. Their primary
 *   keys lead with what the data module asks for (action, or model and dimension) and then the
 *   day, so rows landing in time order go to a few hot B-tree pages. Existing landed rows are
 *   folded into them once, here.
 *
 * Rollups cover data landed by sections only (every `commitBatch` has one); rows whose action is
 * NULL roll up under the action `''`.
 */
import { sql } from './kysely.js';
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely, Migration } from 'kysely';

type IdColumn = (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;

export function serverMigration(dialect: 'sqlite' | 'postgres', id: IdColumn): Migration {
  // A rollup row is found by its primary key only: SQLite stores it as the key itself.
  const withoutRowid = <T extends string, C extends string>(t: CreateTableBuilder<T, C>) =>
    dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t;
  const sectionRef = (c: ColumnDefinitionBuilder) =>
    c.notNull().references('sections.id').onDelete('cascade');

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', id)
        // Stored lower-case: an email names one user however it is typed.
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('last_login_at', 'text')
        .execute();

      await db.schema
        .createTable('sessions')
        // SHA-256 of the cookie's token: a copy of the store does not hand out live sessions.
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) =>
          c.notNull().references('users.id').onDelete('cascade'),
        )
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'integer', id)
        .addColumn('at', 'text', (c) => c.notNull())
        // No foreign key: the trail outlives a deleted user (the email stays).
        .addColumn('user_id', 'integer')
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('integration', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .execute();

      await withoutRowid(
        db.schema
          .createTable('activity_daily')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('section_id', 'integer', sectionRef)
          .addColumn('count', 'bigint', (c) => c.notNull())
          .addColumn('weight_sum', 'double precision', (c) => c.notNull())
          .addColumn('first_date', 'text', (c) => c.notNull())
          .addColumn('last_date', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('activity_daily_pk', ['action', 'day', 'section_id']),
      ).execute();

      await withoutRowid(
        db.schema
          .createTable('metric_daily')
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('dimension_id', 'text', (c) => c.notNull())
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text', (c) => c.notNull())
          .addColumn('section_id', 'integer', sectionRef)
          .addColumn('value_sum', 'double precision', (c) => c.notNull())
          .addColumn('count', 'bigint', (c) => c.notNull())
          .addColumn('first_date', 'text', (c) => c.notNull())
          .addColumn('last_date', 'text', (c) => c.notNull())
          // The value of the point with the latest date of the day (ties: the last landed).
          .addColumn('last_value', 'double precision', (c) => c.notNull())
          .addPrimaryKeyConstraint('metric_daily_pk', [
            'model',
            'dimension_id',
            'day',
            'external_id',
            'section_id',
          ]),
      ).execute();

      // Which endusers did which action (distinct endusers per action). Presence only, written
      // with INSERT OR IGNORE: a pair seen before costs a B-tree seek and dirties no page, where
      // per-pair counters rewrote most of the table on every batch (measured: -25% landing speed).
      await withoutRowid(
        db.schema
          .createTable('enduser_actions')
          .addColumn('action', 'text', (c) => c.notNull())
          // endusers.ident: `x:<externalId>` or `e:<email>`.
          .addColumn('ident', 'text', (c) => c.notNull())
          .addColumn('section_id', 'integer', sectionRef)
          .addPrimaryKeyConstraint('enduser_actions_pk', ['action', 'ident', 'section_id']),
      ).execute();

      for (const table of ['endusers', 'companies']) {
        // One ALTER per column: SQLite adds one column per statement.
        await db.schema
          .alterTable(table)
          .addColumn('activity_count', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable(table)
          .addColumn('activity_weight', 'double precision', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable(table)
          .addColumn('metric_points', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
      }

      await backfill(db);
    },
  };
}

/** Folds data landed before this migration into the rollups (plain SQL both dialects run). */
async function backfill(db: Kysely<unknown>): Promise<void> {
  const ident = sql`CASE WHEN external_id IS NOT NULL THEN 'x:' || external_id ELSE 'e:' || email END`;
  await sql`INSERT INTO activity_daily
      (action, day, section_id, count, weight_sum, first_date, last_date)
    SELECT coalesce(action, ''), substr(date, 1, 10), section_id, count(*), sum(weight), min(date),
      max(date)
    FROM activities WHERE section_id IS NOT NULL
    GROUP BY coalesce(action, ''), substr(date, 1, 10), section_id`.execute(db);
  await sql`INSERT INTO enduser_actions (action, ident, section_id)
    SELECT DISTINCT coalesce(action, ''), ${ident}, section_id
    FROM activities
    WHERE section_id IS NOT NULL AND (external_id IS NOT NULL OR email IS NOT NULL)`.execute(db);
  await sql`INSERT INTO metric_daily (model, dimension_id, day, external_id, section_id, value_sum,
      count, first_date, last_date, last_value)
    SELECT model, dimension_id, day, external_id, section_id, sum(value), count(*), min(date),
      max(date), max(CASE WHEN rn = 1 THEN value END)
    FROM (
      SELECT model, dimension_id, substr(date, 1, 10) AS day, external_id, section_id, value, date,
        row_number() OVER (PARTITION BY model, dimension_id, substr(date, 1, 10), external_id,
          section_id ORDER BY date DESC, id DESC) AS rn
      FROM metric_points WHERE section_id IS NOT NULL
    ) AS ranked
    GROUP BY model, dimension_id, day, external_id, section_id`.execute(db);
  await sql`UPDATE endusers SET activity_count = a.n, activity_weight = a.w
    FROM (SELECT ${ident} AS ident, count(*) AS n, sum(weight) AS w FROM activities
          WHERE external_id IS NOT NULL OR email IS NOT NULL GROUP BY ${ident}) AS a
    WHERE a.ident = endusers.ident`.execute(db);
  await sql`UPDATE endusers SET metric_points = m.n
    FROM (SELECT 'x:' || external_id AS ident, count(*) AS n FROM metric_points
          WHERE model = 'Enduser' GROUP BY external_id) AS m
    WHERE m.ident = endusers.ident`.execute(db);
  await sql`UPDATE companies SET activity_count = a.n, activity_weight = a.w
    FROM (SELECT company_external_id AS id, count(*) AS n, sum(weight) AS w FROM activities
          WHERE company_external_id IS NOT NULL GROUP BY company_external_id) AS a
    WHERE a.id = companies.external_id`.execute(db);
  await sql`UPDATE companies SET metric_points = m.n
    FROM (SELECT external_id AS id, count(*) AS n FROM metric_points
          WHERE model = 'Company' GROUP BY external_id) AS m
    WHERE m.id = companies.external_id`.execute(db);
}
