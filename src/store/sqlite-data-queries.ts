/**
 * DataQueries on the SQLite store's Kysely instance. Every query reads a rollup table through the
 * front of its primary key (see migration-server.ts), except an action series for one enduser.
 */
import { sql } from './kysely.js';
import type { Kysely, RawBuilder, Selectable } from 'kysely';
import type {
  ActionSeriesQuery,
  ActionSummary,
  CompanyPage,
  DimensionDataPoint,
  DimensionDataQuery,
  EnduserPage,
  MetricSeriesQuery,
  MetricSummary,
  Origin,
  PageQuery,
  Series,
} from '../core/api.js';
import { MODELS, type Model } from '../core/types.js';
import type { DataQueries, RunTotals } from './data-queries.js';
import type { Database, EndusersTable } from './schema.js';
import { guard } from './sqlite-helpers.js';

/** Opens the data queries on the Kysely instance of an open SQLite store (see open-store.ts). */
export function openSqliteDataQueries(db: Kysely<Database>): DataQueries {
  return new SqliteDataQueries(db);
}

/** `%text%` for LIKE, with LIKE's own wildcards in the text escaped (ESCAPE '\'). */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function and(conditions: RawBuilder<unknown>[]): RawBuilder<unknown> {
  return conditions.length === 0 ? sql`1 = 1` : sql.join(conditions, sql` AND `);
}

/** An origin from a section row joined to its integration and, for a pseudo-section, its token. */
function originOf(row: {
  section: string | null;
  integration: string | null;
  token: string | null;
}): Origin {
  if (row.token !== null) return { kind: 'pushed', name: row.token };
  return {
    kind: 'pulled',
    name: row.section ?? '(deleted)',
    ...(row.integration !== null ? { integration: row.integration } : {}),
  };
}

const ORIGIN_ORDER = (a: Origin, b: Origin) =>
  a.kind !== b.kind
    ? a.kind === 'pulled'
      ? -1
      : 1
    : a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : 0;

class SqliteDataQueries implements DataQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Endusers per action as last counted, and the sections' fold marks they were counted at. */
  #endusersPerAction: { marks: string; counts: Map<string, number> } | undefined;

  /**
   * Endusers per action: distinct idents over enduser_actions, a scan of every pair (about 200 ms
   * at 300,000 endusers and 1.2 million pairs, on every view of the Actions page). The pairs
   * change only when a section folds (its folded_id moves) or is deleted, so the count is kept
   * until the sections' fold marks differ. The marks are read first: a fold between the two reads
   * leaves newer counts under older marks, counted again at the next view, never the reverse.
   */
  async #actionEndusers(): Promise<Map<string, number>> {
    const {
      rows: [mark],
    } = await sql<{ marks: string | null }>`SELECT group_concat(
        id || ':' || created_at || ':' || folded_id, ',') AS marks FROM sections`.execute(this.db);
    const marks = mark?.marks ?? '';
    if (this.#endusersPerAction?.marks === marks) return this.#endusersPerAction.counts;
    const { rows } = await sql<{ action: string; endusers: number }>`SELECT action,
        count(DISTINCT ident) AS endusers FROM enduser_actions GROUP BY action`.execute(this.db);
    const counts = new Map(rows.map((r) => [r.action, Number(r.endusers)]));
    this.#endusersPerAction = { marks, counts };
    return counts;
  }

  /** Every section's origin by id (sections are few: one query instead of a join per rollup row). */
  async #origins(): Promise<Map<number, Origin>> {
    const { rows } = await sql<{
      id: number;
      section: string;
      integration: string;
      token: string | null;
    }>`SELECT s.id, s.name AS section, i.name AS integration, t.name AS token
       FROM sections s JOIN integrations i ON i.id = s.integration_id
       LEFT JOIN api_tokens t ON t.id = s.token_id`.execute(this.db);
    return new Map(rows.map((r) => [r.id, originOf(r)]));
  }

  /** The origins of a `group_concat` of section ids. */
  #originList(ids: string | null, origins: Map<number, Origin>): Origin[] {
    if (ids === null) return [];
    const list = ids
      .split(',')
      .map((id) => origins.get(Number(id)))
      .filter((o): o is Origin => o !== undefined);
    return list.sort(ORIGIN_ORDER);
  }

  async metrics(): Promise<MetricSummary[]> {
    return guard('metrics', async () => {
      const { rows } = await sql<{
        model: Model;
        dimension_id: string;
        points: number;
        objects: number;
        first_date: string;
        last_date: string;
        sections: string | null;
      }>`SELECT model, dimension_id, sum(count) AS points, count(DISTINCT external_id) AS objects,
           min(first_date) AS first_date, max(last_date) AS last_date,
           group_concat(DISTINCT section_id) AS sections
         FROM metric_daily GROUP BY model, dimension_id ORDER BY dimension_id, model`.execute(
        this.db,
      );
      const origins = await this.#origins();
      return rows.map((r) => ({
        dimensionId: r.dimension_id,
        model: r.model,
        points: Number(r.points),
        objects: Number(r.objects),
        firstDate: r.first_date,
        lastDate: r.last_date,
        origins: this.#originList(r.sections, origins),
      }));
    });
  }

  async metricSeries(dimensionId: string, q: MetricSeriesQuery): Promise<Series['points']> {
    return guard('metricSeries', async () => {
      // `model IN (...)` lets SQLite seek the primary key (model, dimension_id, day, ...) when no
      // model is given, instead of scanning the table.
      const models = q.model !== undefined ? [q.model] : [...MODELS];
      const where = [
        sql`model IN (${sql.join(models)})`,
        sql`dimension_id = ${dimensionId}`,
        ...(q.externalId !== undefined ? [sql`external_id = ${q.externalId}`] : []),
        ...(q.from !== undefined ? [sql`day >= ${q.from}`] : []),
        ...(q.to !== undefined ? [sql`day <= ${q.to}`] : []),
      ];
      const query =
        q.agg === 'sum'
          ? sql<{ day: string; value: number }>`SELECT day, sum(value_sum) AS value
              FROM metric_daily WHERE ${and(where)} GROUP BY day ORDER BY day`
          : // Per object and day the last value; when several sections land the same object,
            // SQLite's bare column takes last_value from the row holding max(last_date).
            sql<{ day: string; value: number }>`SELECT day, sum(v) AS value FROM (
                SELECT day, model, external_id, last_value AS v, max(last_date) AS at
                FROM metric_daily WHERE ${and(where)} GROUP BY day, model, external_id
              ) GROUP BY day ORDER BY day`;
      const { rows } = await query.execute(this.db);
      return rows.map((r) => ({ day: r.day, value: Number(r.value) }));
    });
  }

  async actions(): Promise<ActionSummary[]> {
    return guard('actions', async () => {
      const { rows } = await sql<{
        action: string;
        count: number;
        weighted: number;
        first_date: string;
        last_date: string;
        sections: string | null;
      }>`SELECT action, sum(count) AS count, sum(weight_sum) AS weighted,
           min(first_date) AS first_date, max(last_date) AS last_date,
           group_concat(DISTINCT section_id) AS sections
         FROM activity_daily GROUP BY action
         ORDER BY count DESC, action`.execute(this.db);
      const endusers = await this.#actionEndusers();
      const origins = await this.#origins();
      return rows.map((r) => ({
        action: r.action === '' ? null : r.action,
        count: Number(r.count),
        weightedCount: Number(r.weighted),
        endusers: endusers.get(r.action) ?? 0,
        firstDate: r.first_date,
        lastDate: r.last_date,
        origins: this.#originList(r.sections, origins),
      }));
    });
  }

  async actionSeries(action: string | null, q: ActionSeriesQuery): Promise<Series['points']> {
    return guard('actionSeries', async () => {
      const days = [
        ...(q.from !== undefined ? [sql`day >= ${q.from}`] : []),
        ...(q.to !== undefined ? [sql`day <= ${q.to}`] : []),
      ];
      if (q.externalId === undefined) {
        const { rows } = await sql<{ day: string; value: number }>`
          SELECT day, sum(weight_sum) AS value FROM activity_daily
          WHERE ${and([sql`action = ${action ?? ''}`, ...days])}
          GROUP BY day ORDER BY day`.execute(this.db);
        return rows.map((r) => ({ day: r.day, value: Number(r.value) }));
      }
      const { rows } = await sql<{ day: string; value: number }>`
        SELECT day, sum(weight) AS value FROM (
          SELECT substr(date, 1, 10) AS day, weight FROM activities
          WHERE ${action === null ? sql`action IS NULL` : sql`action = ${action}`}
            AND (external_id = ${q.externalId} OR (external_id IS NULL AND email = ${q.externalId}))
        ) WHERE ${and(days)} GROUP BY day ORDER BY day`.execute(this.db);
      return rows.map((r) => ({ day: r.day, value: Number(r.value) }));
    });
  }

  async endusers(q: PageQuery): Promise<EnduserPage> {
    return guard('endusers', async () => {
      const where =
        q.search !== undefined && q.search !== ''
          ? sql`(email LIKE ${likePattern(q.search)} ESCAPE '\\' OR external_id LIKE ${likePattern(q.search)} ESCAPE '\\' OR name LIKE ${likePattern(q.search)} ESCAPE '\\')`
          : sql`1 = 1`;
      const total = await sql<{
        n: number;
      }>`SELECT count(*) AS n FROM endusers WHERE ${where}`.execute(this.db);
      const { rows } = await sql<
        Omit<Selectable<EndusersTable>, 'id' | 'ident' | 'metric_points'>
      >`SELECT external_id, email, name, company_external_id, first_seen, last_seen,
           activity_count, activity_weight
         FROM endusers WHERE ${where}
         ORDER BY activity_count DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db);
      return {
        total: Number(total.rows[0]?.n ?? 0),
        items: rows.map((r) => ({
          externalId: r.external_id,
          email: r.email,
          name: r.name,
          companyExternalId: r.company_external_id,
          firstSeen: r.first_seen,
          lastSeen: r.last_seen,
          activities: Number(r.activity_count),
          weightedActivities: Number(r.activity_weight),
        })),
      };
    });
  }

  async companies(q: PageQuery): Promise<CompanyPage> {
    return guard('companies', async () => {
      const where =
        q.search !== undefined && q.search !== ''
          ? sql`external_id LIKE ${likePattern(q.search)} ESCAPE '\\'`
          : sql`1 = 1`;
      const total = await sql<{
        n: number;
      }>`SELECT count(*) AS n FROM companies WHERE ${where}`.execute(this.db);
      const { rows } = await sql<{
        external_id: string;
        first_seen: string;
        last_seen: string;
        activity_count: number;
        activity_weight: number;
        metric_points: number;
      }>`SELECT external_id, first_seen, last_seen, activity_count, activity_weight, metric_points
         FROM companies WHERE ${where}
         ORDER BY activity_count DESC, metric_points DESC, id
         LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db);
      return {
        total: Number(total.rows[0]?.n ?? 0),
        items: rows.map((r) => ({
          externalId: r.external_id,
          firstSeen: r.first_seen,
          lastSeen: r.last_seen,
          activities: Number(r.activity_count),
          weightedActivities: Number(r.activity_weight),
          metricPoints: Number(r.metric_points),
        })),
      };
    });
  }

  async runTotals(): Promise<RunTotals[]> {
    return guard('runTotals', async () => {
      const rows = await this.db
        .selectFrom('runs')
        .select((eb) => [
          'section_id',
          'status',
          eb.fn.countAll<number>().as('runs'),
          eb.fn.sum<number>('rows_read').as('rows_read'),
          eb.fn.sum<number>('landed').as('landed'),
          eb.fn.sum<number>('rejected').as('rejected'),
          eb.fn.max('finished_at').as('last_finished_at'),
        ])
        .groupBy(['section_id', 'status'])
        .execute();
      return rows.map((r) => ({
        sectionId: r.section_id,
        status: r.status,
        runs: Number(r.runs),
        rowsRead: Number(r.rows_read),
        landed: Number(r.landed),
        rejected: Number(r.rejected),
        lastFinishedAt: r.last_finished_at,
      }));
    });
  }

  async dimensionData(q: DimensionDataQuery): Promise<DimensionDataPoint[]> {
    return guard('dimensionData', async () => {
      const dayMs = 86_400_000;
      const where = [
        ...(q.cId !== undefined ? [sql`p.model = 'Company' AND p.external_id = ${q.cId}`] : []),
        ...(q.externalId !== undefined ? [sql`p.external_id = ${q.externalId}`] : []),
        ...(q.dimid !== undefined ? [sql`p.dimension_id = ${q.dimid}`] : []),
        // Dates are UTC ISO-8601 text: they compare as text.
        ...(q.from !== undefined ? [sql`p.date >= ${new Date(q.from * dayMs).toISOString()}`] : []),
        ...(q.to !== undefined
          ? [sql`p.date < ${new Date((q.to + 1) * dayMs).toISOString()}`]
          : []),
      ];
      const { rows } = await sql<{
        dimension_id: string;
        value: number;
        model: Model;
        external_id: string;
        date: string;
        section: string | null;
        integration: string | null;
        token: string | null;
      }>`SELECT p.dimension_id, p.value, p.model, p.external_id, p.date, s.name AS section,
           i.name AS integration, t.name AS token
         FROM metric_points p
         LEFT JOIN sections s ON s.id = p.section_id
         LEFT JOIN integrations i ON i.id = s.integration_id
         LEFT JOIN api_tokens t ON t.id = s.token_id
         WHERE ${and(where)}
         ORDER BY p.date, p.id LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db);
      return rows.map((r) => ({
        dimensionId: r.dimension_id,
        value: Number(r.value),
        model: r.model,
        externalId: r.external_id,
        date: r.date,
        origin: originOf(r),
      }));
    });
  }
}
