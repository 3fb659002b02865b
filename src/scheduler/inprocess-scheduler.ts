/**
 * The embedded scheduler: in-process timers over the engine. One timer for the next wake-up
 * (never one per section), unref'd so it never keeps a process alive on its own; the schedule
 * state that must survive a restart (next run, failures) is saved in the store's database.
 *
 * Rules, per section (see `Scheduler` for the port):
 * - It runs when it is due and its direction is `receive` in an enabled integration. The first
 *   time the scheduler sees it on (a new section, or the first start after an upgrade) it is due
 *   at once; after that, at the first tick of its schedule after the start of its last run.
 * - One run at a time: a tick or a trigger that comes while it runs makes it run again right
 *   after, once (however many ticks passed).
 * - A failed run delays the next attempt by a backoff (1m, 2m, 4m, ... capped at 1h or the
 *   interval) instead of the schedule; the first success resets it.
 * - Turned off (refresh after the toggle, or the section deleted): the run going on is aborted,
 *   which stops it after the batch it is landing.
 * - `stop()` aborts every run the same way and waits for them. A run cut short by `stop()` keeps
 *   its due time in the store, so the next start runs it again at once: no run is lost, and
 *   since next_run_at only moves when a run ends, none is doubled.
 */
import { SluiceError } from '../core/errors.js';
import { nextRun, parseSchedule, type Schedule } from '../core/schedule.js';
import type { Engine, SectionResult } from '../engine/engine.js';
import type { ScheduleState, ScheduleStore } from '../store/schedule-store.js';
import type { Store, StoredIntegration, StoredSection } from '../store/store.js';
import { alertsForRun, createWebhookSender, webhookFor, type AlertSender } from './alerts.js';
import { backoffDelay } from './backoff.js';
import type { Scheduler, SectionSchedule } from './scheduler.js';

/** The part of the Engine the scheduler calls. */
export type SectionRunner = Pick<Engine, 'runSection'>;

/** Options of {@link createInProcessScheduler}. */
export interface InProcessSchedulerOptions {
  store: Pick<Store, 'listIntegrations' | 'listSections'>;
  /** Where next run, failures and last error survive a restart (`openScheduleStore(store)`). */
  scheduleStore: ScheduleStore;
  engine: SectionRunner;
  /** IANA time zone of `daily at HH:00` schedules; default `UTC`. */
  timeZone?: string;
  /** The clock; default the system clock. Tests inject one (with `timers: false` and `tick()`). */
  now?: () => Date;
  /** Structured events: backoff, alerts, state that could not be saved. */
  log?: (event: Record<string, unknown>) => void;
  /** Delivers alerts; default: webhooks by global fetch (5 s timeout, one retry). */
  alerts?: AlertSender;
  /** Called after every finished run, with what started it (`schedule`, or the trigger's name). */
  onRun?: (result: SectionResult, trigger: string) => void;
  /** Schedule only the sections this accepts (`sluice sync --integration`); default all. */
  include?: (section: StoredSection) => boolean;
  /** First retry delay after a failed run, ms; default 60000, doubled per failure. */
  backoffBaseMs?: number;
  /** Longest retry delay, ms; default 3600000 (raised to the schedule's interval when longer). */
  backoffMaxMs?: number;
  /** Arm real timers; default true. False: only `tick()` starts due runs (tests with a fake clock). */
  timers?: boolean;
}

/** The in-process scheduler, with two test hooks beside the `Scheduler` port. */
export interface InProcessScheduler extends Scheduler {
  /** Starts the runs that are due by the clock now, as the timer would. */
  tick(): Promise<void>;
  /** Resolves when no run is going and every alert is delivered (or given up). */
  idle(): Promise<void>;
}

/** Longest single sleep: a wake-up at least this often re-reads the clock (it may have jumped). */
const MAX_SLEEP_MS = 3_600_000;

interface Running {
  trigger: string;
  startedAt: Date;
  abort: AbortController;
}

interface Entry {
  section: StoredSection;
  integration: StoredIntegration;
  schedule: Schedule;
  /** Why the section does not run (integration or direction off); undefined when it is on. */
  offReason: string | undefined;
  /** The state as last saved; `saved` is false until the section's first save. */
  state: ScheduleState;
  saved: boolean;
  /** When it is next due (ms since the epoch), in memory; null when off. */
  nextRunAt: number | null;
  run: Running | undefined;
  /** A trigger that came while it ran: run again right after, once. */
  queued: string | undefined;
}

/** Creates the embedded scheduler; nothing runs before `start()`. */
export function createInProcessScheduler(options: InProcessSchedulerOptions): InProcessScheduler {
  return new InProcessSchedulerImpl(options);
}

class InProcessSchedulerImpl implements InProcessScheduler {
  readonly #store: InProcessSchedulerOptions['store'];
  readonly #scheduleStore: ScheduleStore;
  readonly #engine: SectionRunner;
  readonly #timeZone: string;
  readonly #now: () => Date;
  readonly #log: (event: Record<string, unknown>) => void;
  readonly #alerts: AlertSender;
  readonly #onRun: InProcessSchedulerOptions['onRun'];
  readonly #include: InProcessSchedulerOptions['include'];
  readonly #backoffBaseMs: number | undefined;
  readonly #backoffMaxMs: number | undefined;
  readonly #timers: boolean;

  readonly #entries = new Map<number, Entry>();
  /** Promises of runs going on (each also saves its state and queues its alerts). */
  readonly #inflight = new Set<Promise<void>>();
  /** Alerts go out one after another, in the order runs raised them. */
  #delivery: Promise<void> = Promise.resolve();
  /** Loads (start, refresh) run one at a time. */
  #loading: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  constructor(options: InProcessSchedulerOptions) {
    this.#timeZone = options.timeZone ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: this.#timeZone });
    } catch {
      throw new SluiceError(
        'CONFIG_INVALID',
        `time zone "${this.#timeZone}" is not an IANA time zone name (like UTC or Europe/Berlin)`,
      );
    }
    this.#store = options.store;
    this.#scheduleStore = options.scheduleStore;
    this.#engine = options.engine;
    this.#now = options.now ?? (() => new Date());
    this.#log = options.log ?? (() => undefined);
    this.#alerts = options.alerts ?? createWebhookSender({ log: this.#log });
    this.#onRun = options.onRun;
    this.#include = options.include;
    this.#backoffBaseMs = options.backoffBaseMs;
    this.#backoffMaxMs = options.backoffMaxMs;
    this.#timers = options.timers ?? true;
  }

  async start(): Promise<void> {
    if (this.#stopped) throw shuttingDown();
    await this.#serialLoad();
    this.#started = true;
    this.#wake();
  }

  async refresh(): Promise<void> {
    await this.#serialLoad();
    this.#wake();
  }

  async trigger(sectionId: number, trigger: string): Promise<void> {
    if (this.#stopped) throw shuttingDown();
    let entry = this.#entries.get(sectionId);
    if (entry === undefined) {
      // Saved a moment ago (UI, apply) and not refreshed yet.
      await this.#serialLoad();
      entry = this.#entries.get(sectionId);
    }
    if (entry === undefined) {
      throw new SluiceError('NOT_FOUND', `section ${sectionId} does not exist`, { sectionId });
    }
    if (entry.offReason !== undefined) {
      throw new SluiceError(
        'SECTION_OFF',
        `section "${entry.section.name}" cannot run: ${entry.offReason}`,
        { sectionId, section: entry.section.name },
      );
    }
    if (this.#stopped) throw shuttingDown();
    if (entry.run !== undefined) {
      entry.queued = trigger;
      return;
    }
    this.#launch(entry, trigger);
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const entry of this.#entries.values()) {
      entry.queued = undefined;
      entry.run?.abort.abort();
    }
    await this.#loading;
    await this.idle();
  }

  status(): SectionSchedule[] {
    return [...this.#entries.values()]
      .sort((a, b) => a.section.id - b.section.id)
      .map((e) => ({
        sectionId: e.section.id,
        state:
          e.run !== undefined
            ? 'running'
            : e.offReason !== undefined
              ? 'off'
              : e.state.failures > 0
                ? 'backoff'
                : 'active',
        nextRunAt: e.offReason !== undefined ? null : iso(e.nextRunAt),
        lastRunAt: e.state.lastRunAt,
        failures: e.state.failures,
        lastError: e.state.lastError,
      }));
  }

  async tick(): Promise<void> {
    await this.#loading;
    this.#wake();
  }

  async idle(): Promise<void> {
    for (;;) {
      const delivery = this.#delivery;
      await Promise.all([...this.#inflight, delivery]);
      if (this.#inflight.size === 0 && this.#delivery === delivery) return;
    }
  }

  // --- loading ------------------------------------------------------------------------------

  #serialLoad(): Promise<void> {
    const next = this.#loading.then(() => this.#load());
    // A failed load fails its caller; the next one starts afresh.
    this.#loading = next.catch(() => undefined);
    return next;
  }

  /** Reads integrations, sections and saved state; adds, updates and drops entries. */
  async #load(): Promise<void> {
    const [integrations, sections, saved] = await Promise.all([
      this.#store.listIntegrations(),
      this.#store.listSections(),
      this.#scheduleStore.list(),
    ]);
    const integrationByName = new Map(integrations.map((i) => [i.name, i]));
    const savedById = new Map(saved.map((s) => [s.sectionId, s]));
    const now = this.#now();
    const seen = new Set<number>();
    const writes: Entry[] = [];

    for (const section of sections) {
      const integration = integrationByName.get(section.integration);
      if (integration === undefined) continue;
      if (this.#include !== undefined && !this.#include(section)) continue;
      const parsed = parseSchedule(section.schedule);
      if (!parsed.ok) {
        // applyConfig validates schedules, so only a hand-edited store gets here.
        this.#log({
          level: 'error',
          event: 'schedule_invalid',
          section: section.name,
          error: parsed.error,
        });
        continue;
      }
      seen.add(section.id);
      const offReason = !integration.enabled
        ? `integration "${integration.name}" is off`
        : section.direction !== 'receive'
          ? 'its direction is off (not syncing)'
          : undefined;

      let entry = this.#entries.get(section.id);
      if (entry === undefined) {
        const state = savedById.get(section.id);
        entry = {
          section,
          integration,
          schedule: parsed.schedule,
          offReason,
          state: state ?? freshState(section),
          saved: state !== undefined,
          nextRunAt: null,
          run: undefined,
          queued: undefined,
        };
        this.#entries.set(section.id, entry);
        if (offReason === undefined) {
          const due = state?.nextRunAt ?? null;
          entry.nextRunAt =
            state === undefined
              ? now.getTime() // never scheduled: its first run is now
              : due !== null && state.schedule === section.schedule
                ? Date.parse(due) // where the last process left it, passed or not
                : this.#nextTick(parsed.schedule, now);
        }
      } else {
        const wasOn = entry.offReason === undefined;
        const scheduleChanged = entry.section.schedule !== section.schedule;
        Object.assign(entry, { section, integration, schedule: parsed.schedule, offReason });
        if (offReason !== undefined) {
          if (wasOn) {
            // The engine stops after the batch it is landing.
            entry.run?.abort.abort();
            entry.queued = undefined;
          }
          entry.nextRunAt = null;
        } else if (!entry.saved) {
          entry.nextRunAt = now.getTime();
        } else if (!wasOn || (scheduleChanged && entry.state.failures === 0)) {
          entry.nextRunAt = this.#nextTick(parsed.schedule, now);
        }
      }
      // A running section saves when its run ends: its saved due time must outlive a crash.
      if (
        entry.run === undefined &&
        (entry.saved || offReason === undefined) &&
        (entry.state.nextRunAt !== iso(entry.nextRunAt) ||
          entry.state.schedule !== section.schedule)
      ) {
        writes.push(entry);
      }
    }

    for (const [id, entry] of this.#entries) {
      if (seen.has(id)) continue;
      // Deleted (its saved state went with it) or no longer included.
      entry.run?.abort.abort();
      entry.queued = undefined;
      this.#entries.delete(id);
    }

    for (const entry of writes) {
      await this.#save(entry, {
        ...entry.state,
        schedule: entry.section.schedule,
        nextRunAt: iso(entry.nextRunAt),
      });
    }
  }

  // --- running ------------------------------------------------------------------------------

  /** Starts the due runs and sets the timer for the next one. */
  #wake(): void {
    if (!this.#started || this.#stopped) return;
    const now = this.#now().getTime();
    for (const entry of this.#entries.values()) {
      if (entry.offReason !== undefined || entry.run !== undefined || entry.nextRunAt === null)
        continue;
      if (entry.nextRunAt <= now) this.#launch(entry, 'schedule');
    }
    this.#arm();
  }

  /** One timer, for the earliest due time of the sections not running now. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#timers || !this.#started || this.#stopped) return;
    let earliest = Infinity;
    for (const e of this.#entries.values()) {
      if (e.offReason === undefined && e.run === undefined && e.nextRunAt !== null)
        earliest = Math.min(earliest, e.nextRunAt);
    }
    if (earliest === Infinity) return;
    const delay = Math.min(Math.max(0, earliest - this.#now().getTime()), MAX_SLEEP_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wake();
    }, delay);
    this.#timer.unref();
  }

  #launch(entry: Entry, trigger: string): void {
    const running: Running = { trigger, startedAt: this.#now(), abort: new AbortController() };
    entry.run = running;
    entry.queued = undefined;
    // The first tick after this start: if it passes while the run goes on, the section runs
    // again as soon as this run ends, once however many ticks passed.
    entry.nextRunAt = this.#nextTick(entry.schedule, running.startedAt);
    const done = this.#execute(entry, running);
    this.#inflight.add(done);
    void done.finally(() => this.#inflight.delete(done));
  }

  /** Runs the section, saves what happened, raises its alerts; never rejects. */
  async #execute(entry: Entry, running: Running): Promise<void> {
    let result: SectionResult;
    try {
      result = await this.#engine.runSection(entry.section, {
        trigger: running.trigger,
        signal: running.abort.signal,
      });
    } catch (err) {
      // The engine reports failed runs in its result; a throw means the store failed before a
      // run was recorded. It counts as a failure all the same.
      result = failedBeforeRun(entry.section, err, running.startedAt, this.#now());
    }
    try {
      await this.#finish(entry, running, result);
    } catch (err) {
      this.#log({
        level: 'error',
        event: 'schedule_save_failed',
        section: entry.section.name,
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      entry.run = undefined;
      try {
        this.#onRun?.(result, running.trigger);
      } catch (err) {
        this.#log({ level: 'error', event: 'on_run_failed', error: String(err) });
      }
      if (!this.#stopped && this.#entries.get(entry.section.id) === entry) {
        if (entry.queued !== undefined && entry.offReason === undefined)
          this.#launch(entry, entry.queued);
        this.#wake();
      }
    }
  }

  async #finish(entry: Entry, running: Running, result: SectionResult): Promise<void> {
    const finishedAt = this.#now();
    const at = finishedAt.toISOString();
    const before = entry.state;
    const state: ScheduleState = { ...before, schedule: entry.section.schedule };
    if (result.status === 'failed') {
      state.failures = before.failures + 1;
      state.lastError = result.error ?? 'failed';
      state.failingSince = before.failingSince ?? at;
      const delay = backoffDelay(
        state.failures,
        entry.schedule,
        this.#backoffBaseMs,
        this.#backoffMaxMs,
      );
      entry.nextRunAt = finishedAt.getTime() + delay;
      this.#log({
        level: 'warn',
        event: 'backoff',
        integration: entry.integration.name,
        section: entry.section.name,
        failures: state.failures,
        nextRunAt: iso(entry.nextRunAt),
        error: state.lastError,
      });
    } else if (result.status === 'succeeded') {
      state.failures = 0;
      state.lastError = null;
      state.failingSince = null;
    }
    // Skipped (another process holds the section): nothing ran; try again at the next tick.
    if (result.status !== 'skipped') state.lastRunAt = running.startedAt.toISOString();
    if (entry.offReason !== undefined) entry.nextRunAt = null;
    // Cut short by stop(): it did not catch up, so its saved due time stays for the next start.
    const cutShort = this.#stopped && running.abort.signal.aborted;
    state.nextRunAt = cutShort ? before.nextRunAt : iso(entry.nextRunAt);

    if (this.#entries.get(entry.section.id) === entry) await this.#save(entry, state);
    else entry.state = state;

    const alerts = alertsForRun(
      result,
      before.failingSince !== null,
      entry.section.alerts?.rejectThreshold,
      at,
    );
    const url = webhookFor(entry.integration, entry.section);
    for (const alert of alerts) {
      this.#log({
        level: alert.event === 'section_recovered' ? 'info' : 'warn',
        event: 'alert',
        alert: alert.event,
        integration: alert.integration,
        section: alert.section,
        webhook: url !== undefined,
      });
      if (url === undefined) continue;
      this.#delivery = this.#delivery
        .then(() => this.#alerts.send(url, alert))
        .then(
          () => undefined,
          (err: unknown) =>
            this.#log({
              level: 'error',
              event: 'alert_failed',
              alert: alert.event,
              error: String(err),
            }),
        );
    }
  }

  async #save(entry: Entry, state: ScheduleState): Promise<void> {
    await this.#scheduleStore.save(state);
    entry.state = state;
    entry.saved = true;
  }

  #nextTick(schedule: Schedule, after: Date): number {
    return nextRun(schedule, after, this.#timeZone).getTime();
  }
}

function freshState(section: StoredSection): ScheduleState {
  return {
    sectionId: section.id,
    schedule: section.schedule,
    nextRunAt: null,
    lastRunAt: null,
    failures: 0,
    lastError: null,
    failingSince: null,
  };
}

function failedBeforeRun(
  section: StoredSection,
  err: unknown,
  startedAt: Date,
  now: Date,
): SectionResult {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    integration: section.integration,
    section: section.name,
    sectionId: section.id,
    dataType: section.dataType,
    status: 'failed',
    rowsRead: 0,
    landed: 0,
    rejected: 0,
    cursor: section.cursor,
    durationMs: now.getTime() - startedAt.getTime(),
    runId: null,
    error: err instanceof Error ? err.message : String(err),
    errorCode: typeof code === 'string' ? code : 'INTERNAL',
    warnings: [],
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function shuttingDown(): SluiceError {
  return new SluiceError('SHUTTING_DOWN', 'the scheduler is stopping and starts no new run');
}
