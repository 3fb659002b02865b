/**
 * The embedded store: one SQLite file through better-sqlite3. Config, runs and queries go
 * through Kysely (the same code PostgreSQL will run); `commitBatch`, the hot path, is written
 * directly against cached better-sqlite3 statements.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from './kysely.js';
import type { Selectable } from 'kysely';
import { SluiceError, isSluiceError } from '../core/errors.js';
import type {
  ActivityRecord,
  IntegrationConfig,
  MetricRecord,
  RunRecord,
  SectionConfig,
  SinkConfig,
  SinkType,
} from '../core/types.js';
import { migrateToLatest } from './migrations.js';
import { FOLD_EVERY, Pending, SeenSet, countLanded, foldRows, type FoldEvery } from './pending.js';
import {
  SqliteBatchWriter,
  earlierBatchFailed,
  flattenRecords,
  foldTables,
  type WriteRequest,
  type WriteResult,
} from './sqlite-batch-writer.js';
import { SQLITE_PRAGMAS } from './sqlite-pragmas.js';
import { RollupBatch } from './sqlite-rollups.js';
import { TablePool } from './seen-table.js';
import {
  InlineWriter,
  ThreadWriter,
  writerThreadUrl,
  type BatchWriterPort,
  type WriterBatch,
} from './sqlite-writer.js';
import { SqliteRunStatements } from './sqlite-runs.js';
import type { Database, IntegrationsTable, RunsTable, SectionsTable } from './schema.js';
import type { SecretBox } from './secret-box.js';
import { INGEST_INTEGRATION } from './token-store.js';
import type {
  ApplyResult,
  BatchHead,
  BatchStream,
  BatchTail,
  CommitBatch,
  CommitResult,
  LockOwner,
  PushedBatch,
  RejectRow,
  SectionStats,
  Store,
  StoredIntegration,
  StoredSection,
} from './store.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file; created when missing (its folder must exist). */
  file: string;
  /** Encrypts the literal MySQL passwords kept in `integrations.password_enc`. */
  secretBox: SecretBox;
  /**
   * Where batches are committed: `thread` (a writer thread with its own connection, so SQLite's
   * work overlaps reading and mapping) or `inline` (this connection). Default: the thread when its
   * compiled file is there (see sqlite-writer.ts); the CLI takes SLUICE_STORE_WRITER.
   */
  writer?: 'thread' | 'inline';
  /** The writer thread's compiled entry (tests running from sources point it at the build). */
  writerThreadUrl?: URL;
  /** When a section's pending aggregates fold (see FOLD_EVERY); tests make folds happen often. */
  foldEvery?: FoldEvery;
}

/** What `startRun` writes into a run it finds still `running`. */
export const INTERRUPTED_ERROR = 'interrupted: the process running it stopped';

/**
 * Rows of the batches the writer thread committed after which the store's own connection
 * checkpoints the WAL (PASSIVE: it copies what is committed into the database file while the
 * writer goes on appending, and never waits for it). About 1,800 pages of the benchmark's rows,
 * under the writer's own WRITER_WAL_AUTOCHECKPOINT. The copy and its two fsyncs then fall on the
 * main thread, which waits for the writer much of a sync, instead of the writer (the benchmark's
 * sync, medians of six runs alternated with the build before: 5.66 -> 5.45 s). Every 20,000 rows,
 * the first choice, held the main thread up twice as often: 4.66 s against 4.51 (eight runs each).
 */
export const CHECKPOINT_ROWS = 40_000;

/**
 * Opens (creating and migrating on first use) a SQLite store. Pragmas: WAL journal (readers do
 * not block the writer), synchronous=NORMAL (durable across process crashes; a power cut may lose
 * the last commits but never corrupts), busy_timeout=5000 ms (another process writing makes us
 * wait, not fail), foreign_keys=ON (deleting a section deletes its runs, rejects and data).
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(options.file);
  } catch (err) {
    throw storeFailed(`cannot open the store file ${options.file}`, err);
  }
  try {
    for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    // Kysely runs SQLite migrations without a transaction; one IMMEDIATE transaction around them
    // makes a failed migration leave nothing behind and makes a second process opening a new
    // file at the same moment wait for the first one's schema instead of racing it.
    sqlite.exec('BEGIN IMMEDIATE');
    try {
      await migrateToLatest(db as Kysely<unknown>);
      sqlite.exec('COMMIT');
    } catch (err) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      throw err;
    }
    const threadUrl = options.writerThreadUrl ?? writerThreadUrl();
    const inline = options.writer === 'inline' || threadUrl === undefined;
    if (options.writer === 'thread' && threadUrl === undefined) {
      throw new SluiceError('INTERNAL', 'the writer thread is not built (run npm run build)');
    }
    return new SqliteStore(
      sqlite,
      db,
      options.secretBox,
      (local) =>
        inline || threadUrl === undefined
          ? new InlineWriter(local, (fn) => db.connection().execute(async () => fn()), options.file)
          : new ThreadWriter(options.file, threadUrl),
      options.foldEvery ?? FOLD_EVERY,
    );
  } catch (err) {
    sqlite.close();
    if (isSluiceError(err)) throw err;
    throw storeFailed(`cannot open the store file ${options.file}`, err);
  }
}

function storeFailed(what: string, err: unknown): SluiceError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return new SluiceError(
    'STORE_FAILED',
    `${what}: ${message}`,
    typeof code === 'string' ? { sqliteCode: code } : undefined,
    { cause: err },
  );
}

function nowIso(): string {
  return new Date().toISOString();
}

/** True unless the OS says no process has this pid (EPERM: it exists but is not ours). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * A section's landed rows not folded yet, with ids in (?, ?], read back to count them again.
 * `+section_id` keeps SQLite on the rowid range: on the plain column it takes the section's unique
 * index, walks every entry the section ever landed and sorts what is left (10,000 rows read back
 * from a million-point section: 49 ms that way, 11 ms by the range; the walk grows with the
 * section).
 */
export const UNFOLDED_SQL = {
  activities: `SELECT email, external_id, name, company_external_id, action, weight, date
    FROM activities WHERE id > ? AND id <= ? AND +section_id = ? ORDER BY id`,
  metrics: `SELECT model, external_id, dimension_id, value, date
    FROM metric_points WHERE id > ? AND id <= ? AND +section_id = ? ORDER BY id`,
};

interface LandedActivityRow {
  email: string | null;
  external_id: string | null;
  name: string | null;
  company_external_id: string | null;
  action: string | null;
  weight: number;
  date: string;
}

interface LandedMetricRow {
  model: string;
  external_id: string;
  dimension_id: string;
  value: number;
  date: string;
}

/** A landed activity read back for folding (only the fields the aggregates use). */
function activityOf(row: LandedActivityRow): ActivityRecord {
  const r: ActivityRecord = { rowId: '', key: '', weight: row.weight, date: row.date };
  if (row.email !== null) r.email = row.email;
  if (row.external_id !== null) r.externalId = row.external_id;
  if (row.name !== null) r.name = row.name;
  if (row.company_external_id !== null) r.companyExternalId = row.company_external_id;
  if (row.action !== null) r.action = row.action;
  return r;
}

function metricOf(row: LandedMetricRow): MetricRecord {
  return {
    rowId: '',
    key: '',
    model: row.model as MetricRecord['model'],
    externalId: row.external_id,
    dimensionId: row.dimension_id,
    value: row.value,
    date: row.date,
  };
}

type IntegrationRow = Selectable<IntegrationsTable>;
type SectionRow = Selectable<SectionsTable> & { integration: string };
type RunRow = Selectable<RunsTable> & { section: string };

function toStoredIntegration(row: IntegrationRow): StoredIntegration {
  const mysql: StoredIntegration['mysql'] = {
    host: row.host,
    port: row.port,
    user: row.user_name,
    database: row.database_name,
  };
  if (row.password_env !== null) mysql.passwordEnv = row.password_env;
  if (row.ssl_mode !== null) {
    mysql.ssl =
      row.ssl_ca !== null ? { mode: row.ssl_mode, ca: row.ssl_ca } : { mode: row.ssl_mode };
  }
  const integration: StoredIntegration = {
    id: row.id,
    name: row.name,
    enabled: row.enabled === 1,
    mysql,
    hasPassword: row.password_enc !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.alert_webhook !== null) integration.alerts = { webhook: row.alert_webhook };
  return integration;
}

function parseMapping(text: string, section: string): Record<string, string> {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SluiceError('STORE_FAILED', `section ${section}: stored mapping is not an object`);
  }
  const mapping: Record<string, string> = {};
  for (const [target, column] of Object.entries(value)) {
    if (typeof column !== 'string') {
      throw new SluiceError(
        'STORE_FAILED',
        `section ${section}: stored mapping.${target} is not text`,
      );
    }
    mapping[target] = column;
  }
  return mapping;
}

function parseInfo(text: string, section: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((c): c is string => typeof c === 'string')) {
    throw new SluiceError(
      'STORE_FAILED',
      `section ${section}: stored info is not a list of columns`,
    );
  }
  return value;
}

function toStoredSection(row: SectionRow): StoredSection {
  const section: StoredSection = {
    id: row.id,
    integrationId: row.integration_id,
    integration: row.integration,
    name: row.name,
    dataType: row.data_type,
    direction: row.direction,
    table: row.table_name,
    key: row.key_column,
    batchSize: row.batch_size,
    schedule: row.schedule,
    mapping: parseMapping(row.mapping, row.name),
    info: parseInfo(row.info, row.name),
    cursor: row.cursor,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.model !== null) section.model = row.model;
  if (row.lookback !== null) section.lookback = row.lookback;
  if (row.sink !== null) {
    section.sink = parseSink(row.sink, row.name);
    if (sinkHasToken(row.sink)) section.sinkHasToken = true;
  }
  if (row.alert_webhook !== null || row.reject_threshold !== null) {
    section.alerts = {};
    if (row.alert_webhook !== null) section.alerts.webhook = row.alert_webhook;
    if (row.reject_threshold !== null) section.alerts.rejectThreshold = row.reject_threshold;
  }
  return section;
}

/** A section's stored sink, as JSON text: the token only ever encrypted. */
interface StoredSink {
  type: SinkType;
  baseUrl: string;
  tokenEnv?: string;
  tokenEnc?: string;
}

/** The stored sink without its token (never returned: {@link SqliteStore.sinkToken} decrypts it). */
function parseSink(text: string, section: string): SinkConfig {
  const value = JSON.parse(text) as Partial<StoredSink> | null;
  if (value === null || typeof value.type !== 'string' || typeof value.baseUrl !== 'string') {
    throw new SluiceError('STORE_FAILED', `section ${section}: stored sink is not a sink`);
  }
  const planhat: SinkConfig['planhat'] = { baseUrl: value.baseUrl };
  if (value.tokenEnv !== undefined) planhat.tokenEnv = value.tokenEnv;
  return { type: value.type, planhat };
}

/** Whether a stored sink holds a literal token (encrypted), without decrypting it. */
function sinkHasToken(text: string): boolean {
  return typeof (JSON.parse(text) as Partial<StoredSink> | null)?.tokenEnc === 'string';
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    sectionId: row.section_id,
    section: row.section,
    trigger: row.trigger,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    rowsRead: row.rows_read,
    landed: row.landed,
    rejected: row.rejected,
    keyFrom: row.key_from,
    keyTo: row.key_to,
    cursor: row.cursor,
    error: row.error,
    errorCode: row.error_code,
  };
}

/** The section columns applyConfig owns, as they are stored. */
function sectionValues(s: SectionConfig) {
  return {
    name: s.name,
    data_type: s.dataType,
    direction: s.direction,
    table_name: s.table,
    key_column: s.key,
    batch_size: s.batchSize,
    schedule: s.schedule,
    model: s.model ?? null,
    mapping: JSON.stringify(s.mapping),
    info: JSON.stringify(s.info),
    lookback: s.lookback ?? null,
    alert_webhook: s.alerts?.webhook ?? null,
    reject_threshold: s.alerts?.rejectThreshold ?? null,
  };
}

/** Mapping order carries no meaning, so `a: x, b: y` and `b: y, a: x` are the same config. */
function sameMapping(a: string, b: string): boolean {
  const canon = (text: string) => {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? JSON.stringify(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : text;
  };
  return a === b || canon(a) === canon(b);
}

/**
 * The Kysely instance of a store opened by {@link openSqliteStore}, for ports that live in the same
 * database and must share its single connection (the schedule store); undefined for other stores.
 */
export function sqliteKyselyOf(store: Store): Kysely<Database> | undefined {
  return store instanceof SqliteStore ? store.kysely : undefined;
}

/** Decrypts the literal tenant token of a section's sink, for the outbox store; undefined for other stores. */
export function sqliteSinkTokenOf(
  store: Store,
): ((sectionId: number) => Promise<string | undefined>) | undefined {
  return store instanceof SqliteStore ? (id) => store.sinkToken(id) : undefined;
}

/** A batch opened in the writer, with the aggregates its parts are counted in. */
interface OpenedBatch {
  batch: WriterBatch;
  /** Undefined when the section is gone (the writer refuses the commit). */
  pending: Pending | undefined;
  /** The aggregates folded by this batch's commit. */
  folded: Pending | undefined;
  /** The counts were just read back from the store (see WriteRequest.countsFresh). */
  fresh: boolean;
}

class SqliteStore implements Store {
  readonly #sqlite: BetterSqlite3.Database;
  readonly #db: Kysely<Database>;
  readonly #secretBox: SecretBox;
  #closed = false;

  readonly #foldEvery: FoldEvery;
  /** The buffers of folded endusers and companies, for the next pending ones. */
  readonly #tables = new TablePool();
  readonly #runs: SqliteRunStatements;
  readonly #startRun: BetterSqlite3.Transaction<(sectionId: number, trigger: string) => RunRecord>;
  readonly #beginRun: BetterSqlite3.Transaction<
    (sectionId: number, trigger: string, owner: LockOwner, ttlMs: number) => RunRecord | undefined
  >;
  readonly #endRun: BetterSqlite3.Transaction<
    (
      run: RunRow,
      outcome: { status: 'succeeded' | 'failed'; error?: string; errorCode?: string },
      release: LockOwner | undefined,
    ) => RunRecord
  >;
  readonly #foldState: BetterSqlite3.Statement<
    [number],
    { data_type: string; landed_id: number; folded_id: number }
  >;
  readonly #unfoldedActivities: BetterSqlite3.Statement<
    [number, number, number],
    LandedActivityRow
  >;
  readonly #unfoldedMetrics: BetterSqlite3.Statement<[number, number, number], LandedMetricRow>;
  /** The batch writer on this connection: pushed data and folds at run end write through it. */
  readonly #local: SqliteBatchWriter;
  /** Where sections' batches are committed: this connection, or the writer thread. */
  readonly #writer: BatchWriterPort;
  /**
   * Per section, the landed rows not yet folded into endusers, companies and the rollups: folding
   * every batch cost an upsert per distinct enduser per batch, about as much as landing the rows.
   * Rows with id up to `sections.folded_id` are folded; those up to `landed_id` landed. A batch's
   * records are counted here as it is handed to the writer; when its commit fails or reports
   * rows that did not land (they had landed before), the counts are marked dirty and read back
   * from the store. A fold rides in the transaction of the batch that finds it due, after that
   * batch's records; the batch after waits for it. When the process dies with rows pending, they
   * are read back from the store.
   */
  readonly #pending = new Map<number, Pending>();
  /** Per section, batches handed to the writer and not yet settled. */
  readonly #inFlight = new Map<number, Set<Promise<void>>>();
  /** Settles when the last hand-over to the writer has (see commitBatch). */
  #handingOver: Promise<void> = Promise.resolve();
  /**
   * Runs with a failed batch: their later batches are refused here too, for a failure before the
   * batch reached the writer (which refuses the later batches of a run it saw fail).
   */
  readonly #failedRuns = new Set<number>();
  /** Settles when every batch handed to the writer so far has. */
  #settled: Promise<unknown> = Promise.resolve();
  /** Rows of the batches the writer thread committed since this connection's last checkpoint. */
  #sinceCheckpoint = 0;
  readonly #fold: BetterSqlite3.Transaction<(sectionId: number) => void>;
  readonly #land: BetterSqlite3.Transaction<(batch: PushedBatch, now: string) => CommitResult>;

  constructor(
    sqlite: BetterSqlite3.Database,
    db: Kysely<Database>,
    secretBox: SecretBox,
    writer: (local: SqliteBatchWriter) => BatchWriterPort,
    foldEvery: FoldEvery,
  ) {
    this.#foldEvery = foldEvery;
    this.#sqlite = sqlite;
    this.#db = db;
    this.#secretBox = secretBox;

    this.#runs = new SqliteRunStatements(sqlite);
    this.#startRun = sqlite.transaction((sectionId: number, trigger: string) =>
      this.#startRunHere(sectionId, trigger),
    );
    // One transaction where the engine would make two (a caught-up run is a scheduler's every
    // tick: each store call costs it a turn of the connection and a commit).
    this.#beginRun = sqlite.transaction(
      (sectionId: number, trigger: string, owner: LockOwner, ttlMs: number) =>
        this.#lockHere(sectionId, owner, ttlMs)
          ? this.#startRunHere(sectionId, trigger)
          : undefined,
    );
    this.#endRun = sqlite.transaction((run, outcome, release) => {
      const st = this.#runs;
      st.finish.run(
        outcome.status,
        nowIso(),
        outcome.error ?? null,
        outcome.errorCode ?? null,
        run.id,
      );
      if (release !== undefined) st.releaseLock.run(run.section_id, release.id);
      return toRunRecord(st.run.get(run.id) as RunRow);
    });
    this.#foldState = sqlite.prepare(
      'SELECT data_type, landed_id, folded_id FROM sections WHERE id = ?',
    );
    this.#unfoldedActivities = sqlite.prepare(UNFOLDED_SQL.activities);
    this.#unfoldedMetrics = sqlite.prepare(UNFOLDED_SQL.metrics);
    this.#local = new SqliteBatchWriter(sqlite);
    this.#writer = writer(this.#local);
    this.#fold = sqlite.transaction((sectionId: number) => {
      const pending = this.#current(sectionId);
      if (pending !== undefined && pending.rows > 0) this.#foldHere(sectionId, pending);
    });
    this.#land = sqlite.transaction((batch: PushedBatch, now: string) =>
      this.#landInTransaction(batch, now),
    );
  }

  /** Not part of the Store port: see {@link sqliteKyselyOf}. */
  get kysely(): Kysely<Database> {
    return this.#db;
  }

  /** Not part of the Store port: where batches are committed (for tests and the benchmark). */
  get writerKind(): 'inline' | 'thread' {
    return this.#writer.kind;
  }

  /** Not part of the Store port: the writer threads running or closing (for tests). */
  get writerThreads(): number {
    return this.#writer.threads;
  }

  // --- the hot path -------------------------------------------------------------------------

  /**
   * Hands the batch to the writer, having counted its records in the section's pending
   * aggregates (so they are garbage as soon as they are sent, not kept until the commit). A
   * caller may hand over the next batch before this one settles: batches commit in order, and
   * after a failure the later batches of the run fail too. A batch whose records did not all
   * land (a lookback, a reset) marks the counts dirty: they are read back from the store.
   */
  commitBatch(batch: CommitBatch): Promise<CommitResult> {
    const { records, sectionId, runId, dataType, ...tail } = batch;
    const stream = this.openBatch({ sectionId, runId, dataType });
    stream.add(records);
    return stream.commit(tail);
  }

  /**
   * A batch handed over in parts. Its opening and its commit each take their turn among the
   * store's hand-overs (`#handingOver`), in call order, so the writer gets commits in that order;
   * parts go straight to the writer once the batch is open (before, they wait here). Each part is
   * counted in the pending aggregates the batch opened with and flattened as it is added.
   */
  openBatch(head: BatchHead): BatchStream {
    this.#ensureOpen('openBatch');
    const { runId, dataType } = head;
    let opened: Promise<OpenedBatch> | undefined;
    let open: OpenedBatch | undefined;
    /** What was handed over before the batch was open, in order. */
    let waiting: ((o: OpenedBatch) => void)[] = [];
    let ended = false;
    /** A part that could not be handed over: the batch is dropped and its commit refused. */
    let broken: { error: unknown } | undefined;
    const send = (o: OpenedBatch, records: ActivityRecord[] | MetricRecord[]) =>
      hand(o, () => {
        if (records.length === 0) return;
        if (o.pending !== undefined) countLanded(o.pending, { dataType, records }, []);
        o.batch.part(flattenRecords(dataType, records));
      });
    const sendBody = (o: OpenedBatch, body: number, chunks: Uint8Array[]) =>
      hand(o, () => {
        if (chunks.length > 0) o.batch.body(body, chunks);
      });
    const hand = (o: OpenedBatch, handOver: () => void) => {
      if (broken !== undefined) throw broken.error;
      try {
        handOver();
      } catch (error) {
        broken = { error };
        // Counted in part: the section's counts are read back from the store once settled.
        if (o.pending !== undefined) o.pending.dirty = true;
        o.batch.abort();
        throw error;
      }
    };
    const opening = (): Promise<OpenedBatch> => {
      if (opened !== undefined) return opened;
      const ready = this.#takeTurn(() => this.#openBatch(head));
      opened = ready.then((o) => {
        open = o;
        for (const handOver of waiting) handOver(o);
        waiting = [];
        return o;
      });
      opened.catch(() => undefined);
      return opened;
    };
    const live = (what: string) => {
      if (ended) throw new Error(`batch of run ${runId}: ${what} after the batch ended`);
    };
    const end = (what: string) => {
      live(what);
      ended = true;
    };
    return {
      add: (records) => {
        live('add');
        this.#ensureOpen('openBatch');
        if (open !== undefined) send(open, records);
        else {
          waiting.push((o) => send(o, records));
          void opening();
        }
      },
      addBody: (body, chunks) => {
        live('addBody');
        this.#ensureOpen('openBatch');
        if (open !== undefined) sendBody(open, body, chunks);
        else {
          waiting.push((o) => sendBody(o, body, chunks));
          void opening();
        }
      },
      commit: (tail) => {
        end('commit');
        // A batch given no part opens now: in a turn of its own, before its commit's turn.
        const ready = opening();
        const handed = this.#takeTurn(async () => {
          const o = await ready;
          if (broken !== undefined) throw broken.error;
          return this.#commitOpened(head, o, tail);
        });
        // Only the run id waits for the commit: the batch is garbage once handed over.
        return this.#guard('commitBatch', async () => {
          try {
            return await (
              await handed
            ).landed;
          } catch (err) {
            this.#failedRuns.add(runId);
            throw err;
          }
        });
      },
      abort: async () => {
        end('abort');
        waiting = [];
        if (opened === undefined) return;
        const o = await opened.catch(() => undefined);
        if (o === undefined || broken !== undefined) return;
        o.batch.abort();
        // Its parts were counted: the section's counts are read back from the store.
        if (o.pending !== undefined) o.pending.dirty = true;
      },
    };
  }

  async readyForBatch(sectionId: number): Promise<void> {
    // The batches handed over so far are opened first: one of them may take the aggregates.
    await this.#handingOver;
    // Pending aggregates are held unless a fold took them (or they were dropped to be read back):
    // the batch after waits for the batches in flight, the fold's among them (see #openBatch).
    if (!this.#pending.has(sectionId)) await this.#settledFor(sectionId);
  }

  /** Runs `step` after the hand-overs queued before it (they run one after another, in call order). */
  #takeTurn<T>(step: () => Promise<T>): Promise<T> {
    const turn = this.#handingOver.then(step);
    this.#handingOver = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Decides the counts a batch adds to and the fold it carries, and opens it in the writer. */
  async #openBatch(head: BatchHead): Promise<OpenedBatch> {
    const { sectionId, runId } = head;
    try {
      if (this.#failedRuns.has(runId)) throw earlierBatchFailed(head);
      let pending = this.#pending.get(sectionId);
      let fresh = false;
      if (pending === undefined || pending.dirty) {
        // Settled, the store is the truth: check what is held against it, or read it back.
        await this.#settledFor(sectionId);
        pending = this.#current(sectionId);
        fresh = true;
      }
      let folded: Pending | undefined;
      if (pending !== undefined && pending.due(this.#foldEvery)) {
        // The fold rides in this batch, after its records (counted in it too). The next batch
        // waits for the answer: it finds no pending aggregates, so it waits for this one to
        // settle and starts its own on the buffers the writer hands back. Only one set of
        // tables is then held at a time (a set filling while the writer folds the other held
        // twice the memory, 20-30 MiB more with 100,000 endusers a fold, and the writer, the
        // slower side, only idles for the next batch's counting). The writer refuses the fold
        // if one of the batches counted in it skipped rows: the next batch reads the counts back.
        folded = pending;
        this.#pending.delete(sectionId);
      }
      // Pending undefined: the section is gone (the writer will say so).
      return { batch: this.#writer.open(runId), pending, folded, fresh };
    } catch (err) {
      this.#failedRuns.add(runId);
      // Nothing of this batch is counted yet; reading the section back is the safe side.
      const pending = this.#pending.get(sectionId);
      if (pending !== undefined) pending.dirty = true;
      throw err;
    }
  }

  /** Commits an opened batch; `landed` settles once the writer's answer is accounted for. */
  #commitOpened(
    head: BatchHead,
    o: OpenedBatch,
    tail: BatchTail,
  ): { landed: Promise<CommitResult> } {
    const { sectionId } = head;
    let { pending: counted, folded } = o;
    if (
      tail.last &&
      folded === undefined &&
      counted !== undefined &&
      !counted.dirty &&
      counted.rows > 0 &&
      this.#pending.get(sectionId) === counted
    ) {
      // The run's last batch folds everything pending: the run's end then has nothing left to
      // fold, and the fold's rows were built while earlier batches were still committing.
      folded = counted;
      this.#pending.delete(sectionId);
    }
    const { last: _, ...rest } = tail;
    const req: WriteRequest = { ...head, ...rest, now: nowIso() };
    // The fold takes this batch's counts along: nothing counts on in them.
    if (folded !== undefined) {
      req.fold = foldRows(folded);
      counted = undefined;
    }
    if (o.fresh) req.countsFresh = true;
    const landed = this.#landed(o.batch.commit(req), counted);
    // In flight until its answer is accounted for, so a fold after it sees its counts.
    const settled = landed.then(
      () => undefined,
      () => undefined,
    );
    const inFlight = this.#inFlight.get(sectionId) ?? new Set<Promise<void>>();
    inFlight.add(settled);
    this.#inFlight.set(sectionId, inFlight);
    void landed.then(
      () => this.#checkpointAfter(tail.rowsRead),
      () => undefined,
    );
    void settled.then(() => {
      inFlight.delete(settled);
      if (inFlight.size === 0 && this.#inFlight.get(sectionId) === inFlight) {
        this.#inFlight.delete(sectionId);
      }
    });
    this.#settled = Promise.all([this.#settled, settled]);
    return { landed };
  }

  /**
   * Checkpoints the WAL on this connection once the writer thread has committed batches of
   * CHECKPOINT_ROWS rows since the last time (the writer's own checkpoints wait for
   * WRITER_WAL_AUTOCHECKPOINT pages). Not inside a transaction of this connection's; a
   * checkpoint that fails is left to the next one.
   */
  #checkpointAfter(rows: number): void {
    if (this.#writer.kind !== 'thread') return;
    this.#sinceCheckpoint += rows;
    if (this.#sinceCheckpoint < CHECKPOINT_ROWS || this.#closed || this.#sqlite.inTransaction) {
      return;
    }
    this.#sinceCheckpoint = 0;
    try {
      this.#sqlite.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // SQLITE_BUSY or LOCKED (another connection checkpointing): the WAL waits for the next.
    }
  }

  /**
   * An empty SeenSet, on the buffers of a fold done with when there are some, else small ones
   * that grow: a caught-up run makes one too (an idle tick that allocated room for 65,536
   * endusers took 2.9 ms instead of 0.3).
   */
  #seenSet(): SeenSet {
    return new SeenSet(256, this.#tables);
  }

  /** Waits for the section's batches handed to the writer so far, whatever their outcome. */
  async #settledFor(sectionId: number): Promise<void> {
    const inFlight = this.#inFlight.get(sectionId);
    if (inFlight !== undefined) await Promise.all(inFlight);
  }

  /** Once the writer answered: what landed; counts that turn out wrong are marked for reading back. */
  async #landed(
    written: Promise<WriteResult>,
    counted: Pending | undefined,
  ): Promise<CommitResult> {
    let result: WriteResult;
    try {
      result = await written;
    } catch (err) {
      // Counted, not landed: the section's counts are read back from the store once settled.
      if (counted !== undefined) counted.dirty = true;
      throw err;
    }
    // A fold refused (its counts were too high) left them in the store: the next batch finds no
    // pending aggregates and reads them back.
    if (result.tables !== undefined) this.#tables.recycle(result.tables);
    if (counted !== undefined) {
      // Rows landed before were counted then: these are counted twice now.
      if (result.skipped.length > 0) counted.dirty = true;
      counted.covered = Math.max(counted.covered, result.lastId);
    }
    return { landed: result.landed, rejected: result.rejected };
  }

  async landPushed(batch: PushedBatch): Promise<CommitResult> {
    return this.#guard('landPushed', () =>
      this.#db.connection().execute(async () => {
        try {
          return this.#land.immediate(batch, nowIso());
        } finally {
          // Folded (or, the transaction rolled back, counted for nothing): never reused.
          this.#pending.delete(batch.sectionId);
        }
      }),
    );
  }

  /**
   * Pushed data folds in its own transaction (not every million rows like a section's): a request
   * has no run whose end would fold it, and rows, rejects and aggregates then commit together,
   * so each pushed item reaches endusers, companies and the rollups exactly once.
   */
  #landInTransaction(batch: PushedBatch, now: string) {
    const { sectionId } = batch;
    // A pseudo-section never keeps pending aggregates (each push folds), so this reads nothing back.
    const pending = this.#current(sectionId);
    if (pending === undefined) throw sectionNotFound(sectionId);
    const values = flattenRecords(batch.dataType, batch.records);
    const landed = this.#local.insertRecords(sectionId, batch.dataType, [values], now);
    // Pushed rejects belong to no run: run id 0.
    const rejected = this.#local.insertRejects(sectionId, 0, batch.rejects, now);
    this.#local.addToSection(sectionId, landed.landed, rejected, landed.lastId);
    countLanded(pending, batch, landed.skipped);
    pending.covered = Math.max(pending.covered, landed.lastId);
    this.#foldHere(sectionId, pending);
    return { landed: landed.landed, rejected };
  }

  /** Folds pending aggregates on this connection (inside a transaction); they are done with. */
  #foldHere(sectionId: number, pending: Pending): void {
    const fold = foldRows(pending, pending.covered);
    this.#local.applyFold(sectionId, fold);
    this.#tables.recycle(foldTables(fold));
  }

  /** Folds a section's pending aggregates (finishRun, close): the data module is then current. */
  #foldSection(sectionId: number): void {
    try {
      this.#fold.immediate(sectionId);
    } finally {
      this.#pending.delete(sectionId);
    }
  }

  /**
   * The pending aggregates of a section, valid against the store (call with nothing of the
   * section in flight): when the store moved on without us (another process landed or folded,
   * having taken the section over), ours are dropped; rows landed but never folded (a process
   * died, a batch failed) are read back. Undefined when the section is gone.
   */
  #current(sectionId: number): Pending | undefined {
    const state = this.#foldState.get(sectionId);
    if (state === undefined) {
      this.#pending.delete(sectionId);
      return undefined;
    }
    const held = this.#pending.get(sectionId);
    if (
      held !== undefined &&
      !held.dirty &&
      held.base === state.folded_id &&
      held.covered === state.landed_id
    ) {
      return held;
    }
    const pending = new Pending(this.#seenSet(), new RollupBatch(sectionId), state.folded_id);
    const range = [state.folded_id, state.landed_id, sectionId] as const;
    if (state.landed_id > state.folded_id) {
      if (state.data_type === 'activities') {
        for (const row of this.#unfoldedActivities.iterate(...range)) {
          pending.activity(activityOf(row));
        }
      } else {
        for (const row of this.#unfoldedMetrics.iterate(...range)) pending.metric(metricOf(row));
      }
      pending.covered = state.landed_id;
    }
    this.#pending.set(sectionId, pending);
    return pending;
  }

  // --- config -------------------------------------------------------------------------------

  async applyConfig(
    integration: IntegrationConfig,
    sections: SectionConfig[],
    options: { prune?: boolean } = {},
  ): Promise<ApplyResult> {
    if (integration.name === INGEST_INTEGRATION) {
      // The config schema refuses the name already; the store never lets it reach the tokens' sections.
      throw new SluiceError(
        'CONFIG_INVALID',
        `the integration name ${INGEST_INTEGRATION} is reserved`,
        {
          field: 'name',
        },
      );
    }
    const names = new Set<string>();
    for (const s of sections) {
      if (names.has(s.name)) {
        throw new SluiceError('CONFIG_INVALID', `section ${s.name} is listed twice`, {
          section: s.name,
          field: 'name',
        });
      }
      names.add(s.name);
    }
    return this.#guard('applyConfig', () =>
      this.#write(async (trx) => {
        const now = nowIso();
        const m = integration.mysql;
        const existing = await trx
          .selectFrom('integrations')
          .selectAll()
          .where('name', '=', integration.name)
          .executeTakeFirst();

        // Where the password comes from: a literal (encrypted), an env variable, both, or, when
        // the config names neither, whatever is stored (the UI may have set it).
        let passwordEnv = existing?.password_env ?? null;
        let passwordEnc = existing?.password_enc ?? null;
        if (m.password !== undefined || m.passwordEnv !== undefined) {
          passwordEnv = m.passwordEnv ?? null;
          passwordEnc =
            m.password === undefined
              ? null
              : this.#storedPasswordIs(passwordEnc, m.password)
                ? passwordEnc
                : this.#secretBox.encrypt(m.password);
        }
        const values = {
          host: m.host,
          port: m.port,
          user_name: m.user,
          database_name: m.database,
          password_env: passwordEnv,
          password_enc: passwordEnc,
          ssl_mode: m.ssl?.mode ?? null,
          ssl_ca: m.ssl?.ca ?? null,
          enabled: integration.enabled ? 1 : 0,
          alert_webhook: integration.alerts?.webhook ?? null,
        };

        let integrationId: number;
        let integrationAction: ApplyResult['integration']['action'];
        if (existing === undefined) {
          const row = await trx
            .insertInto('integrations')
            .values({ name: integration.name, ...values, created_at: now, updated_at: now })
            .returning('id')
            .executeTakeFirstOrThrow();
          integrationId = row.id;
          integrationAction = 'created';
        } else {
          integrationId = existing.id;
          const same = (Object.keys(values) as (keyof typeof values)[]).every(
            (k) => existing[k] === values[k],
          );
          integrationAction = same ? 'unchanged' : 'updated';
          if (!same) {
            await trx
              .updateTable('integrations')
              .set({ ...values, updated_at: now })
              .where('id', '=', integrationId)
              .execute();
          }
        }

        const stored = await trx
          .selectFrom('sections')
          .selectAll()
          .where('integration_id', '=', integrationId)
          .orderBy('id')
          .execute();
        const byName = new Map(stored.map((row) => [row.name, row]));
        const result: ApplyResult['sections'] = [];

        for (const s of sections) {
          const v = { ...sectionValues(s), sink: this.#sinkValue(s, byName.get(s.name)?.sink) };
          const row = byName.get(s.name);
          byName.delete(s.name);
          if (row === undefined) {
            await trx
              .insertInto('sections')
              .values({ integration_id: integrationId, ...v, created_at: now, updated_at: now })
              .execute();
            result.push({ name: s.name, action: 'created', cursorReset: false });
            continue;
          }
          const same = (Object.keys(v) as (keyof typeof v)[]).every((k) =>
            k === 'mapping' ? sameMapping(row.mapping, v.mapping) : row[k] === v[k],
          );
          if (same) {
            result.push({ name: s.name, action: 'unchanged', cursorReset: false });
            continue;
          }
          // A cursor is a position in one key column of one table; it means nothing in another.
          const cursorReset = row.table_name !== v.table_name || row.key_column !== v.key_column;
          await trx
            .updateTable('sections')
            .set(cursorReset ? { ...v, cursor: null, updated_at: now } : { ...v, updated_at: now })
            .where('id', '=', row.id)
            .execute();
          result.push({ name: s.name, action: 'updated', cursorReset });
        }

        for (const row of byName.values()) {
          if (options.prune) {
            await trx.deleteFrom('sections').where('id', '=', row.id).execute();
            result.push({ name: row.name, action: 'deleted', cursorReset: false });
          } else {
            result.push({ name: row.name, action: 'kept', cursorReset: false });
          }
        }
        return {
          integration: { name: integration.name, action: integrationAction },
          sections: result,
        };
      }),
    );
  }

  /**
   * The sink column of a section: its literal token encrypted, reusing the stored ciphertext when
   * it holds the same token, so re-applying a file is no change.
   */
  #sinkValue(s: SectionConfig, stored: string | null | undefined): string | null {
    const planhat = s.sink?.planhat;
    if (s.sink === undefined || planhat === undefined) return null;
    const value: StoredSink = { type: s.sink.type, baseUrl: planhat.baseUrl };
    if (planhat.tokenEnv !== undefined) value.tokenEnv = planhat.tokenEnv;
    const before = stored == null ? undefined : (JSON.parse(stored) as StoredSink).tokenEnc;
    if (planhat.token !== undefined) {
      value.tokenEnc =
        before !== undefined && this.#storedPasswordIs(before, planhat.token)
          ? before
          : this.#secretBox.encrypt(planhat.token);
    } else if (planhat.tokenEnv === undefined && before !== undefined) {
      // The config names neither: keep the token stored before (the UI or an earlier apply set it).
      value.tokenEnc = before;
    }
    return JSON.stringify(value);
  }

  /** The decrypted literal tenant token of a section's sink, when one is stored. */
  async sinkToken(sectionId: number): Promise<string | undefined> {
    return this.#guard('sinkToken', async () => {
      const row = await this.#db
        .selectFrom('sections')
        .select('sink')
        .where('id', '=', sectionId)
        .executeTakeFirst();
      if (row?.sink == null) return undefined;
      const enc = (JSON.parse(row.sink) as StoredSink).tokenEnc;
      return enc === undefined ? undefined : this.#secretBox.decrypt(enc);
    });
  }

  /** Whether `enc` decrypts to `plain`; keeps a re-applied password from counting as a change. */
  #storedPasswordIs(enc: string | null, plain: string): boolean {
    if (enc === null) return false;
    try {
      return this.#secretBox.decrypt(enc) === plain;
    } catch (err) {
      // Undecryptable (the key changed or was lost): the new password replaces it, which is how
      // a user recovers from a lost key.
      if (isSluiceError(err) && err.code === 'SECRET_KEY_INVALID') return false;
      throw err;
    }
  }

  async listIntegrations(): Promise<StoredIntegration[]> {
    return this.#guard('listIntegrations', async () => {
      const rows = await this.#db
        .selectFrom('integrations')
        .selectAll()
        .where('name', '<>', INGEST_INTEGRATION)
        .orderBy('name')
        .execute();
      return rows.map(toStoredIntegration);
    });
  }

  async getIntegration(name: string): Promise<StoredIntegration | undefined> {
    return this.#guard('getIntegration', async () => {
      if (name === INGEST_INTEGRATION) return undefined;
      // In the connection's turn: a transaction applying config may be open on it.
      const row = await this.#db
        .connection()
        .execute(async () => this.#runs.integrationByName.get(name));
      return row && toStoredIntegration(row);
    });
  }

  async getIntegrationPassword(name: string): Promise<string | undefined> {
    return this.#guard('getIntegrationPassword', async () => {
      const row = await this.#db
        .selectFrom('integrations')
        .select('password_enc')
        .where('name', '=', name)
        .executeTakeFirst();
      if (row?.password_enc == null) return undefined;
      return this.#secretBox.decrypt(row.password_enc);
    });
  }

  /** MySQL sections only: the pseudo-sections of ingest tokens are not listed. */
  #sectionsQuery() {
    return this.#db
      .selectFrom('sections')
      .innerJoin('integrations', 'integrations.id', 'sections.integration_id')
      .where('sections.token_id', 'is', null)
      .selectAll('sections')
      .select('integrations.name as integration');
  }

  async listSections(integration?: string): Promise<StoredSection[]> {
    return this.#guard('listSections', async () => {
      let query = this.#sectionsQuery();
      if (integration !== undefined) query = query.where('integrations.name', '=', integration);
      const rows = await query.orderBy('integrations.name').orderBy('sections.id').execute();
      return rows.map(toStoredSection);
    });
  }

  async getSection(id: number): Promise<StoredSection | undefined> {
    return this.#guard('getSection', async () => {
      const row = await this.#sectionsQuery().where('sections.id', '=', id).executeTakeFirst();
      return row && toStoredSection(row);
    });
  }

  async deleteSection(id: number): Promise<boolean> {
    return this.#guard('deleteSection', () =>
      this.#write(async (trx) => {
        // Foreign keys cascade to runs, rejects, landed rows, rollups and schedule state.
        this.#pending.delete(id);
        const res = await trx
          .deleteFrom('sections')
          .where('id', '=', id)
          .where('token_id', 'is', null)
          .executeTakeFirst();
        return res.numDeletedRows > 0n;
      }),
    );
  }

  async deleteIntegration(name: string): Promise<boolean> {
    return this.#guard('deleteIntegration', () =>
      this.#write(async (trx) => {
        const res = await trx
          .deleteFrom('integrations')
          .where('name', '=', name)
          .where('name', '<>', INGEST_INTEGRATION)
          .executeTakeFirst();
        return res.numDeletedRows > 0n;
      }),
    );
  }

  async setCursor(sectionId: number, cursor: string | null): Promise<void> {
    return this.#guard('setCursor', async () => {
      const res = await this.#db
        .updateTable('sections')
        .set({ cursor })
        .where('id', '=', sectionId)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) throw sectionNotFound(sectionId);
    });
  }

  // --- locks and runs -----------------------------------------------------------------------

  async acquireLock(sectionId: number, owner: LockOwner, ttlMs: number): Promise<boolean> {
    return this.#guard('acquireLock', () =>
      this.#db.connection().execute(async () => this.#lockHere(sectionId, owner, ttlMs)),
    );
  }

  async beginRun(
    sectionId: number,
    trigger: string,
    lock: { owner: LockOwner; ttlMs: number },
  ): Promise<RunRecord | undefined> {
    return this.#guard('beginRun', () =>
      this.#db.connection().execute(async () => {
        const run = this.#beginRun.immediate(sectionId, trigger, lock.owner, lock.ttlMs);
        // A section whose last run read rows (or that never ran) likely has more: the writer
        // thread boots while MySQL connects and the read is planned, not after the first part
        // (a 10-row sync's run 0.19 -> 0.15 s). One that found nothing (every idle tick) starts
        // none: the thread would boot only to be retired.
        if (run !== undefined && (this.#runs.lastRowsRead.get(sectionId)?.rows_read ?? 1) > 0) {
          this.#writer.prepare();
        }
        return run;
      }),
    );
  }

  /** Takes the section's lock (see acquireLock), on the connection, in the caller's turn. */
  #lockHere(sectionId: number, owner: LockOwner, ttlMs: number): boolean {
    const st = this.#runs;
    const now = new Date();
    const lock: [string, string, number, string, number] = [
      owner.id,
      owner.host,
      owner.pid,
      new Date(now.getTime() + ttlMs).toISOString(),
      sectionId,
    ];
    if (st.takeLock.run(...lock, now.toISOString(), owner.id).changes === 1) return true;
    const held = st.heldLock.get(sectionId);
    if (held === undefined) throw sectionNotFound(sectionId);
    // A holder on this host whose process is gone (killed with -9, crashed) cannot release
    // its lock; waiting out its TTL would block the rerun for nothing.
    if (
      held.lock_owner === null ||
      held.lock_host !== owner.host ||
      held.lock_pid === null ||
      pidAlive(held.lock_pid)
    ) {
      return false;
    }
    return st.stealLock.run(...lock, held.lock_owner).changes === 1;
  }

  /** Starts a run of a section whose lock the caller holds (in a transaction of the caller's). */
  #startRunHere(sectionId: number, trigger: string): RunRecord {
    const st = this.#runs;
    const section = st.sectionCursor.get(sectionId);
    if (section === undefined) throw sectionNotFound(sectionId);
    const now = nowIso();
    // The caller holds the section's lock, so a run still marked running is dead.
    st.interrupt.run(now, INTERRUPTED_ERROR, sectionId);
    const { lastInsertRowid } = st.insertRun.run(sectionId, trigger, now, section.cursor);
    return toRunRecord(st.run.get(Number(lastInsertRowid)) as RunRow);
  }

  async releaseLock(sectionId: number, owner: LockOwner): Promise<void> {
    return this.#guard('releaseLock', () =>
      this.#db.connection().execute(async () => {
        this.#runs.releaseLock.run(sectionId, owner.id);
      }),
    );
  }

  #runsQuery(db: Kysely<Database>) {
    return db
      .selectFrom('runs')
      .innerJoin('sections', 'sections.id', 'runs.section_id')
      .selectAll('runs')
      .select('sections.name as section');
  }

  async startRun(sectionId: number, trigger: string): Promise<RunRecord> {
    return this.#guard('startRun', () =>
      this.#db.connection().execute(async () => this.#startRun.immediate(sectionId, trigger)),
    );
  }

  async finishRun(
    runId: number,
    outcome: { status: 'succeeded' | 'failed'; error?: string; errorCode?: string },
    release?: LockOwner,
  ): Promise<RunRecord> {
    return this.#guard('finishRun', async () => {
      // The run's batches still in the writer's hands land (or fail) before its fold and end;
      // other sections' batches need not.
      const sectionId = this.#runs.run.get(runId)?.section_id;
      if (sectionId !== undefined) await this.#settledFor(sectionId);
      this.#writer.retire();
      this.#failedRuns.delete(runId);
      return this.#db.connection().execute(async () => {
        const st = this.#runs;
        const run = st.run.get(runId);
        if (run === undefined) {
          throw new SluiceError('NOT_FOUND', `run ${runId} does not exist`, { runId });
        }
        // The run's rows reach endusers, companies and the data module's rollups now at the latest.
        this.#foldSection(run.section_id);
        // An idle store keeps no spare tables either (tens of MiB after a run of many endusers).
        this.#tables.clear();
        return this.#endRun.immediate(run, outcome, release);
      });
    });
  }

  async listRuns(filter: { sectionId?: number; limit?: number }): Promise<RunRecord[]> {
    return this.#guard('listRuns', async () => {
      let query = this.#runsQuery(this.#db);
      if (filter.sectionId !== undefined)
        query = query.where('runs.section_id', '=', filter.sectionId);
      const rows = await query
        .orderBy('runs.id', 'desc')
        .limit(filter.limit ?? 50)
        .execute();
      return rows.map(toRunRecord);
    });
  }

  async getRun(id: number): Promise<RunRecord | undefined> {
    return this.#guard('getRun', async () => {
      const row = await this.#runsQuery(this.#db).where('runs.id', '=', id).executeTakeFirst();
      return row && toRunRecord(row);
    });
  }

  async listRejects(filter: {
    sectionId: number;
    runId?: number;
    limit?: number;
  }): Promise<RejectRow[]> {
    return this.#guard('listRejects', async () => {
      let query = this.#db
        .selectFrom('rejects')
        .selectAll()
        .where('section_id', '=', filter.sectionId);
      if (filter.runId !== undefined) query = query.where('run_id', '=', filter.runId);
      const rows = await query
        .orderBy('id')
        .limit(filter.limit ?? 100)
        .execute();
      return rows.map((row) => {
        const reject: RejectRow = {
          id: row.id,
          sectionId: row.section_id,
          runId: row.run_id,
          rowId: row.row_id,
          key: row.source_key,
          field: row.field,
          code: row.code,
          reason: row.reason,
          createdAt: row.created_at,
        };
        if (row.source_column !== null) reject.column = row.source_column;
        if (row.input !== null) reject.input = row.input;
        return reject;
      });
    });
  }

  async stats(): Promise<SectionStats[]> {
    return this.#guard('stats', async () => {
      const sections = await this.#db
        .selectFrom('sections')
        .innerJoin('integrations', 'integrations.id', 'sections.integration_id')
        .select([
          'sections.id',
          'integrations.name as integration',
          'sections.name',
          'sections.data_type',
          'sections.direction',
          'sections.cursor',
          'sections.landed_total',
          'sections.rejected_total',
        ])
        .where('sections.token_id', 'is', null)
        .orderBy('integrations.name')
        .orderBy('sections.id')
        .execute();
      const lastRuns = await this.#runsQuery(this.#db)
        .where('runs.id', 'in', (eb) =>
          eb
            .selectFrom('runs')
            .select((e) => e.fn.max('runs.id').as('id'))
            .groupBy('runs.section_id'),
        )
        .execute();
      const lastBySection = new Map(lastRuns.map((row) => [row.section_id, toRunRecord(row)]));
      return sections.map((s) => ({
        integration: s.integration,
        name: s.name,
        dataType: s.data_type,
        direction: s.direction,
        cursor: s.cursor,
        landed: s.landed_total,
        rejected: s.rejected_total,
        lastRun: lastBySection.get(s.id) ?? null,
      }));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Let the batches handed to the writer land and the writer go, wait for the connection, so a
    // transaction in flight finishes before the handle goes, then fold what is pending (a run
    // cut short still reaches the data module).
    await this.#settled;
    await this.#writer.close();
    await this.#db.connection().execute(async () => {
      for (const sectionId of [...this.#pending.keys()]) this.#foldSection(sectionId);
    });
    // Kysely's SQLite driver closes the better-sqlite3 handle it was given.
    await this.#db.destroy();
  }

  // --- plumbing -----------------------------------------------------------------------------

  /**
   * Runs `fn` in one IMMEDIATE transaction on the single connection. IMMEDIATE takes the write
   * lock up front: a DEFERRED transaction that reads and then writes can fail at once with
   * SQLITE_BUSY when another process wrote in between, without waiting out busy_timeout.
   */
  async #write<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.#db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (err) {
        // SQLite rolls back by itself on some errors (SQLITE_FULL, ...); a second ROLLBACK would throw.
        if (this.#sqlite.inTransaction) await sql`ROLLBACK`.execute(conn);
        throw err;
      }
    });
  }

  /** Turns driver errors into SluiceError('STORE_FAILED'); Sluice errors pass through. */
  #ensureOpen(operation: string): void {
    if (this.#closed) {
      throw new SluiceError('STORE_FAILED', `store ${operation} failed: the store is closed`);
    }
  }

  async #guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.#ensureOpen(operation);
    try {
      return await fn();
    } catch (err) {
      if (isSluiceError(err)) throw err;
      throw storeFailed(`store ${operation} failed`, err);
    }
  }
}

function sectionNotFound(sectionId: number): SluiceError {
  return new SluiceError('NOT_FOUND', `section ${sectionId} does not exist`, { sectionId });
}
