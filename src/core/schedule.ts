/**
 * "Run once in": how often a section syncs. `every 5m|10m|30m|1h` or `daily at HH:00`
 * (any hour 00-23), the choices of the seed brief.
 */
export type Schedule =
  { kind: 'interval'; minutes: 5 | 10 | 30 | 60 } | { kind: 'daily'; hour: number };

const INTERVALS: Record<string, 5 | 10 | 30 | 60> = {
  '5m': 5,
  '10m': 10,
  '30m': 30,
  '1h': 60,
  '60m': 60,
};

export type ScheduleResult = { ok: true; schedule: Schedule } | { ok: false; error: string };

export function parseSchedule(input: string): ScheduleResult {
  const text = input.trim().toLowerCase().replace(/\s+/g, ' ');
  const every = /^every (\S+)$/.exec(text);
  if (every) {
    const minutes = INTERVALS[every[1] ?? ''];
    if (minutes !== undefined) return { ok: true, schedule: { kind: 'interval', minutes } };
  }
  const daily = /^daily at (\d{1,2}):00$/.exec(text);
  if (daily) {
    const hour = Number(daily[1]);
    if (hour >= 0 && hour <= 23) return { ok: true, schedule: { kind: 'daily', hour } };
  }
  return {
    ok: false,
    error: `"${input}" is not a schedule: use every 5m, every 10m, every 30m, every 1h or daily at HH:00 (00-23)`,
  };
}

/** Canonical text of a schedule: what export prints. */
export function formatSchedule(s: Schedule): string {
  if (s.kind === 'daily') return `daily at ${String(s.hour).padStart(2, '0')}:00`;
  return s.minutes === 60 ? 'every 1h' : `every ${s.minutes}m`;
}

/**
 * The first run time strictly after `after`. Intervals align to the clock (every 5m runs at :00,
 * :05, ...) so restarts keep the same ticks; daily runs at the hour in `timeZone` (IANA name).
 */
export function nextRun(s: Schedule, after: Date, timeZone = 'UTC'): Date {
  if (s.kind === 'interval') {
    const step = s.minutes * 60_000;
    return new Date((Math.floor(after.getTime() / step) + 1) * step);
  }
  // Walk day by day from the local date of `after`; DST shifts only move the UTC instant.
  const local = zonedParts(after, timeZone);
  for (let dayOffset = 0; dayOffset <= 2; dayOffset++) {
    const candidate = zonedTimeToUtc(
      local.year,
      local.month,
      local.day + dayOffset,
      s.hour,
      timeZone,
    );
    if (candidate.getTime() > after.getTime()) return candidate;
  }
  throw new Error('unreachable: a daily schedule always has a run within two days');
}

function zonedParts(date: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(date);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** The UTC instant at which the wall clock in `timeZone` shows the given local time. */
function zonedTimeToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  timeZone: string,
): Date {
  const guess = Date.UTC(year, month - 1, day, hour);
  // Two passes settle the offset, also across a DST change on that day.
  let utc = guess;
  for (let i = 0; i < 2; i++) {
    const p = zonedParts(new Date(utc), timeZone);
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    utc += guess - shown;
  }
  return new Date(utc);
}
