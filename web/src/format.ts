/** Formatting shared by the pages: dates, numbers, durations, schedule labels. */
import { SCHEDULE_CHOICES } from '../../src/core/api';

const INTERVAL_LABELS: Record<string, string> = {
  'every 5m': '5 minutes',
  'every 10m': '10 minutes',
  'every 30m': '30 minutes',
  'every 1h': '1 hour',
};

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const number = new Intl.NumberFormat();
const shortDateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** A timestamp without the year when it is this year: for dense tables. */
export function formatDateTimeShort(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.getFullYear() === new Date().getFullYear()
    ? shortDateTime.format(d)
    : dateTime.format(d);
}

/** A timestamp as local date and time; an em dash when there is none. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

/**
 * The UTC day of a date, as a short date: the data module counts days in UTC (the charts' days,
 * the first and last dates of a metric), so a browser west of UTC must not show the day before.
 */
const utcDay = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  timeZone: 'UTC',
});

/** A day (`YYYY-MM-DD`) or a timestamp as its UTC day, like "Mar 1, 2025". */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  return Number.isNaN(d.getTime()) ? iso : utcDay.format(d);
}

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : number.format(n);
}

/** "in 4 min", "3 h ago": how far a timestamp is from now, for last and next run times. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const diff = t - now;
  const abs = Math.abs(diff);
  const unit =
    abs < 60_000
      ? `${Math.max(1, Math.round(abs / 1000))} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return diff >= 0 ? `in ${unit}` : `${unit} ago`;
}

/** Duration between two timestamps: "850 ms", "12.4 s", "3 min 5 s". */
export function formatDuration(
  from: string | null | undefined,
  to: string | null | undefined,
): string {
  if (!from || !to) return '—';
  const ms = new Date(to).getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The "Run once in" choices of the seed brief (the contract's list), with their labels. */
export const SCHEDULE_OPTIONS: { value: string; label: string }[] = SCHEDULE_CHOICES.map(
  (value) => {
    const daily = /^daily at (\d{2}):00$/.exec(value);
    if (daily) return { value, label: `Day at ${daily[1]}:00` };
    const every = INTERVAL_LABELS[value];
    return { value, label: every ?? value };
  },
);

/** Label of a schedule string, tolerant of spellings the API may return (`every 60m`). */
export function scheduleLabel(schedule: string): string {
  const normal = schedule
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace('every 60m', 'every 1h');
  return SCHEDULE_OPTIONS.find((o) => o.value === normal)?.label ?? schedule;
}

export const DATA_TYPE_LABELS: Record<string, string> = {
  activities: 'User activities',
  metrics: 'Custom metrics',
};

export const DIRECTION_LABELS: Record<string, string> = {
  receive: 'Receive from provider',
  off: 'Not syncing',
};

/**
 * A schedule as words for running text: "every 5 minutes", "daily at 02:00 UTC" (daily runs are
 * at the hour of the server's scheduler time zone, when known).
 */
export function scheduleSentence(schedule: string, timeZone?: string): string {
  const label = scheduleLabel(schedule);
  if (label.startsWith('Day at ')) {
    return `daily at ${label.slice(7)}${timeZone ? ` ${timeZone}` : ''}`;
  }
  return label === schedule ? schedule : `every ${label}`;
}
