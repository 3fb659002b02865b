/**
 * When runs happen. One small port with two implementations planned: in-process timers (the
 * embedded default, `inprocess-scheduler.ts`) and BullMQ on Redis for many workers (later).
 */

/** What the scheduler knows of one section, for the UI, the API and /metrics. */
export interface SectionSchedule {
  sectionId: number;
  /**
   * `active`: on and receiving, waiting for its next tick; `running`: a run is going now;
   * `backoff`: the last runs failed, the next attempt is delayed; `off`: direction off or
   * integration off.
   */
  state: 'active' | 'running' | 'backoff' | 'off';
  /** ISO-8601 UTC; null when off. */
  nextRunAt: string | null;
  lastRunAt: string | null;
  /** Consecutive failed runs (0 when the last run succeeded). */
  failures: number;
  /** The error of the last failed run; null when the last run succeeded. */
  lastError: string | null;
}

export interface Scheduler {
  /** Loads sections and their persisted schedule state, and starts ticking. */
  start(): Promise<void>;
  /** Stops scheduling new runs and waits for running ones to end after their current batch. */
  stop(): Promise<void>;
  /** Runs a section as soon as it is free (a manual run or re-sync); resolves once it is queued. */
  trigger(sectionId: number, trigger: string): Promise<void>;
  /** Re-reads integrations and sections after a config change (apply, UI save, toggle). */
  refresh(): Promise<void>;
  /** The current state of every section it knows. */
  status(): SectionSchedule[];
}
