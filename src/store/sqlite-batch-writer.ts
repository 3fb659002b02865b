/**
 * The write side of `commitBatch`: one IMMEDIATE transaction per batch holding its records,
 * rejects, outbox entries, run and section counters, cursor, lease and, when due, the fold of the
 * section's pending aggregates. It owns its prepared statements on one better-sqlite3 connection
 * and knows nothing of aggregation, so it runs the same on the store's own connection (inline) and
 * in the writer thread (sqlite-writer-thread.ts), where SQLite's work overlaps the main thread's
 * reading, mapping and aggregating. Everything crossing to it is plain data (structured clone).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Selectable } from 'kysely';
import { release } from '../core/bytes.js';
import { SluiceError } from '../core/errors.js';
import type { ActivityRecord, MetricRecord, RejectRecord } from '../core/types.js';
import type { EndusersTable } from './schema.js';
import {
  ACTIVITIES,
  COMPANY,
  EMAIL,
  FIRST,
  LAST,
  NAME,
  NUMS,
  POINTS,
  PackedStrings,
  WEIGHT,
  type PackedTable,
} from './seen-table.js';
import type { CommitBatch } from './store.js';

/**
 * Records flattened field by field, `ACTIVITY_WIDTH` or `METRIC_WIDTH` values a record: a flat
 * array of strings and numbers costs far less to clone across threads than an object a row.
 */
export type FlatRecords = (string | number | null)[];

export const ACTIVITY_WIDTH = 9;
export const METRIC_WIDTH = 6;

/**
 * Records a multi-row INSERT takes: one statement per 32 rows binds the same values as 32
 * single-row ones with far fewer calls into SQLite (measured: about 1.3 times the rows per
 * second of a prepared single-row INSERT in a loop).
 */
export const CHUNK_ROWS = 32;

/**
 * The INSERT of `rows` records, their columns in FlatRecords order between section and time. The
 * section and the landing time are the same for every row: named, each is bound once per
 * statement rather than once per row (the rows of a statement went from 11 bound values each to
 * 9; inserts about 7% faster in a micro-benchmark).
 */
function insertInto(table: 'activities' | 'metric_points', rows: number): string {
  const columns =
    table === 'activities'
      ? 'section_id, row_id, email, external_id, name, company_external_id, action, weight, date, info, landed_at'
      : 'section_id, row_id, model, external_id, dimension_id, value, date, landed_at';
  const width = table === 'activities' ? ACTIVITY_WIDTH : METRIC_WIDTH;
  const tuple = `(@section, ${Array.from({ length: width }, () => '?').join(', ')}, @now)`;
  return `INSERT INTO ${table} (${columns}) VALUES ${tuples(width, rows, tuple)}
    ON CONFLICT (section_id, row_id) DO NOTHING`;
}

/** The fields the store keeps of each record, in the order of the INSERT's parameters. */
export function flattenRecords(
  dataType: 'activities' | 'metrics',
  records: ActivityRecord[] | MetricRecord[],
): FlatRecords {
  const out: FlatRecords = [];
  if (dataType === 'activities') {
    for (const r of records as ActivityRecord[]) {
      out.push(
        r.rowId,
        r.email ?? null,
        r.externalId ?? null,
        r.name ?? null,
        r.companyExternalId ?? null,
        r.action ?? null,
        r.weight,
        r.date,
        r.info ?? null,
      );
    }
  } else {
    for (const r of records as MetricRecord[]) {
      out.push(r.rowId, r.model, r.externalId, r.dimensionId, r.value, r.date);
    }
  }
  return out;
}

/** An enduser row as the fold reads it back to merge it. */
type StoredEnduser = Omit<Selectable<EndusersTable>, 'id' | 'ident'>;

export type ActivityDailyParams = [
  action: string,
  day: string,
  sectionId: number,
  count: number,
  weightSum: number,
  firstDate: string,
  lastDate: string,
];
export type EnduserActionParams = [action: string, ident: string, sectionId: number];
/**
 * A section's pending aggregates, and the highest landed row id they cover: `sections.folded_id`
 * becomes `through` in the same transaction. Without `through` (a fold riding in a batch, built
 * while earlier batches were still in flight), they cover every row landed through that batch:
 * the writer checks that none of those batches skipped a row, and refuses the fold otherwise.
 */
export interface FoldRows {
  through?: number;
  /** Keyed by ident; fields EMAIL, NAME, COMPANY (pending.ts); bits: the enduser's `actions`. */
  endusers: PackedTable;
  /** The actions of the endusers' bits, bit 0 first. */
  actions: string[];
  /** (enduser row, action) for the actions without a bit. */
  moreActions: [number, string][];
  /** Keyed by external id. */
  companies: PackedTable;
  /** In the order of activity_daily's key. */
  actionDays: ActivityDailyParams[];
}

/** A fold's tables: they travel to the writer thread and back (see TablePool). */
export function foldTables(fold: FoldRows): PackedTable[] {
  return [fold.endusers, fold.companies];
}

/**
 * One batch to commit: a CommitBatch (store.ts) without its records, which reach the writer
 * flattened, in parts, before it (see BatchWriterPort), and the fold due.
 */
export interface WriteRequest extends Omit<CommitBatch, 'records' | 'last'> {
  /**
   * The section's aggregates since its last fold, this batch's records counted in them: applied
   * after the records, and refused if this batch or one before it since the last fold skipped a
   * row (the counts are then too high; the store reads them back).
   */
  fold?: FoldRows;
  /**
   * The section's counts were just read back from the store: skips the writer saw before this
   * batch are in them, and do not make the next fold suspect.
   */
  countsFresh?: true;
  /** The landing time written into every row (ISO). */
  now: string;
}

export interface WriteResult {
  landed: number;
  rejected: number;
  /** The highest row id landed (0 when none): the aggregates of this batch cover up to it. */
  lastId: number;
  /** Indexes of records not landed because their row id landed before (a lookback, a reset). */
  skipped: number[];
  /** The fold's tables, done with: their buffers go back for the next (see TablePool). */
  tables?: PackedTable[];
}

/** The actions there are (activity_daily is small: a row per action and day). */
const ACTIONS = 'SELECT DISTINCT action FROM activity_daily';

/**
 * An enduser's pairs, copied to another ident and deleted when an email-only enduser joins one
 * known by external id. By their key, (action, ident): one seek per action there is (every
 * pair's action has its days in activity_daily), where `ident = ?` alone read the whole table
 * (37 ms a merge at 1.2 million pairs, 0.1 ms now).
 */
export const PAIRS_OF = {
  copy: `INSERT INTO enduser_actions (action, ident, section_id)
    SELECT action, ?, section_id FROM enduser_actions
    WHERE action IN (${ACTIONS}) AND ident = ?
    ON CONFLICT (action, ident, section_id) DO NOTHING`,
  delete: `DELETE FROM enduser_actions WHERE action IN (${ACTIONS}) AND ident = ?`,
};

/** `rows` parameter tuples of `width` values each (or `tuple` written out), for a multi-row VALUES. */
function tuples(width: number, rows: number, tuple?: string): string {
  const one = tuple ?? `(${Array.from({ length: width }, () => '?').join(', ')})`;
  return Array.from({ length: rows }, () => one).join(', ');
}

/**
 * The upserts folding aggregates, given their VALUES tuples (see ChunkedUpsert): they add counts
 * and widen date ranges, so they commute (rows of one statement too). An enduser's email is
 * never in the SET list: SQLite rewrites the entry of every index on a column the SET list
 * names, changed or not, and endusers_email_idx is in email order, not ident order, so each
 * rewrite was a page of it read and dirtied at random (a fold of 116,000 endusers seen before:
 * 1.2 s, 0.4 s without; see FILL_EMAIL).
 */
const UPSERT_ENDUSER = (
  values: string,
) => `INSERT INTO endusers (ident, external_id, email, name, company_external_id,
    first_seen, last_seen, activity_count, activity_weight, metric_points)
  VALUES ${values}
  ON CONFLICT (ident) DO UPDATE SET
    name = coalesce(endusers.name, excluded.name),
    company_external_id = coalesce(endusers.company_external_id, excluded.company_external_id),
    first_seen = min(endusers.first_seen, excluded.first_seen),
    last_seen = max(endusers.last_seen, excluded.last_seen),
    activity_count = endusers.activity_count + excluded.activity_count,
    activity_weight = endusers.activity_weight + excluded.activity_weight,
    metric_points = endusers.metric_points + excluded.metric_points`;
const UPSERT_COMPANY = (
  values: string,
) => `INSERT INTO companies (external_id, first_seen, last_seen, activity_count,
    activity_weight, metric_points)
  VALUES ${values}
  ON CONFLICT (external_id) DO UPDATE SET
    first_seen = min(companies.first_seen, excluded.first_seen),
    last_seen = max(companies.last_seen, excluded.last_seen),
    activity_count = companies.activity_count + excluded.activity_count,
    activity_weight = companies.activity_weight + excluded.activity_weight,
    metric_points = companies.metric_points + excluded.metric_points`;
const UPSERT_ACTION_DAY = (
  values: string,
) => `INSERT INTO activity_daily (action, day, section_id, count, weight_sum,
    first_date, last_date)
  VALUES ${values}
  ON CONFLICT (action, day, section_id) DO UPDATE SET
    count = activity_daily.count + excluded.count,
    weight_sum = activity_daily.weight_sum + excluded.weight_sum,
    first_date = min(activity_daily.first_date, excluded.first_date),
    last_date = max(activity_daily.last_date, excluded.last_date)`;
/**
 * The first email given to endusers stored without one, given (ident, email) tuples: the enduser
 * upsert leaves email alone (see UPSERT_ENDUSER), and a new enduser has it from its insert. A
 * seek by ident per tuple, which writes only where the email was null.
 */
const FILL_EMAIL = (values: string) => `UPDATE endusers SET email = v.column2
  FROM (VALUES ${values}) AS v
  WHERE endusers.ident = v.column1 AND endusers.email IS NULL`;
// A pair stored before is a seek that dirties nothing (see migration-server.ts).
const UPSERT_ENDUSER_ACTION = (
  values: string,
) => `INSERT INTO enduser_actions (action, ident, section_id)
  VALUES ${values}
  ON CONFLICT (action, ident, section_id) DO NOTHING`;
/**
 * The metric points landed with ids in (?, ?] (one batch's, in its transaction; `+section_id`
 * keeps SQLite on the rowid range rather than the section's unique index, which would scan every
 * point of the section) added into metric_daily, in its key's order. The last value of a day is
 * the value of the point with the latest date, of those the last landed: `date || id` as 20
 * digits orders by both (ISO dates end in `Z`, so none is a prefix of another), and its last 20
 * characters are that point's id. SET expressions all see the row as it was, so last_value
 * compares with the old last_date.
 */
export const ADD_METRIC_DAYS = `INSERT INTO metric_daily (model, dimension_id, day, external_id,
    section_id, value_sum, count, first_date, last_date, last_value)
  SELECT d.model, d.dimension_id, d.day, d.external_id, ?, d.value_sum, d.count, d.first_date,
    d.last_date, p.value
  FROM (
    SELECT model, dimension_id, substr(date, 1, 10) AS day, external_id, sum(value) AS value_sum,
      count(*) AS count, min(date) AS first_date, max(date) AS last_date,
      max(date || printf('%020d', id)) AS last_key
    FROM metric_points WHERE id > ? AND id <= ? AND +section_id = ?
    GROUP BY model, dimension_id, day, external_id
  ) AS d
  JOIN metric_points AS p ON p.id = CAST(substr(d.last_key, -20) AS INTEGER)
  WHERE true
  ON CONFLICT (model, dimension_id, day, external_id, section_id) DO UPDATE SET
    value_sum = metric_daily.value_sum + excluded.value_sum,
    count = metric_daily.count + excluded.count,
    first_date = min(metric_daily.first_date, excluded.first_date),
    last_value = CASE WHEN excluded.last_date >= metric_daily.last_date
      THEN excluded.last_value ELSE metric_daily.last_value END,
    last_date = max(metric_daily.last_date, excluded.last_date)`;

type Statement = BetterSqlite3.Statement<unknown[]>;

/**
 * An upsert (or an UPDATE ... FROM VALUES) run over many parameter tuples: CHUNK_ROWS to a
 * statement, the rest one by one. Tuples come as arrays (runAll) or value by value (value, end,
 * flush), which builds none.
 */
class ChunkedUpsert {
  readonly #one: Statement;
  readonly #many: Statement;
  readonly #params: unknown[];
  /** Values of the tuples given since the last statement ran. */
  #filled = 0;

  constructor(
    sqlite: BetterSqlite3.Database,
    sql: (values: string) => string,
    readonly width: number,
    tuple?: string,
  ) {
    this.#one = sqlite.prepare(sql(tuples(width, 1, tuple)));
    this.#many = sqlite.prepare(sql(tuples(width, CHUNK_ROWS, tuple)));
    this.#params = new Array<unknown>(CHUNK_ROWS * width);
  }

  /** One tuple (for the odd row outside a fold). */
  run(...row: unknown[]): void {
    this.#one.run(row);
  }

  /** The next value of the tuple being given (call inside a transaction; see end, flush). */
  value(v: unknown): void {
    this.#params[this.#filled++] = v;
  }

  /** After a tuple's `width` values: runs the statement once CHUNK_ROWS tuples are in. */
  end(): void {
    if (this.#filled === this.#params.length) {
      this.#many.run(this.#params);
      this.#filled = 0;
    }
  }

  /** Runs the tuples given and not run yet, one statement each. */
  flush(): void {
    const { width } = this;
    for (let i = 0; i < this.#filled; i += width) {
      this.#one.run(this.#params.slice(i, i + width));
    }
    this.#filled = 0;
  }

  /** Every tuple, in order (call inside a transaction). */
  runAll(rows: readonly (readonly unknown[])[]): void {
    const { width } = this;
    for (const row of rows) {
      for (let k = 0; k < width; k++) this.value(row[k]);
      this.end();
    }
    this.flush();
  }
}

/** An outbox body as a commit writes it: how many chunks, and the chunks in order. */
export interface OutboxBody {
  chunks: number;
  bytes: Iterable<Uint8Array>;
}

/** What a batch handed over before its commit (see BatchParts). */
export interface HeldBatch {
  /** Its records, part by part. */
  records(): Iterable<FlatRecords>;
  /** Its outbox bodies: the chunks handed over ahead, then those of `tail` (the commit's). */
  outboxBodies(tail: readonly (readonly Uint8Array[])[]): OutboxBody[];
}

/** enduser_actions' key order (within one section). */
function byActionIdent(a: EnduserActionParams, b: EnduserActionParams): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** A seen date back as the ISO-8601 string it was read from (dates are whole milliseconds). */
function isoOf(at: number): string {
  if (!Number.isFinite(at)) {
    throw new SluiceError('STORE_FAILED', 'a landed record carried a date that is not ISO-8601');
  }
  return new Date(at).toISOString();
}

/** Why a batch is refused: a batch of its run handed over before it failed. */
export function earlierBatchFailed(batch: { sectionId: number; runId: number }): SluiceError {
  const { sectionId, runId } = batch;
  return new SluiceError(
    'STORE_FAILED',
    `run ${runId}: an earlier batch of this run failed, so this one is not committed`,
    { sectionId, runId },
  );
}

export class SqliteBatchWriter {
  readonly #insertActivity: Statement;
  /** Inserts CHUNK_ROWS activities at once. */
  readonly #insertActivities: Statement;
  readonly #insertMetric: Statement;
  readonly #insertMetrics: Statement;
  /** The largest id of the table (null when empty). */
  readonly #maxId: Record<'activities' | 'metrics', BetterSqlite3.Statement<[], number | null>>;
  /** The row ids of the rows with ids in (from, to], in id order (which rows a chunk landed). */
  readonly #landedRowIds: Record<
    'activities' | 'metrics',
    BetterSqlite3.Statement<[number, number], string>
  >;
  /** The parameters of one chunk, reused (a chunk's values are bound before the next fills it). */
  readonly #chunkParams = {
    activities: new Array<unknown>(CHUNK_ROWS * ACTIVITY_WIDTH),
    metrics: new Array<unknown>(CHUNK_ROWS * METRIC_WIDTH),
  };
  readonly #rowParams = {
    activities: new Array<unknown>(ACTIVITY_WIDTH),
    metrics: new Array<unknown>(METRIC_WIDTH),
  };
  readonly #insertReject: Statement;
  readonly #upsertEnduser: ChunkedUpsert;
  readonly #fillEmail: ChunkedUpsert;
  /** Whether any enduser is known by email alone (an `e:` ident). */
  readonly #anyEmailOnly: BetterSqlite3.Statement<[], number>;
  readonly #upsertCompany: ChunkedUpsert;
  readonly #upsertActionDay: ChunkedUpsert;
  readonly #upsertEnduserAction: ChunkedUpsert;
  readonly #addMetricDays: Statement;
  readonly #setFolded: Statement;
  readonly #enduserByEmail: BetterSqlite3.Statement<[string], { ident: string }>;
  readonly #enduser: BetterSqlite3.Statement<[string], StoredEnduser>;
  readonly #deleteEnduser: Statement;
  readonly #copyPairs: Statement;
  readonly #deletePairs: Statement;
  readonly #runState: BetterSqlite3.Statement<[number], { section_id: number; status: string }>;
  readonly #addToRun: Statement;
  readonly #addToSection: Statement;
  readonly #addToSectionAndMove: Statement;
  readonly #insertOutbox: Statement;
  readonly #insertOutboxChunk: Statement;
  readonly #renewLease: Statement;
  readonly #commit: BetterSqlite3.Transaction<(req: WriteRequest, held: HeldBatch) => WriteResult>;
  /**
   * Runs with a failed batch. Batches of a run may be queued behind each other; once one fails,
   * committing a later one would move the cursor past the rows that did not land. (A run id is
   * never reused, and few runs fail: the set stays small.)
   */
  readonly #failedRuns = new Set<number>();
  /** Sections with a batch that skipped rows since their last fold (its counts are too high). */
  readonly #skippedSinceFold = new Set<number>();
  readonly #landedId: BetterSqlite3.Statement<[number], { landed_id: number }>;

  constructor(sqlite: BetterSqlite3.Database) {
    const prepare = (text: string) => sqlite.prepare<unknown[]>(text);
    this.#insertActivity = prepare(insertInto('activities', 1));
    this.#insertActivities = prepare(insertInto('activities', CHUNK_ROWS));
    this.#insertMetric = prepare(insertInto('metric_points', 1));
    this.#insertMetrics = prepare(insertInto('metric_points', CHUNK_ROWS));
    this.#maxId = {
      activities: sqlite.prepare<[], number | null>('SELECT max(id) FROM activities').pluck(),
      metrics: sqlite.prepare<[], number | null>('SELECT max(id) FROM metric_points').pluck(),
    };
    this.#landedRowIds = {
      activities: sqlite
        .prepare<[number, number], string>(
          'SELECT row_id FROM activities WHERE id > ? AND id <= ? ORDER BY id',
        )
        .pluck(),
      metrics: sqlite
        .prepare<[number, number], string>(
          'SELECT row_id FROM metric_points WHERE id > ? AND id <= ? ORDER BY id',
        )
        .pluck(),
    };
    this.#insertReject = prepare(
      `INSERT INTO rejects (section_id, run_id, row_id, source_key, field, source_column, code,
         reason, input, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (section_id, row_id) DO NOTHING`,
    );
    this.#upsertEnduser = new ChunkedUpsert(sqlite, UPSERT_ENDUSER, 10);
    this.#fillEmail = new ChunkedUpsert(sqlite, FILL_EMAIL, 2);
    // `e:` idents sort between 'e:' and 'e;' (the character after ':'): a seek in their index.
    this.#anyEmailOnly = sqlite
      .prepare<[], number>(
        "SELECT EXISTS (SELECT 1 FROM endusers WHERE ident >= 'e:' AND ident < 'e;')",
      )
      .pluck();
    this.#upsertCompany = new ChunkedUpsert(sqlite, UPSERT_COMPANY, 6);
    this.#upsertActionDay = new ChunkedUpsert(sqlite, UPSERT_ACTION_DAY, 7);
    this.#upsertEnduserAction = new ChunkedUpsert(sqlite, UPSERT_ENDUSER_ACTION, 3);
    this.#addMetricDays = prepare(ADD_METRIC_DAYS);
    this.#setFolded = prepare('UPDATE sections SET folded_id = max(folded_id, ?) WHERE id = ?');
    this.#landedId = sqlite.prepare('SELECT landed_id FROM sections WHERE id = ?');
    // The first enduser known by an external id with this email (endusers_email_idx).
    this.#enduserByEmail = sqlite.prepare(
      `SELECT ident FROM endusers WHERE email = ? AND ident LIKE 'x:%' ORDER BY id LIMIT 1`,
    );
    this.#enduser = sqlite.prepare(
      `SELECT external_id, email, name, company_external_id, first_seen, last_seen, activity_count,
         activity_weight, metric_points
       FROM endusers WHERE ident = ?`,
    );
    this.#deleteEnduser = prepare('DELETE FROM endusers WHERE ident = ?');
    this.#copyPairs = prepare(PAIRS_OF.copy);
    this.#deletePairs = prepare(PAIRS_OF.delete);
    this.#runState = sqlite.prepare('SELECT section_id, status FROM runs WHERE id = ?');
    this.#addToRun = prepare(
      `UPDATE runs SET rows_read = rows_read + ?, landed = landed + ?, rejected = rejected + ?,
         key_from = coalesce(key_from, ?), key_to = coalesce(?, key_to)
       WHERE id = ?`,
    );
    this.#addToSection = prepare(
      `UPDATE sections SET landed_total = landed_total + ?, rejected_total = rejected_total + ?,
         landed_id = max(landed_id, ?)
       WHERE id = ?`,
    );
    this.#addToSectionAndMove = prepare(
      `UPDATE sections SET landed_total = landed_total + ?, rejected_total = rejected_total + ?,
         landed_id = max(landed_id, ?), cursor = ?
       WHERE id = ?`,
    );
    this.#insertOutbox = prepare(
      `INSERT INTO outbox (section_id, run_id, kind, body, chunks, created_at)
       VALUES (?, ?, ?, '', ?, ?)`,
    );
    this.#insertOutboxChunk = prepare(
      'INSERT INTO outbox_chunks (entry_id, seq, bytes) VALUES (?, ?, ?)',
    );
    this.#renewLease = prepare(
      'UPDATE sections SET lock_expires_at = ? WHERE id = ? AND lock_owner = ?',
    );
    this.#commit = sqlite.transaction((req: WriteRequest, held: HeldBatch) =>
      this.#commitInTransaction(req, held),
    );
  }

  /**
   * Commits one batch, what was handed over of it in `held`, in its own IMMEDIATE transaction;
   * throws and commits nothing on failure.
   */
  commit(req: WriteRequest, held: HeldBatch): WriteResult {
    try {
      if (this.#failedRuns.has(req.runId)) throw earlierBatchFailed(req);
      try {
        return this.#commit.immediate(req, held);
      } catch (err) {
        this.#failedRuns.add(req.runId);
        throw err;
      }
    } finally {
      // Written or refused, the outbox bodies are done with (the store took them, see store.ts).
      if (req.outbox !== undefined) release(req.outbox.bodies.flat());
    }
  }

  /**
   * Inserts records given in parts (call inside a transaction), CHUNK_ROWS to a statement and the
   * rest of each part one by one; a row id landed before is skipped and its index (counted over
   * all the parts) reported, so its enduser and company are not counted twice.
   */
  insertRecords(
    sectionId: number,
    dataType: 'activities' | 'metrics',
    parts: Iterable<FlatRecords>,
    now: string,
  ): WriteResult {
    const activities = dataType === 'activities';
    const width = activities ? ACTIVITY_WIDTH : METRIC_WIDTH;
    const many = activities ? this.#insertActivities : this.#insertMetrics;
    const one = activities ? this.#insertActivity : this.#insertMetric;
    const params = this.#chunkParams[dataType];
    const row = this.#rowParams[dataType];
    const chunkValues = CHUNK_ROWS * width;
    const named = { section: sectionId, now };
    const result: WriteResult = { landed: 0, rejected: 0, lastId: 0, skipped: [] };
    const { skipped } = result;
    // The largest id so far: the rows a chunk lands all take larger ones (see #findSkipped).
    // Metric points add up into metric_daily from there on, so it is needed before any.
    let above = activities ? undefined : (this.#maxId.metrics.get() ?? 0);
    const before = above;
    let record = 0;
    for (const values of parts) {
      let i = 0;
      for (; i + chunkValues <= values.length; i += chunkValues, record += CHUNK_ROWS) {
        above ??= this.#maxId[dataType].get() ?? 0;
        for (let p = 0; p < chunkValues; p++) params[p] = values[i + p];
        const { changes, lastInsertRowid } = many.run(params, named);
        if (changes === 0) {
          for (let k = 0; k < CHUNK_ROWS; k++) skipped.push(record + k);
          continue;
        }
        const last = Number(lastInsertRowid);
        if (changes < CHUNK_ROWS) {
          this.#findSkipped(dataType, values, i, record, above, last, skipped);
        }
        result.landed += changes;
        result.lastId = above = last;
      }
      for (; i < values.length; i += width, record++) {
        for (let k = 0; k < width; k++) row[k] = values[i + k];
        const { changes, lastInsertRowid } = one.run(row, named);
        if (changes === 0) {
          skipped.push(record);
          continue;
        }
        result.landed++;
        result.lastId = above = Number(lastInsertRowid);
      }
    }
    // This transaction is the only writer: the points with ids above `before` are these.
    if (before !== undefined && result.landed > 0) {
      this.#addMetricDays.run(sectionId, before, result.lastId, sectionId);
    }
    return result;
  }

  /**
   * Which records of a chunk that landed only some of its rows were skipped. The rows a statement
   * inserts take increasing ids in VALUES order, all above the table's largest id before it (this
   * transaction is the only writer), but not consecutive ones: a row skipped by ON CONFLICT has
   * used up an id of its own by then. So the rows with ids in (above, last] are the chunk's, in
   * VALUES order, and a walk over them beside the chunk's records finds the records that did not
   * land (a row id repeated within the chunk too).
   */
  #findSkipped(
    dataType: 'activities' | 'metrics',
    values: FlatRecords,
    from: number,
    record: number,
    above: number,
    last: number,
    skipped: number[],
  ): void {
    const landedIds = this.#landedRowIds[dataType].all(above, last);
    const width = dataType === 'activities' ? ACTIVITY_WIDTH : METRIC_WIDTH;
    let next = 0;
    for (let k = 0; k < CHUNK_ROWS; k++) {
      if (next < landedIds.length && landedIds[next] === values[from + k * width]) next++;
      else skipped.push(record + k);
    }
  }

  /** Keeps rejects (call inside a transaction); a row rejected before is not kept twice. */
  insertRejects(sectionId: number, runId: number, rejects: RejectRecord[], now: string): number {
    let rejected = 0;
    for (const j of rejects) {
      rejected += this.#insertReject.run(
        sectionId,
        runId,
        j.rowId,
        j.key,
        j.field,
        j.column ?? null,
        j.code,
        j.reason,
        j.input ?? null,
        now,
      ).changes;
    }
    return rejected;
  }

  /**
   * Upserts folded aggregates and moves `folded_id` to what they cover (inside a transaction).
   * One person is one enduser: an enduser known by external id takes in what was counted for its
   * email alone (`e:<email>`, before the external id showed up), and records carrying only an
   * email count for the enduser whose external id came with that email. Rows go in the order of
   * each table's key, so the upserts walk its B-tree instead of seeking all over it.
   */
  applyFold(sectionId: number, fold: FoldRows): void {
    const endusers = fold.endusers;
    const strings = new PackedStrings(endusers);
    const { order, nums } = endusers;
    // Strings are read from the table as they are bound, not all at once: a fold of 150,000
    // endusers held 20 MiB of them in the writer's heap. Idents alone are kept once read (about
    // 4 MiB at 120,000 endusers): the pairs name each one per action, and reading them anew took
    // 0.2 s of a fold of sluice_big (pairs 0.7-0.9 s -> 0.46-0.68). `e:` idents sort before `x:`.
    const idents = new Array<string | undefined>(order.length);
    const ident = (k: number) => (idents[k] ??= strings.get(order[k] as number, 0) as string);
    let firstX = 0;
    while (firstX < order.length && !strings.startsWith(order[firstX] as number, 'x:')) firstX++;
    const upsert = this.#upsertEnduser;
    const enduser = (r: number, ident: string, externalId: string | null, email: string | null) => {
      const i = r * NUMS;
      upsert.value(ident);
      upsert.value(externalId);
      upsert.value(email);
      upsert.value(strings.get(r, NAME));
      upsert.value(strings.get(r, COMPANY));
      upsert.value(isoOf(nums[i + FIRST] as number));
      upsert.value(isoOf(nums[i + LAST] as number));
      upsert.value(nums[i + ACTIVITIES]);
      upsert.value(nums[i + WEIGHT]);
      upsert.value(nums[i + POINTS]);
      upsert.end();
    };
    const fill = this.#fillEmail;
    for (let k = firstX; k < order.length; k++) {
      const r = order[k] as number;
      const x = ident(k);
      const email = strings.get(r, EMAIL);
      enduser(r, x, strings.get(r, 0, 2), email);
      if (email !== null) {
        fill.value(x);
        fill.value(email);
        fill.end();
      }
    }
    upsert.flush();
    fill.flush();
    // Most stores know no enduser by email alone: then no lookup per enduser with an email.
    if (this.#anyEmailOnly.get() === 1) {
      for (let k = firstX; k < order.length; k++) {
        const email = strings.get(order[k] as number, EMAIL);
        if (email !== null) this.#mergeEmailEnduser(ident(k), `e:${email}`);
      }
    }
    /** By rank: the ident an `e:<email>` enduser is counted under instead (see above). */
    const merged = new Map<number, string>();
    for (let k = 0; k < firstX; k++) {
      const r = order[k] as number;
      const email = strings.get(r, 0, 2) as string;
      const known = this.#enduserByEmail.get(email);
      if (known !== undefined) merged.set(k, known.ident);
      enduser(r, known?.ident ?? ident(k), null, email);
    }
    upsert.flush();
    const companies = new PackedStrings(fold.companies);
    const c = fold.companies;
    const company = this.#upsertCompany;
    for (const r of c.order) {
      const i = r * NUMS;
      company.value(companies.get(r, 0));
      company.value(isoOf(c.nums[i + FIRST] as number));
      company.value(isoOf(c.nums[i + LAST] as number));
      company.value(c.nums[i + ACTIVITIES]);
      company.value(c.nums[i + WEIGHT]);
      company.value(c.nums[i + POINTS]);
      company.end();
    }
    company.flush();
    this.#upsertActionDay.runAll(fold.actionDays);
    this.#foldPairs(sectionId, fold, ident, merged);
    this.#setFolded.run(fold.through ?? this.#landedId.get(sectionId)?.landed_id ?? 0, sectionId);
  }

  /**
   * The (action, enduser) pairs of a fold, in enduser_actions' key order: per action, its
   * endusers by rank; the pairs of merged endusers move to the ident they joined, after.
   */
  #foldPairs(
    sectionId: number,
    fold: FoldRows,
    ident: (rank: number) => string,
    merged: Map<number, string>,
  ): void {
    const { order, bits } = fold.endusers;
    /** Per action: its bit, or the ranks of its endusers (actions without a bit). */
    const byAction = new Map<string, number | number[]>();
    fold.actions.forEach((action, b) => byAction.set(action, 1 << b));
    if (fold.moreActions.length > 0) {
      const rank = new Int32Array(order.length);
      order.forEach((r, k) => (rank[r] = k));
      for (const [r, action] of fold.moreActions) {
        let ranks = byAction.get(action);
        if (ranks === undefined) byAction.set(action, (ranks = []));
        if (typeof ranks === 'number') throw new Error(`action ${action} has a bit and a list`);
        ranks.push(rank[r] as number);
      }
    }
    const moved: EnduserActionParams[] = [];
    const pairs = this.#upsertEnduserAction;
    const pair = (action: string, k: number): void => {
      const into = merged.get(k);
      if (into !== undefined) {
        moved.push([action, into, sectionId]);
        return;
      }
      pairs.value(action);
      pairs.value(ident(k));
      pairs.value(sectionId);
      pairs.end();
    };
    for (const action of [...byAction.keys()].sort()) {
      const of = byAction.get(action) as number | number[];
      if (typeof of === 'number') {
        for (let k = 0; k < order.length; k++) {
          if (((bits[order[k] as number] as number) & of) !== 0) pair(action, k);
        }
      } else {
        for (const k of of.sort((a, b) => a - b)) pair(action, k);
      }
    }
    for (const [action, ident] of moved.sort(byActionIdent)) {
      pairs.value(action);
      pairs.value(ident);
      pairs.value(sectionId);
      pairs.end();
    }
    pairs.flush();
  }

  /** Moves an email-only enduser (and its actions) into the enduser known by external id. */
  #mergeEmailEnduser(into: string, from: string): void {
    const e = this.#enduser.get(from);
    if (e === undefined) return;
    this.#upsertEnduser.run(
      into,
      null,
      e.email,
      e.name,
      e.company_external_id,
      e.first_seen,
      e.last_seen,
      e.activity_count,
      e.activity_weight,
      e.metric_points,
    );
    this.#copyPairs.run(into, from);
    this.#deletePairs.run(from);
    this.#deleteEnduser.run(from);
  }

  /** Counts what landed into the section (and moves landed_id) for pushed data. */
  addToSection(sectionId: number, landed: number, rejected: number, lastId: number): void {
    this.#addToSection.run(landed, rejected, lastId, sectionId);
  }

  #commitInTransaction(req: WriteRequest, held: HeldBatch): WriteResult {
    const { sectionId, runId, now } = req;
    const run = this.#runState.get(runId);
    if (run === undefined || run.section_id !== sectionId) {
      throw new SluiceError('NOT_FOUND', `run ${runId} of section ${sectionId} does not exist`, {
        sectionId,
        runId,
      });
    }
    if (run.status !== 'running') {
      // Another process took the section over (its startRun closed this run): landing now
      // would race its cursor.
      throw new SluiceError(
        'SECTION_LOCKED',
        `run ${runId} is ${run.status}, no longer running: another process took over section ${sectionId}`,
        { sectionId, runId },
      );
    }
    if (req.countsFresh) this.#skippedSinceFold.delete(sectionId);
    const result = this.insertRecords(sectionId, req.dataType, held.records(), now);
    if (result.skipped.length > 0) this.#skippedSinceFold.add(sectionId);
    result.rejected = this.insertRejects(sectionId, runId, req.rejects, now);
    let { landed } = result;
    if (req.outbox !== undefined) {
      for (const body of held.outboxBodies(req.outbox.bodies)) {
        const entry = this.#insertOutbox.run(sectionId, runId, req.dataType, body.chunks, now);
        let seq = 0;
        for (const bytes of body.bytes)
          this.#insertOutboxChunk.run(entry.lastInsertRowid, seq++, bytes);
      }
      // A sink without the store lands what it commits to the outbox.
      if (!req.outbox.alsoInStore) landed = req.outbox.records;
    }
    const { rejected, lastId } = result;
    this.#addToRun.run(req.rowsRead, landed, rejected, req.keyFrom, req.keyTo, runId);
    if (req.cursor !== undefined) {
      this.#addToSectionAndMove.run(landed, rejected, lastId, req.cursor, sectionId);
    } else {
      this.#addToSection.run(landed, rejected, lastId, sectionId);
    }
    if (req.lease !== undefined) {
      this.#renewLease.run(req.lease.expiresAt, sectionId, req.lease.owner);
    }
    // landed_id has moved past this batch, which the fold covers as well.
    if (req.fold !== undefined) {
      this.#ridingFold(sectionId, req.fold);
      result.tables = foldTables(req.fold);
    }
    return { ...result, landed };
  }

  /**
   * A fold without `through` covers the section's rows landed so far: applied unless a batch
   * counted in it skipped rows (its counts are then too high: folded_id stays, and the store
   * reads them back).
   */
  #ridingFold(sectionId: number, fold: FoldRows): void {
    if (fold.through === undefined && this.#skippedSinceFold.has(sectionId)) return;
    this.applyFold(sectionId, fold);
    this.#skippedSinceFold.delete(sectionId);
  }
}
