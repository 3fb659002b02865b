import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { SluiceError, isSluiceError } from '../core/errors.js';
import { keyMinus, keyPosition } from '../core/keys.js';
import { compileMapper, newRowIdCarry, type Mapper, type RowIdCarry } from '../core/mapping.js';
import { planSection } from '../core/plan.js';
import type {
  ActivityRecord,
  MetricRecord,
  ReadPlan,
  RejectRecord,
  RunRecord,
  SourceRow,
} from '../core/types.js';
import { deliverOutbox, type DeliveryOptions } from '../sink/deliver.js';
import { PlanhatSink } from '../sink/planhat-sink.js';
import type { Sink } from '../sink/sink.js';
import type { Source } from '../source/source.js';
import type { OutboxStore } from '../store/outbox-store.js';
import type {
  BatchTail,
  CommitResult,
  LockOwner,
  Store,
  StoredIntegration,
  StoredSection,
} from '../store/store.js';

/** Opens a Source for an integration (the composition root resolves the password). */
export type SourceConnector = (integration: StoredIntegration) => Promise<Source>;

export interface Progress {
  section: string;
  rowsRead: number;
  landed: number;
  rejected: number;
  cursor: string | null;
  /** 0..1 through the key range from the run's first key to the table's newest, when known. */
  fraction: number | null;
  rowsPerSec: number;
}

export interface RunOptions {
  /** What started the run: `cli`, `schedule`, `api`, ... (kept on the run record). */
  trigger?: string;
  /** Called after every batch. Asking for progress costs one MAX(key) query per run. */
  onProgress?: (p: Progress) => void;
  /**
   * Aborting ends the run after the batch being landed (turning an integration off, shutting
   * down): the cursor stays at that batch and the run is logged as succeeded, having stopped early.
   */
  signal?: AbortSignal;
}

/** What one run of a section did: the run record plus the section it belongs to. */
export interface SectionResult {
  integration: string;
  section: string;
  sectionId: number;
  dataType: 'activities' | 'metrics';
  status: 'succeeded' | 'failed' | 'skipped';
  rowsRead: number;
  landed: number;
  rejected: number;
  /** The cursor after the run, as MySQL prints the key. */
  cursor: string | null;
  durationMs: number;
  runId: number | null;
  /** For failed runs: the message and its code; for skipped ones, why. */
  error?: string;
  errorCode?: string;
  warnings: string[];
}

export interface EngineOptions {
  store: Store;
  connect: SourceConnector;
  /** Attempts per read on transient MySQL errors (lost connection, timeout); default 3. */
  readAttempts?: number;
  /** First retry delay in ms, doubled per attempt; default 500. */
  retryDelayMs?: number;
  /** How long a run lock lasts without a heartbeat, ms; default 120000. Renewed by every batch. */
  lockTtlMs?: number;
  log?: (event: Record<string, unknown>) => void;
  /** The outbox of sections with a Planhat sink; such a section fails without one. */
  outbox?: OutboxStore;
  /** Looks up an environment variable (a sink's `tokenEnv`); the composition root reads the env. */
  env?: (name: string) => string | undefined;
  /** Retry and size limits of sink delivery (see deliverOutbox); `maxBodyBytes` caps a request body. */
  delivery?: Omit<DeliveryOptions, 'log' | 'target'> & { maxBodyBytes?: number };
}

/** A section's sink for this run: where its outbox goes. */
interface ActiveSink {
  sink: Sink;
  outbox: OutboxStore;
  /** The run's abort signal: delivery stops retrying once it fires. */
  signal: AbortSignal | undefined;
  /** The records land in the store as well (sink `both`). */
  alsoInStore: boolean;
  target: string;
  /** The delivery asked for last: deliveries run one after another (see deliverInTurn). */
  turn: Promise<void>;
}

interface CachedPlan {
  updatedAt: string;
  plan: ReadPlan;
  mapper: Mapper;
  warnings: string[];
}

/**
 * Runs sections: keyset batches from MySQL, mapped, landed with their cursor in one commit.
 * Holds one Source per integration and the read plan per section, so a tick with nothing new
 * costs one indexed query and a few small store writes.
 */
export class Engine {
  readonly owner: LockOwner;
  private readonly sources = new Map<string, Promise<Source>>();
  private readonly plans = new Map<number, CachedPlan>();
  private readonly readAttempts: number;
  private readonly retryDelayMs: number;
  private readonly lockTtlMs: number;

  constructor(private readonly options: EngineOptions) {
    this.owner = {
      id: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
      host: hostname(),
      pid: process.pid,
    };
    this.readAttempts = options.readAttempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.lockTtlMs = options.lockTtlMs ?? 120_000;
  }

  /** Runs every receiving section of every enabled integration (or the named ones) until caught up. */
  async runAll(
    filter: { integration?: string; section?: string } = {},
    options: RunOptions = {},
  ): Promise<SectionResult[]> {
    const integrations = new Map(
      (await this.options.store.listIntegrations()).map((i) => [i.name, i]),
    );
    const sections = (await this.options.store.listSections(filter.integration)).filter(
      (s) => filter.section === undefined || s.name === filter.section,
    );
    if (filter.section !== undefined && sections.length === 0) {
      throw new SluiceError(
        'NOT_FOUND',
        `no section named "${filter.section}"${filter.integration ? ` in integration "${filter.integration}"` : ''}`,
      );
    }
    const results: SectionResult[] = [];
    for (const section of sections) {
      const integration = integrations.get(section.integration);
      if (!integration) continue;
      const why = !integration.enabled
        ? `integration "${integration.name}" is off`
        : section.direction !== 'receive'
          ? 'direction is off (not syncing)'
          : undefined;
      if (why !== undefined) {
        if (filter.section !== undefined) results.push(skipped(section, why));
        continue;
      }
      results.push(await this.runSection(section, options));
    }
    return results;
  }

  /** Runs one section until it has caught up; never throws for a failed run (see the result). */
  async runSection(section: StoredSection, options: RunOptions = {}): Promise<SectionResult> {
    const { store } = this.options;
    const started = Date.now();
    const peek = this.peek(section);
    // One turn of the event loop: the pool hands the peek its connection and the query leaves
    // before the store's synchronous start of the run.
    if (peek !== undefined) await new Promise((resolve) => setImmediate(resolve));
    const begun = await store.beginRun(section.id, options.trigger ?? 'cli', {
      owner: this.owner,
      ttlMs: this.lockTtlMs,
    });
    if (begun === undefined) {
      await peek?.rows;
      return {
        ...skipped(section, 'another process is running this section'),
        errorCode: 'SECTION_LOCKED',
      };
    }
    let run: RunRecord = begun;
    let warnings: string[] = [];
    // The run's end releases the lock with it; when ending it failed, the lock is released alone.
    let released = false;
    try {
      try {
        const integration = await store.getIntegration(section.integration);
        if (!integration)
          throw new SluiceError('NOT_FOUND', `integration "${section.integration}" is gone`);
        const source = await this.source(integration);
        const cached = await this.plan(section, source, integration.mysql.database);
        warnings = cached.warnings;
        const sink = await this.sinkOf(section, options.signal);
        // Leftovers of an earlier run go first: the outbox is delivered in order.
        if (sink) await this.deliver(section, sink);
        // Nothing after the cursor the run began at (as MySQL answered the peek): caught up.
        const idle = peek !== undefined && peek.after === run.cursor && (await peek.rows) === 0;
        if (!idle) await this.catchUp(section, run, source, cached, options, started, sink);
        run = await store.finishRun(run.id, { status: 'succeeded' }, this.owner);
        released = true;
      } catch (err) {
        const e = asSluiceError(err);
        // A lost connection or dropped table invalidates what we cached about this source.
        this.plans.delete(section.id);
        if (e.code.startsWith('MYSQL_')) await this.dropSource(section.integration);
        run = await store.finishRun(
          run.id,
          { status: 'failed', error: e.message, errorCode: e.code },
          this.owner,
        );
        released = true;
        this.options.log?.({
          level: 'error',
          event: 'run_failed',
          section: section.name,
          code: e.code,
          error: e.message,
        });
      }
    } finally {
      if (!released) await store.releaseLock(section.id, this.owner);
    }
    const result: SectionResult = {
      integration: section.integration,
      section: section.name,
      sectionId: section.id,
      dataType: section.dataType,
      status: run.status === 'failed' ? 'failed' : 'succeeded',
      rowsRead: run.rowsRead,
      landed: run.landed,
      rejected: run.rejected,
      cursor: run.cursor,
      durationMs: Date.now() - started,
      runId: run.id,
      warnings,
    };
    if (run.error !== null) result.error = run.error;
    if (run.errorCode !== null) result.errorCode = run.errorCode;
    this.options.log?.({ level: 'info', event: 'run', ...result });
    return result;
  }

  /** The batch loop (see streamBatches), from the cursor or the lookback window behind it. */
  private async catchUp(
    section: StoredSection,
    run: RunRecord,
    source: Source,
    { plan, mapper }: CachedPlan,
    options: RunOptions,
    started: number,
    sink: ActiveSink | undefined,
  ): Promise<void> {
    // beginRun read the cursor under the lock: the section object may be older than that.
    const cursor = run.cursor;
    let after = cursor;
    if (cursor !== null && section.lookback !== undefined) {
      after = keyMinus(plan.keyKind, plan.keyScale, cursor, section.lookback);
    }
    const progress = options.onProgress
      ? await this.progressTracker(section, plan, source, after, started, options.onProgress)
      : undefined;
    const totals: Totals = {
      rowsRead: 0,
      landed: 0,
      rejected: 0,
      commits: new CommitPipeline(commitsInFlight(section.batchSize)),
    };
    await this.streamBatches(
      { section, run, source, plan, mapper, totals, sink },
      after,
      options,
      progress,
    );
  }

  /**
   * The whole group of `lastKey` (a full batch ended in it), paged by the one-column identity and
   * committed without moving the cursor until the last page. Rows of the group that the batch
   * landed come again: the rows whose ids are in `landed` are left out (the store would land
   * each row id once anyway, a sink would send it again).
   */
  private async landTiePages(
    parts: RunParts,
    lastKey: string,
    landed: ReadonlySet<string>,
  ): Promise<void> {
    const { section, source, plan, mapper } = parts;
    const idIndex = plan.columns.indexOf(plan.identity[0] as string);
    let afterIdentity: string | null = null;
    for (;;) {
      const page = await this.read(() =>
        source.readTies(plan, lastKey, { afterIdentity, limit: section.batchSize }),
      );
      const done = page.length < section.batchSize;
      const rest = notLanded(mapper, page, landed);
      await this.land(parts, rest, done ? lastKey : undefined, lastKey, lastKey);
      if (done) return;
      const last = page[page.length - 1]?.[idIndex];
      afterIdentity = Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
    }
  }

  /**
   * The batch loop: each batch streams into the store (and a sink's outbox) while MySQL sends it
   * (see streamBatch), and the next is read while the store commits it. A full batch of a key
   * with ties leaves the cursor where it was until its last key's group is in.
   */
  private async streamBatches(
    streamed: RunParts,
    after: string | null,
    options: RunOptions,
    progress: ((t: Totals, lastKey: string) => void) | undefined,
  ): Promise<void> {
    const { section, totals } = streamed;
    await totals.commits.around(async () => {
      for (let first = true; ; first = false) {
        if (options.signal?.aborted) break;
        const read = await this.streamBatch(streamed, after, first);
        if (read === undefined) break;
        const full = read.rows === section.batchSize;
        if (full && !streamed.plan.keyUnique) {
          await this.landTies(streamed, read.lastKey, read.lastGroup);
        }
        after = read.lastKey;
        progress?.(totals, read.lastKey);
        if (!full) break;
      }
    });
  }

  /**
   * After a streamed full batch of a key with ties: the group of its last key, in pages by a
   * one-column identity, or at once by a wider one. The batch's rows of that group (`group`) are
   * left out: landed again, they would be skipped, and a batch that skips rows has the section's
   * counts read back from the store (every row landed since the last fold, at every boundary).
   */
  private async landTies(parts: RunParts, lastKey: string, group: SourceRow[]): Promise<void> {
    const { source, plan, mapper } = parts;
    // Identical rows (a table numbering them) share the key: the group's rows are numbered as
    // the batch numbered them, and the rows of the group read again go on from there.
    const carry = newRowIdCarry();
    const landed = new Set(mapper.rowIds(group, carry));
    if (plan.identityKind !== null && plan.identity.length === 1) {
      await this.landTiePages(parts, lastKey, landed);
      return;
    }
    const ties = notLanded(mapper, await this.read(() => source.readTies(plan, lastKey)), landed);
    await this.land(parts, ties, lastKey, lastKey, lastKey, carry);
  }

  /**
   * One batch, streamed: each part of the keyset read is mapped and handed to the store (or
   * encoded for a sink's outbox) as MySQL sends it, so no row lives longer than its part (the
   * batch commits once read). A read that fails drops what was handed over and is retried like
   * any read. Undefined when nothing was left to read.
   */
  private async streamBatch(
    parts: RunParts,
    after: string | null,
    /** Whether this is the run's first batch (else `after` is the last key of the one before). */
    first: boolean,
  ): Promise<{ rows: number; lastKey: string; lastGroup: SourceRow[] } | undefined> {
    const { section, source, plan, mapper } = parts;
    const { store } = this.options;
    for (let attempt = 1; ; attempt++) {
      // After a batch that carries a fold, the store holds the next one's parts until the fold is
      // done: reading meanwhile would keep a whole batch of records alive long enough for V8 to
      // promote them (about 8 MiB a fold on a table of 300,000 endusers, all of it garbage soon).
      await store.readyForBatch(section.id);
      const batch = outlet(store, parts);
      const now = new Date().toISOString();
      const rejects: RejectRecord[] = [];
      // The batch's parts number identical rows as one (a table without a unique key or identity).
      const carry = newRowIdCarry();
      let firstKey: string | undefined;
      let lastKey: string | undefined;
      /** The rows read so far that share the last key (a key with ties only). */
      let lastGroup: SourceRow[] = [];
      let rows: number;
      try {
        rows = await source.streamAfter(plan, after, section.batchSize, PART_ROWS, (part) => {
          firstKey ??= part[0]?.[0] as string;
          const key = part[part.length - 1]?.[0] as string;
          if (!plan.keyUnique) {
            // Keys come in order: the part's rows of its last key are at its end, and continue
            // the group of the part before when that ended in the same key.
            if (key !== lastKey) lastGroup = [];
            let i = part.length;
            while (i > 0 && part[i - 1]?.[0] === key) i--;
            for (let k = i; k < part.length; k++) lastGroup.push(part[k] as SourceRow);
          }
          lastKey = key;
          const mapped = mapper.map(part, now, carry);
          for (const reject of mapped.rejects) rejects.push(reject);
          batch.add(mapped.records);
        });
      } catch (err) {
        await batch.abort();
        const e = asSluiceError(err);
        if (!e.transient || attempt >= this.readAttempts) throw e;
        await this.retryPause(e, attempt);
        continue;
      }
      if (rows === 0 || firstKey === undefined || lastKey === undefined) {
        if (first || after === null) {
          await batch.abort();
          return undefined;
        }
        // The batch before was full and the run learns here that it was its last: an empty
        // batch ends the run, and the store folds what it counted in that commit, on the
        // writer behind the batches still committing, rather than in finishRun once they have
        // (the benchmark's million rows end this way: their fold 0.4 s).
        const { commit, queued } = batch.commit({
          rejects,
          cursor: undefined,
          rowsRead: 0,
          keyFrom: after,
          keyTo: after,
          lease: this.lease(),
          last: true,
        });
        await this.handOver(parts, 0, commit, queued);
        return undefined;
      }
      const full = rows === section.batchSize;
      const { commit, queued } = batch.commit({
        rejects,
        // A full batch of a key with ties: the cursor moves once the last key's group is in.
        cursor: full && !plan.keyUnique ? undefined : lastKey,
        rowsRead: rows,
        keyFrom: firstKey,
        keyTo: lastKey,
        lease: this.lease(),
        // A batch short of the limit is the run's last (streamBatches stops after it).
        ...(full ? {} : { last: true as const }),
      });
      await this.handOver(parts, rows, commit, queued);
      return { rows, lastKey, lastGroup };
    }
  }

  /** The run lock renewed by a commit, in its own transaction rather than a write of its own. */
  private lease(): { owner: string; expiresAt: string } {
    return { owner: this.owner.id, expiresAt: new Date(Date.now() + this.lockTtlMs).toISOString() };
  }

  /**
   * Maps rows read apart from a streamed batch (a tie group, the batch's own rows of it left out
   * by the caller) and commits them as a batch.
   */
  private async land(
    parts: RunParts,
    rows: SourceRow[],
    cursor: string | undefined,
    keyFrom: string,
    keyTo: string,
    /** Where the numbering of identical rows goes on from (see landTies). */
    carry?: RowIdCarry,
  ): Promise<void> {
    const now = new Date().toISOString();
    const { records, rejects } =
      rows.length > 0 ? parts.mapper.map(rows, now, carry) : { records: [], rejects: [] };
    const batch = outlet(this.options.store, parts);
    batch.add(records);
    const rowsRead = rows.length;
    const { commit, queued } = batch.commit({
      rejects,
      cursor,
      rowsRead,
      keyFrom,
      keyTo,
      lease: this.lease(),
    });
    await this.handOver(parts, rowsRead, commit, queued);
  }

  /**
   * Takes a batch handed to the store into the run's pipeline: the store commits batches in
   * order while the run reads and maps the next one. Once committed, the batch is counted (the
   * accounting keeps numbers only, so its rows are garbage once mapped) and, when it queued
   * bodies in a sink's outbox, the outbox is delivered, one delivery at a time.
   */
  private async handOver(
    { section, totals, sink }: RunParts,
    rowsRead: number,
    commit: Promise<CommitResult>,
    queued: boolean,
  ): Promise<void> {
    await totals.commits.add(async () => {
      account(totals, rowsRead, await commit);
      if (sink !== undefined && queued) await this.deliverInTurn(section, sink);
    }, commit);
  }

  /** The section's sink, with its token resolved; undefined when it lands in the store alone. */
  private async sinkOf(
    section: StoredSection,
    signal: AbortSignal | undefined,
  ): Promise<ActiveSink | undefined> {
    const config = section.sink?.planhat;
    if (section.sink === undefined || section.sink.type === 'store' || config === undefined) {
      return undefined;
    }
    const at = `section "${section.name}": sink.planhat`;
    const { outbox } = this.options;
    if (!outbox) {
      throw new SluiceError('SINK_UNAVAILABLE', `${at}: this process has no outbox store`);
    }
    let token: string | undefined;
    if (config.tokenEnv !== undefined) {
      token = this.options.env?.(config.tokenEnv);
      if (token === undefined || token === '') {
        throw new SluiceError(
          'SINK_UNAVAILABLE',
          `${at}.tokenEnv: the environment variable ${config.tokenEnv} is not set`,
        );
      }
    } else {
      token = await outbox.sinkToken(section.id);
      if (token === undefined) {
        throw new SluiceError('SINK_UNAVAILABLE', `${at}: no tenant token is stored`);
      }
    }
    const { maxBodyBytes } = this.options.delivery ?? {};
    const sink = new PlanhatSink({
      baseUrl: config.baseUrl,
      token,
      ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    });
    return {
      sink,
      outbox,
      signal,
      alsoInStore: section.sink.type === 'both',
      target: sink.redactedUrl(section.dataType),
      turn: Promise.resolve(),
    };
  }

  /**
   * Delivers the section's outbox once the deliveries asked for before have settled: a run's
   * batches commit while the one before is being delivered, and two deliveries at once would
   * send the same entries twice.
   */
  private deliverInTurn(section: StoredSection, sink: ActiveSink): Promise<void> {
    // A delivery that failed fails the ones after it: they would only try its entry again.
    const turn = sink.turn.then(() => this.deliver(section, sink));
    sink.turn = turn;
    return turn;
  }

  /** Delivers the section's outbox (retrying per deliverOutbox); throws SINK_* when it cannot. */
  private async deliver(section: StoredSection, sink: ActiveSink): Promise<void> {
    const { maxBodyBytes: _, ...delivery } = this.options.delivery ?? {};
    const log = this.options.log;
    await deliverOutbox(sink.outbox, sink.sink, section.id, {
      ...delivery,
      target: sink.target,
      ...(sink.signal ? { signal: sink.signal } : {}),
      ...(log ? { log: (e: Record<string, unknown>) => log({ section: section.name, ...e }) } : {}),
    });
  }

  /** A read with retries on transient errors (lost connection, timeout), with doubling backoff. */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const e = asSluiceError(err);
        if (!e.transient || attempt >= this.readAttempts) throw e;
        await this.retryPause(e, attempt);
      }
    }
  }

  /** Logs a transient read error and waits before attempt `attempt + 1` (doubling backoff). */
  private async retryPause(e: SluiceError, attempt: number): Promise<void> {
    this.options.log?.({
      level: 'warn',
      event: 'read_retry',
      attempt,
      code: e.code,
      error: e.message,
    });
    await new Promise((r) => setTimeout(r, this.retryDelayMs * 2 ** (attempt - 1)));
  }

  private async progressTracker(
    section: StoredSection,
    plan: ReadPlan,
    source: Source,
    after: string | null,
    started: number,
    onProgress: (p: Progress) => void,
  ): Promise<(t: Totals, lastKey: string) => void> {
    const [min, max] = await Promise.all([source.minKey(plan, after), source.maxKey(plan)]);
    const lo = min === null ? null : keyPosition(plan.keyKind, min);
    const hi = max === null ? null : keyPosition(plan.keyKind, max);
    return (t, lastKey) => {
      const at = keyPosition(plan.keyKind, lastKey);
      const fraction =
        lo === null || hi === null
          ? null
          : hi <= lo
            ? 1
            : Math.min(1, Math.max(0, (at - lo) / (hi - lo)));
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      onProgress({
        section: section.name,
        ...t,
        cursor: lastKey,
        fraction,
        rowsPerSec: t.rowsRead / seconds,
      });
    };
  }

  /**
   * For a section this engine has read before (its source and plan cached, no lookback): how
   * many rows MySQL has after the section's cursor as it was listed (0 or 1), asked before the run
   * begins, so that the round trip of a tick with nothing new overlaps the store's start of the
   * run instead of following it. The run uses the answer only when it began at that cursor (read
   * under its lock); -1 when the peek failed (the run then reads, and meets the error itself).
   */
  private peek(
    section: StoredSection,
  ): { after: string | null; rows: Promise<number> } | undefined {
    if (section.lookback !== undefined) return undefined;
    const cached = this.plans.get(section.id);
    const source = this.sources.get(section.integration);
    if (cached === undefined || cached.updatedAt !== section.updatedAt || source === undefined) {
      return undefined;
    }
    const after = section.cursor;
    const rows = source
      .then((s) => s.streamAfter(cached.plan, after, 1, 1, () => undefined))
      .catch(() => -1);
    return { after, rows };
  }

  private async plan(
    section: StoredSection,
    source: Source,
    database: string,
  ): Promise<CachedPlan> {
    const cached = this.plans.get(section.id);
    if (cached && cached.updatedAt === section.updatedAt) return cached;
    const table = await this.read(() => source.describeTable(section.table));
    const { plan, errors, warnings } = planSection(section, table, database);
    if (!plan) {
      const missing = errors.some((e) => e.code === 'table_missing' || e.code === 'column_missing');
      throw new SluiceError(
        missing ? 'MYSQL_TABLE_MISSING' : 'SECTION_INVALID',
        errors.map((e) => e.message).join('; '),
        {
          issues: errors,
        },
      );
    }
    const entry = {
      updatedAt: section.updatedAt,
      plan,
      mapper: compileMapper(section, plan),
      warnings: warnings.map((w) => w.message),
    };
    this.plans.set(section.id, entry);
    return entry;
  }

  private source(integration: StoredIntegration): Promise<Source> {
    let source = this.sources.get(integration.name);
    if (!source) {
      source = this.options.connect(integration);
      this.sources.set(integration.name, source);
      source.catch(() => this.sources.delete(integration.name));
    }
    return source;
  }

  private async dropSource(name: string): Promise<void> {
    const source = this.sources.get(name);
    this.sources.delete(name);
    await source?.then((s) => s.close()).catch(() => undefined);
  }

  /** Closes every MySQL connection the engine opened. */
  async close(): Promise<void> {
    await Promise.all([...this.sources.keys()].map((name) => this.dropSource(name)));
  }
}

/** What the batches of a run share. */
interface RunParts {
  section: StoredSection;
  run: RunRecord;
  source: Source;
  plan: ReadPlan;
  mapper: Mapper;
  totals: Totals;
  /** Where the section delivers besides (or instead of) the store. */
  sink: ActiveSink | undefined;
}

/**
 * A run's next batch, opened in the store, and its way out: its records go to the store's batch
 * (unless a sink takes them alone) and, with a sink, are encoded for its outbox as they come; the
 * bodies commit with the batch.
 */
function outlet(
  store: Store,
  { section, run, sink }: RunParts,
): {
  add(records: ActivityRecord[] | MetricRecord[]): void;
  commit(tail: BatchTail): { commit: Promise<CommitResult>; queued: boolean };
  abort(): Promise<void>;
} {
  const batch = store.openBatch({
    sectionId: section.id,
    runId: run.id,
    dataType: section.dataType,
  });
  const encoder = sink?.sink.encoder(section.dataType);
  const toStore = sink === undefined || sink.alsoInStore;
  let encoded = 0;
  return {
    add(records) {
      if (toStore) batch.add(records);
      if (encoder === undefined) return;
      encoder.add(records);
      encoded += records.length;
      for (const { body, chunks } of encoder.take(BODY_AHEAD_BYTES)) batch.addBody(body, chunks);
    },
    commit(tail) {
      if (sink === undefined || encoder === undefined)
        return { commit: batch.commit(tail), queued: false };
      const bodies = encoder.finish();
      const outbox = { bodies, records: encoded, alsoInStore: sink.alsoInStore };
      return { commit: batch.commit({ ...tail, outbox }), queued: bodies.length > 0 };
    },
    abort: () => batch.abort(),
  };
}

/**
 * Bytes of a batch's request bodies that wait for the store in the engine: past them, the chunks
 * go to the store as they fill (its writer spills them with the batch's records) rather than wait
 * whole for the commit, about 30 MB at 100,000 rows a batch (a Planhat sink at that size peaked
 * at 126-131 MiB with them waiting, 111-112 handed over).
 */
const BODY_AHEAD_BYTES = 256 * 1024;

interface Totals {
  rowsRead: number;
  landed: number;
  rejected: number;
  /** The run's batches handed to the store and not yet settled. */
  commits: CommitPipeline;
}

/** The rows whose ids (as `mapper` numbers these rows) are not in `landed`. */
function notLanded(mapper: Mapper, rows: SourceRow[], landed: ReadonlySet<string>): SourceRow[] {
  if (landed.size === 0) return rows;
  const ids = mapper.rowIds(rows);
  return rows.filter((_, i) => !landed.has(ids[i] as string));
}

/** Adds a committed batch to the run's totals. */
function account(totals: Totals, rowsRead: number, result: CommitResult): void {
  totals.rowsRead += rowsRead;
  totals.landed += result.landed;
  totals.rejected += result.rejected;
}

/**
 * Rows of a streamed batch mapped and handed to the store at a time: small enough to die young
 * (a whole 10,000-row batch outlived the young generation and was promoted: about 1 s of GC per
 * million rows), and a multiple of the writer's 32-row statements. 256 rather than 1,024: the
 * same speed, and less is in flight when a scavenge comes (peak RSS of the million-row sync
 * 142-148 MiB against 150-155 in alternating runs; 128 was no lower).
 */
const PART_ROWS = 256;

/**
 * Batches a run may have handed to the store before the oldest settles: one committing, one
 * waiting, while the next is read and mapped (the SQLite store commits in a writer thread); only
 * one once that would be more than IN_FLIGHT_ROWS rows. (Measured when a batch waited whole in
 * the writer until its commit, before large batches spilled to disk: at 100,000 rows a batch,
 * two of them peaked at 233-238 MiB and one at 215-218, in the same time.)
 */
const IN_FLIGHT_ROWS = 20_000;
function commitsInFlight(batchSize: number): number {
  return batchSize * 2 <= IN_FLIGHT_ROWS ? 2 : 1;
}

/**
 * A run's commits in flight, oldest first. Each is followed by its own accounting (`then`); the
 * first failure is kept and thrown by the next `add` or `drain`, and the store refuses the later
 * batches of a run whose batch failed, so no cursor moves past rows that did not land.
 */
class CommitPipeline {
  readonly #inFlight: Promise<void>[] = [];
  #failure: { error: unknown } | undefined;

  constructor(private readonly depth: number) {}

  /**
   * Takes a batch handed to the store (`commit`) and what follows it once committed (`then`),
   * waiting first while `depth` batches are in flight. Throws the first failure seen.
   */
  async add(then: () => Promise<void>, commit: Promise<unknown>): Promise<void> {
    // Settled through `then`; this keeps a failure from counting as unhandled meanwhile.
    commit.catch(() => undefined);
    this.#inFlight.push(
      then().catch((error: unknown) => {
        this.#failure ??= { error };
      }),
    );
    while (this.#inFlight.length > this.depth) await this.#inFlight.shift();
    this.#throwIfFailed();
  }

  /**
   * Runs a run's batch loop, then waits for its batches in flight. When the loop fails, the run
   * ends there: its batches settle before the failure is thrown, so nothing of the run is still
   * committing when it is logged.
   */
  async around(loop: () => Promise<void>): Promise<void> {
    try {
      await loop();
      await this.drain();
    } catch (err) {
      await this.settle();
      throw err;
    }
  }

  /** Waits for every batch in flight; throws the first failure. */
  async drain(): Promise<void> {
    while (this.#inFlight.length > 0) await this.#inFlight.shift();
    this.#throwIfFailed();
  }

  /** Waits for every batch in flight, whatever their outcome (the run failed already). */
  async settle(): Promise<void> {
    await Promise.all(this.#inFlight.splice(0));
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}

function skipped(section: StoredSection, why: string): SectionResult {
  return {
    integration: section.integration,
    section: section.name,
    sectionId: section.id,
    dataType: section.dataType,
    status: 'skipped',
    rowsRead: 0,
    landed: 0,
    rejected: 0,
    cursor: section.cursor,
    durationMs: 0,
    runId: null,
    error: why,
    warnings: [],
  };
}

function asSluiceError(err: unknown): SluiceError {
  if (isSluiceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const fromStore = typeof code === 'string' && code.startsWith('SQLITE_');
  return new SluiceError(fromStore ? 'STORE_FAILED' : 'INTERNAL', message, undefined, {
    cause: err,
  });
}
