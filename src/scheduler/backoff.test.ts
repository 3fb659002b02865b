import { describe, expect, it } from 'vitest';
import type { Schedule } from '../core/schedule.js';
import { backoffDelay, scheduleIntervalMs } from './backoff.js';

const every5m: Schedule = { kind: 'interval', minutes: 5 };
const daily: Schedule = { kind: 'daily', hour: 2 };
const MIN = 60_000;

describe('backoffDelay', () => {
  it('doubles from one minute per failure in a row', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, every5m) / MIN)).toEqual([1, 2, 4, 8, 16]);
  });

  it('caps at one hour for schedules shorter than that', () => {
    expect(backoffDelay(7, every5m)).toBe(60 * MIN);
    expect(backoffDelay(1000, every5m)).toBe(60 * MIN);
  });

  it('caps at the interval when it is longer than an hour (daily schedules)', () => {
    expect(backoffDelay(11, daily)).toBe(1024 * MIN);
    expect(backoffDelay(12, daily)).toBe(24 * 60 * MIN);
  });

  it('takes its base and cap from the options', () => {
    expect(backoffDelay(3, every5m, 50, 1_000)).toBe(200);
    expect(backoffDelay(30, every5m, 50, 1_000)).toBe(scheduleIntervalMs(every5m));
  });
});
