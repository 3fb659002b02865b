import type {
  ActivityRecord,
  IntegrationConfig,
  MetricRecord,
  RejectRecord,
  RunRecord,
  SectionConfig,
} from '../core/types.js';

/** An integration as stored. The password is never returned; `hasPassword` says whether one is kept. */
export interface StoredIntegration extends Omit<IntegrationConfig, 'mysql'> {
  id: number;
  mysql: Omit<IntegrationConfig['mysql'], 'password'>;
  hasPassword: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface StoredSection extends SectionConfig {
  id: number;
  integrationId: number;
  integration: string;
  /** The last key landed, as MySQL prints it; null before the first batch. */
  cursor: string | null;
  /** True when the sink's literal token is stored (encrypted); `sink` never holds the token. */
  sinkHasToken?: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ApplyResult {
  integration: { name: string; action: 'created' | 'updated' | 'unchanged' };
  sections: {
    name: string;
    action: 'created' | 'updated' | 'unchanged' | 'deleted' | 'kept';
    cursorReset: boolean;
  }[];
}

/** Records, rejects and the new cursor of one batch: committed in ONE transaction. */
export interface CommitBatch {
  sectionId: number;
  runId: number;
  dataType: 'activities' | 'metrics';
  records: ActivityRecord[] | MetricRecord[];
  rejects: RejectRecord[];
  /** The cursor after this batch; `undefined` leaves it where it is (a partial tie group). */
  cursor: string | undefined;
  /** Rows read from MySQL for this batch (added to the run's counter). */
  rowsRead: number;
  keyFrom: string | null;
  keyTo: string | null;
  /**
   * For a section with a Planhat sink: request bodies (UTF-8 JSON, in order, each in chunks)
   * queued in the outbox in the same transaction. `records` counts the records in them; unless
   * `alsoInStore` (sink `both`, with the records landed too), that count is what the batch
   * landed. The store takes the bodies: a chunk larger than Buffer's pool may be moved to its
   * writer and is freed once written (see core/bytes.ts), so nothing else may hold a view of
   * that memory. Body `i` is the chunks handed over ahead for it (BatchStream.addBody) followed
   * by `bodies[i]`.
   */
  outbox?: { bodies: (readonly Uint8Array[])[]; records: number; alsoInStore: boolean };
  /** Extends the run lock of `owner` to `expiresAt` (ISO) in the same commit: a run's heartbeat. */
  lease?: { owner: string; expiresAt: string };
  /**
   * The run reads nothing after this batch: the store may fold the section's pending aggregates
   * in its commit, after its records, instead of in `finishRun` once the batch has landed.
   */
  last?: true;
}

/** Which batch a streamed batch is: given when it opens. */
export type BatchHead = Pick<CommitBatch, 'sectionId' | 'runId' | 'dataType'>;

/** The rest of a streamed batch, given when it commits. */
export type BatchTail = Omit<CommitBatch, keyof BatchHead | 'records'>;

/**
 * A batch whose records are handed over in parts while they are read (see `Store.openBatch`):
 * a part is garbage once added, instead of the whole batch living until its commit.
 */
export interface BatchStream {
  /** Hands over the next records of the batch. */
  add(records: ActivityRecord[] | MetricRecord[]): void;
  /**
   * Hands over the next chunks of the batch's outbox body `body` (from 0) ahead of the commit,
   * which brings the rest (see BatchTail.outbox). The store takes them, as it takes the bodies.
   */
  addBody(body: number, chunks: Uint8Array[]): void;
  /** Commits the records added with the rest of the batch, as `commitBatch` does. */
  commit(tail: BatchTail): Promise<CommitResult>;
  /** Drops the records added: nothing of the batch lands, and the run goes on. */
  abort(): Promise<void>;
}

/**
 * Items pushed through the ingest API to one of a token's pseudo-sections (see token-store.ts):
 * records (each with a fresh row id) and rejects (the item index as `key`).
 */
export interface PushedBatch {
  sectionId: number;
  dataType: 'activities' | 'metrics';
  records: ActivityRecord[] | MetricRecord[];
  rejects: RejectRecord[];
}

export interface CommitResult {
  /** Records newly landed (rows landed before, e.g. re-read by a lookback, are not counted). */
  landed: number;
  /** Rejects newly kept. */
  rejected: number;
}

export interface SectionStats {
  integration: string;
  name: string;
  dataType: 'activities' | 'metrics';
  direction: 'receive' | 'off';
  cursor: string | null;
  landed: number;
  rejected: number;
  lastRun: RunRecord | null;
}

export interface RejectRow extends RejectRecord {
  id: number;
  sectionId: number;
  runId: number;
  createdAt: string;
}

/** Holder of a section's run lock: one run per section at a time, across processes. */
export interface LockOwner {
  /** Unique per process, e.g. `host:pid:random`. */
  id: string;
  host: string;
  pid: number;
}

/**
 * The service's own database. One interface for SQLite (embedded default) and, later, PostgreSQL.
 * Methods are async so a store can live across a network or in a worker thread.
 */
export interface Store {
  /** Saves an integration and its sections in one transaction; `prune` deletes sections not listed. */
  applyConfig(
    integration: IntegrationConfig,
    sections: SectionConfig[],
    options?: { prune?: boolean },
  ): Promise<ApplyResult>;
  listIntegrations(): Promise<StoredIntegration[]>;
  getIntegration(name: string): Promise<StoredIntegration | undefined>;
  /** The decrypted literal password, when one was stored. */
  getIntegrationPassword(name: string): Promise<string | undefined>;
  listSections(integration?: string): Promise<StoredSection[]>;
  getSection(id: number): Promise<StoredSection | undefined>;
  /** Deletes a section with its runs, rejects, landed data and rollups; false when there was none. */
  deleteSection(id: number): Promise<boolean>;
  /** Deletes an integration with all its sections (as deleteSection); false when there was none. */
  deleteIntegration(name: string): Promise<boolean>;

  /** Moves a section's cursor (reset); null starts over. */
  setCursor(sectionId: number, cursor: string | null): Promise<void>;

  /** Takes the section's run lock, or returns false when another live process holds it. */
  acquireLock(sectionId: number, owner: LockOwner, ttlMs: number): Promise<boolean>;
  releaseLock(sectionId: number, owner: LockOwner): Promise<void>;

  startRun(sectionId: number, trigger: string): Promise<RunRecord>;
  /**
   * `acquireLock` and `startRun` in one step: the run, or undefined when another live process
   * holds the lock (a scheduler's tick with nothing new is mostly these calls: one is cheaper).
   */
  beginRun(
    sectionId: number,
    trigger: string,
    lock: { owner: LockOwner; ttlMs: number },
  ): Promise<RunRecord | undefined>;
  /** Ends a run; with `release`, releases that owner's lock of the section in the same step. */
  finishRun(
    runId: number,
    outcome: { status: 'succeeded' | 'failed'; error?: string; errorCode?: string },
    release?: LockOwner,
  ): Promise<RunRecord>;
  listRuns(filter: { sectionId?: number; limit?: number }): Promise<RunRecord[]>;
  getRun(id: number): Promise<RunRecord | undefined>;

  /**
   * Lands a batch: records, rejects, run counters and cursor in one transaction. A caller may
   * hand over the next batch of a run before this one settles: batches commit in call order, and
   * once one fails, the later ones of the same run fail without committing (so no cursor passes
   * rows that did not land). `finishRun` waits for the batches handed over.
   */
  commitBatch(batch: CommitBatch): Promise<CommitResult>;

  /**
   * Opens a batch whose records arrive in parts (`add`) and which then commits or aborts; it
   * takes its place among the batches handed over when its first part (or its commit) does.
   * Once opened, a batch must end in `commit` or `abort`.
   */
  openBatch(head: BatchHead): BatchStream;

  /**
   * Settles when a batch of the section opened now would take its parts as they come: a store
   * that holds the parts of the batch after a fold until the fold is done (so as to count them in
   * the tables the fold hands back) makes its reader wait here rather than read a whole batch
   * into memory meanwhile. Never rejects.
   */
  readyForBatch(sectionId: number): Promise<void>;

  /**
   * Lands pushed items: records, rejects, the section's totals and their endusers, companies and
   * rollups, all in one transaction (pushed data has no run whose end would fold it).
   */
  landPushed(batch: PushedBatch): Promise<CommitResult>;

  listRejects(filter: { sectionId: number; runId?: number; limit?: number }): Promise<RejectRow[]>;
  stats(): Promise<SectionStats[]>;
  close(): Promise<void>;
}
