/**
 * What the scheduler persists per section so a restart picks up the schedule where it was. A
 * small port beside the Store: it lives in the same database (and, on SQLite, shares its
 * connection), and deleting a section deletes its schedule state.
 */

/** The persisted schedule state of one section. Dates are ISO-8601 UTC. */
export interface ScheduleState {
  sectionId: number;
  /** The schedule text `nextRunAt` was computed for; a different one means it is stale. */
  schedule: string;
  /** When the section is next due; null while it is off. */
  nextRunAt: string | null;
  /** When the last finished run started; null before the first. */
  lastRunAt: string | null;
  /** Consecutive failed runs; 0 after a success. */
  failures: number;
  /** The error of the last failed run; null after a success. */
  lastError: string | null;
  /**
   * When the current run of failures began: set by the first failure after a success (the
   * moment a `section_failing` alert goes out), cleared by the next success.
   */
  failingSince: string | null;
}

export interface ScheduleStore {
  /** Every section's saved state (sections never scheduled have none). */
  list(): Promise<ScheduleState[]>;
  /** Saves (inserts or replaces) a section's state; a section deleted meanwhile is skipped. */
  save(state: ScheduleState): Promise<void>;
}
