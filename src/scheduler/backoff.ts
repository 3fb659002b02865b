import type { Schedule } from '../core/schedule.js';

/** Default first retry delay after a failed run: 1 minute. */
export const DEFAULT_BACKOFF_BASE_MS = 60_000;
/** Default longest retry delay: 1 hour (raised to the schedule's interval when that is longer). */
export const DEFAULT_BACKOFF_MAX_MS = 3_600_000;

/** The time between two scheduled runs, ms: the interval, or a day for `daily at HH:00`. */
export function scheduleIntervalMs(schedule: Schedule): number {
  return schedule.kind === 'interval' ? schedule.minutes * 60_000 : 86_400_000;
}

/**
 * How long to wait after the `failures`-th failed run in a row before trying again: base, 2x,
 * 4x, ... (1m, 2m, 4m, ... by default), capped at the larger of `maxMs` and the schedule's
 * interval: a section that keeps failing is still tried once an hour (a daily one once a day).
 */
export function backoffDelay(
  failures: number,
  schedule: Schedule,
  baseMs = DEFAULT_BACKOFF_BASE_MS,
  maxMs = DEFAULT_BACKOFF_MAX_MS,
): number {
  const cap = Math.max(maxMs, scheduleIntervalMs(schedule));
  // Past 2^40 the product is beyond any cap; bounding the exponent keeps it finite.
  const exponent = Math.min(Math.max(failures, 1) - 1, 40);
  return Math.min(cap, baseMs * 2 ** exponent);
}
