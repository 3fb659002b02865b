import { describe, expect, it } from 'vitest';
import type { MetricRecord } from '../core/types.js';
import { Pending, SeenSet } from './pending.js';
import { Rollups } from './sqlite-rollups.js';

function point(n: number, day: number, company = 'acme'): MetricRecord {
  return {
    rowId: String(n),
    key: String(n),
    model: 'Company',
    externalId: company,
    dimensionId: 'seats',
    value: n,
    date: `2024-01-${String(day).padStart(2, '0')}T00:00:00.000Z`,
  };
}

describe('Pending.due', () => {
  const every = { rows: 100, entries: 10, days: 3 };

  it('is due once the rollups hold `days` days, before the other limits', () => {
    const pending = new Pending(new SeenSet(), new Rollups().batch(1), 0);
    pending.metric(point(1, 1));
    pending.metric(point(2, 2));
    // Two days and one company: nothing is due.
    expect(pending.due(every)).toBe(false);
    pending.metric(point(3, 2));
    expect(pending.due(every)).toBe(false);
    pending.metric(point(4, 3));
    expect([pending.rollup.entries, pending.entries, pending.rows]).toEqual([3, 4, 4]);
    expect(pending.due(every)).toBe(true);
  });

  it('is due at `entries` distinct endusers, companies and days, or at `rows` rows', () => {
    const byCompany = new Pending(new SeenSet(), new Rollups().batch(1), 0);
    // Five companies on one day: five companies and five (object, day) entries.
    for (let n = 1; n <= 5; n++) byCompany.metric(point(n, 1, `c${n}`));
    expect(byCompany.due({ ...every, days: 100 })).toBe(true);
    const byRows = new Pending(new SeenSet(), new Rollups().batch(1), 0);
    for (let n = 1; n <= 100; n++) byRows.metric(point(n, 1));
    expect(byRows.due({ ...every, days: 100, entries: 100 })).toBe(true);
    expect(byRows.due({ ...every, days: 100, entries: 100, rows: 101 })).toBe(false);
  });
});
