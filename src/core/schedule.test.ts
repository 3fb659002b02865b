import { describe, expect, it } from 'vitest';
import { formatSchedule, nextRun, parseSchedule, type Schedule } from './schedule.js';

function parsed(text: string): Schedule {
  const r = parseSchedule(text);
  if (!r.ok) throw new Error(r.error);
  return r.schedule;
}

const at = (iso: string) => new Date(iso);
const next = (text: string, after: string, tz?: string) =>
  nextRun(parsed(text), at(after), tz).toISOString();

describe('parseSchedule', () => {
  it.each([
    ['every 5m', 5],
    ['every 10m', 10],
    ['every 30m', 30],
    ['every 1h', 60],
  ] as const)('parses %s as an interval of %i minutes', (text, minutes) => {
    expect(parseSchedule(text)).toEqual({ ok: true, schedule: { kind: 'interval', minutes } });
  });

  it('parses every hour from 00:00 to 23:00 as a daily schedule', () => {
    for (let hour = 0; hour <= 23; hour++) {
      const text = `daily at ${String(hour).padStart(2, '0')}:00`;
      expect(parseSchedule(text), text).toEqual({ ok: true, schedule: { kind: 'daily', hour } });
    }
  });

  it('tolerates case and extra spaces', () => {
    expect(parsed('  Every   5M ')).toEqual({ kind: 'interval', minutes: 5 });
    expect(parsed('DAILY at 7:00')).toEqual({ kind: 'daily', hour: 7 });
  });

  it.each([
    'every 7m',
    'every 2h',
    'every 0m',
    'every',
    'daily at 24:00',
    'daily at 07:30',
    'daily at 7',
    'daily',
    'hourly',
    '*/5 * * * *',
    '',
  ])('refuses %j, listing the choices', (text) => {
    const r = parseSchedule(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain(`"${text}"`);
      expect(r.error).toContain('every 5m');
      expect(r.error).toContain('daily at HH:00');
    }
  });
});

describe('formatSchedule', () => {
  it('prints the canonical text that parses back to the same schedule', () => {
    for (const text of [
      'every 5m',
      'every 10m',
      'every 30m',
      'every 1h',
      'daily at 00:00',
      'daily at 23:00',
    ]) {
      expect(formatSchedule(parsed(text))).toBe(text);
    }
    expect(formatSchedule(parsed('every 60m'))).toBe('every 1h');
    expect(formatSchedule(parsed('daily at 7:00'))).toBe('daily at 07:00');
  });
});

describe('nextRun: intervals align to the clock', () => {
  it('runs every 5m at the next multiple of five minutes', () => {
    expect(next('every 5m', '2026-01-15T10:03:12Z')).toBe('2026-01-15T10:05:00.000Z');
  });

  it('runs strictly after a tick it is exactly on', () => {
    expect(next('every 5m', '2026-01-15T10:05:00Z')).toBe('2026-01-15T10:10:00.000Z');
    expect(next('every 5m', '2026-01-15T10:04:59.999Z')).toBe('2026-01-15T10:05:00.000Z');
  });

  it('aligns 10m, 30m and 1h ticks', () => {
    expect(next('every 10m', '2026-01-15T10:03:12Z')).toBe('2026-01-15T10:10:00.000Z');
    expect(next('every 30m', '2026-01-15T10:03:12Z')).toBe('2026-01-15T10:30:00.000Z');
    expect(next('every 30m', '2026-01-15T10:30:00Z')).toBe('2026-01-15T11:00:00.000Z');
    expect(next('every 1h', '2026-01-15T10:03:12Z')).toBe('2026-01-15T11:00:00.000Z');
  });

  it('crosses midnight and the end of the year', () => {
    expect(next('every 1h', '2026-12-31T23:59:59Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('every 5m', '2026-12-31T23:57:00Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('gives the same ticks from any instant within one step (restarts keep the rhythm)', () => {
    const ticks = new Set(
      ['10:00:00.001', '10:01:00', '10:02:30', '10:04:59'].map((t) =>
        next('every 5m', `2026-01-15T${t}Z`),
      ),
    );
    expect([...ticks]).toEqual(['2026-01-15T10:05:00.000Z']);
  });
});

describe('nextRun: daily', () => {
  it('runs later today when the hour is still ahead, in UTC by default', () => {
    expect(next('daily at 06:00', '2026-01-15T05:59:59Z')).toBe('2026-01-15T06:00:00.000Z');
  });

  it('runs tomorrow when the hour has passed or is now', () => {
    expect(next('daily at 06:00', '2026-01-15T06:00:00Z')).toBe('2026-01-16T06:00:00.000Z');
    expect(next('daily at 06:00', '2026-01-15T18:00:00Z')).toBe('2026-01-16T06:00:00.000Z');
  });

  it('runs at midnight and at 23:00, and crosses a month end', () => {
    expect(next('daily at 00:00', '2026-01-31T12:00:00Z')).toBe('2026-02-01T00:00:00.000Z');
    expect(next('daily at 23:00', '2026-02-28T23:30:00Z')).toBe('2026-03-01T23:00:00.000Z');
  });

  it('runs at the hour of the wall clock in Europe/Stockholm, winter and summer', () => {
    // CET is UTC+1, CEST is UTC+2.
    expect(next('daily at 06:00', '2026-01-15T00:00:00Z', 'Europe/Stockholm')).toBe(
      '2026-01-15T05:00:00.000Z',
    );
    expect(next('daily at 06:00', '2026-07-15T00:00:00Z', 'Europe/Stockholm')).toBe(
      '2026-07-15T04:00:00.000Z',
    );
  });

  it('uses the local date, not the UTC date, to decide between today and tomorrow', () => {
    // 23:30Z on Jan 15 is already 00:30 on Jan 16 in Stockholm: 06:00 local on the 16th is next.
    expect(next('daily at 06:00', '2026-01-15T23:30:00Z', 'Europe/Stockholm')).toBe(
      '2026-01-16T05:00:00.000Z',
    );
    // 02:00Z on Jan 16 is still 21:00 on Jan 15 in New York: 22:00 local on the 15th is next.
    expect(next('daily at 22:00', '2026-01-16T02:00:00Z', 'America/New_York')).toBe(
      '2026-01-16T03:00:00.000Z',
    );
  });

  it('follows the spring-forward day in Stockholm (2026-03-29)', () => {
    const tz = 'Europe/Stockholm';
    // Midnight is still CET on the change day; 06:00 is already CEST.
    expect(next('daily at 00:00', '2026-03-28T12:00:00Z', tz)).toBe('2026-03-28T23:00:00.000Z');
    expect(next('daily at 06:00', '2026-03-28T12:00:00Z', tz)).toBe('2026-03-29T04:00:00.000Z');
    expect(next('daily at 03:00', '2026-03-28T12:00:00Z', tz)).toBe('2026-03-29T01:00:00.000Z');
    // 02:00 does not exist that day (02:00 CET -> 03:00 CEST): run when the gap ends.
    expect(next('daily at 02:00', '2026-03-28T12:00:00Z', tz)).toBe('2026-03-29T01:00:00.000Z');
    // The day before and the day after keep their own offsets.
    expect(next('daily at 06:00', '2026-03-27T12:00:00Z', tz)).toBe('2026-03-28T05:00:00.000Z');
    expect(next('daily at 06:00', '2026-03-29T12:00:00Z', tz)).toBe('2026-03-30T04:00:00.000Z');
  });

  it('follows the fall-back day in New York (2026-11-01)', () => {
    const tz = 'America/New_York';
    // EDT is UTC-4 until 02:00 local on Nov 1, EST UTC-5 after.
    expect(next('daily at 00:00', '2026-10-31T12:00:00Z', tz)).toBe('2026-11-01T04:00:00.000Z');
    expect(next('daily at 09:00', '2026-10-31T12:00:00Z', tz)).toBe('2026-10-31T13:00:00.000Z');
    expect(next('daily at 09:00', '2026-10-31T14:00:00Z', tz)).toBe('2026-11-01T14:00:00.000Z');
    // 01:00 happens twice that day: run once, at the first.
    expect(next('daily at 01:00', '2026-10-31T12:00:00Z', tz)).toBe('2026-11-01T05:00:00.000Z');
    expect(next('daily at 09:00', '2026-11-01T14:00:00Z', tz)).toBe('2026-11-02T14:00:00.000Z');
  });

  it('runs exactly once per local day across a DST change', () => {
    const s = parsed('daily at 09:00');
    let t = at('2026-10-29T00:00:00Z');
    const runs: string[] = [];
    for (let i = 0; i < 5; i++) {
      t = nextRun(s, t, 'America/New_York');
      runs.push(t.toISOString());
    }
    expect(runs).toEqual([
      '2026-10-29T13:00:00.000Z',
      '2026-10-30T13:00:00.000Z',
      '2026-10-31T13:00:00.000Z',
      '2026-11-01T14:00:00.000Z',
      '2026-11-02T14:00:00.000Z',
    ]);
  });

  it('ignores the time zone for intervals', () => {
    expect(next('every 30m', '2026-01-15T10:03:12Z', 'Asia/Kolkata')).toBe(
      '2026-01-15T10:30:00.000Z',
    );
  });
});
