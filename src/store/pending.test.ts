import { describe, expect, it } from 'vitest';
import type { ActivityRecord, MetricRecord } from '../core/types.js';
import { Pending, SeenSet, foldRows } from './pending.js';
import { RollupBatch } from './sqlite-rollups.js';
import { PackedStrings, type PackedTable } from './seen-table.js';

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

function click(n: number, day: number, externalId = 'u1', action = 'click'): ActivityRecord {
  return {
    rowId: String(n),
    key: String(n),
    externalId,
    action,
    weight: 1,
    date: `2024-01-${String(day).padStart(2, '0')}T00:00:00.000Z`,
  };
}

describe('Pending.due', () => {
  const every = { rows: 100, entries: 10, days: 3, bytes: 1e9 };

  it('is due once the rollups hold `days` days of an action, before the other limits', () => {
    const pending = new Pending(new SeenSet(), new RollupBatch(1), 0);
    pending.activity(click(1, 1));
    pending.activity(click(2, 2));
    // Two days and one enduser: nothing is due.
    expect(pending.due(every)).toBe(false);
    pending.activity(click(3, 2));
    expect(pending.due(every)).toBe(false);
    pending.activity(click(4, 3));
    expect([pending.rollup.entries, pending.entries, pending.rows]).toEqual([3, 4, 4]);
    expect(pending.due(every)).toBe(true);
  });

  it('is due at `entries` distinct endusers, companies and days, or at `rows` rows', () => {
    const byCompany = new Pending(new SeenSet(), new RollupBatch(1), 0);
    // Five companies: five entries. Metric points hold no day entries (see SqliteBatchWriter).
    for (let n = 1; n <= 5; n++) byCompany.metric(point(n, n, `c${n}`));
    expect([byCompany.rollup.entries, byCompany.entries]).toEqual([0, 5]);
    expect(byCompany.due({ ...every, entries: 6 })).toBe(false);
    expect(byCompany.due({ ...every, entries: 5 })).toBe(true);
    const byRows = new Pending(new SeenSet(), new RollupBatch(1), 0);
    for (let n = 1; n <= 100; n++) byRows.metric(point(n, 1));
    expect(byRows.due({ ...every, days: 100, entries: 100 })).toBe(true);
    expect(byRows.due({ ...every, days: 100, entries: 100, rows: 101 })).toBe(false);
  });
});

describe('Pending.due by bytes', () => {
  it('is due once the endusers and companies take `bytes`, whatever their number', () => {
    const pending = new Pending(new SeenSet(), new RollupBatch(1), 0);
    pending.activity(click(1, 1, 'u'.repeat(1_000)));
    const one = pending.seen.bytes;
    expect(one).toBeGreaterThan(1_000);
    const every = { rows: 100, entries: 100, days: 100, bytes: one * 3 };
    pending.activity(click(2, 1, 'v'.repeat(1_000)));
    expect(pending.due(every)).toBe(false);
    pending.activity(click(3, 1, 'w'.repeat(1_000)));
    expect([pending.entries, pending.due(every)]).toEqual([4, true]);
  });
});

describe('foldRows', () => {
  it("gives every upsert's rows in the order of its table's key", () => {
    const pending = new Pending(new SeenSet(), new RollupBatch(7), 0);
    const activities: [string | undefined, string | undefined, string, number][] = [
      ['u2', 'b@x.io', 'view', 3],
      [undefined, 'z@x.io', 'click', 1],
      ['u10', undefined, 'view', 1],
      ['u1', 'a@x.io', 'click', 2],
      [undefined, 'c@x.io', 'view', 2],
      ['u2', undefined, 'buy', 1],
    ];
    activities.forEach(([externalId, email, action, day], n) => {
      const r: ActivityRecord = {
        rowId: String(n),
        key: String(n),
        action,
        weight: 1,
        date: `2024-01-0${day}T00:00:00.000Z`,
      };
      if (externalId !== undefined) r.externalId = externalId;
      if (email !== undefined) r.email = email;
      pending.activity(r);
    });
    for (const [n, company, day] of [
      [1, 'c2', 2],
      [2, 'c1', 3],
      [3, 'c1', 1],
    ] as const) {
      pending.metric(point(n, day, company));
    }
    const rows = foldRows(pending);
    expect(keys(rows.endusers)).toEqual(['e:c@x.io', 'e:z@x.io', 'x:u1', 'x:u10', 'x:u2']);
    expect(keys(rows.companies)).toEqual(['c1', 'c2']);
    expect(rows.actionDays.map((d) => `${d[0]} ${d[1]}`)).toEqual([
      'buy 2024-01-01',
      'click 2024-01-01',
      'click 2024-01-02',
      'view 2024-01-01',
      'view 2024-01-02',
      'view 2024-01-03',
    ]);
    // The actions by bit, in the order they came; each enduser's as a mask.
    expect(rows.actions).toEqual(['view', 'click', 'buy']);
    const strings = new PackedStrings(rows.endusers);
    const actionsOf = [...rows.endusers.order].map((r) => {
      const bits = rows.endusers.bits[r] as number;
      const of = rows.actions.filter((_, b) => (bits & (1 << b)) !== 0);
      return `${String(strings.get(r, 0))} ${of.join(',')}`;
    });
    expect(actionsOf).toEqual([
      'e:c@x.io view',
      'e:z@x.io click',
      'x:u1 click',
      'x:u10 view',
      'x:u2 view,buy',
    ]);
    expect(rows.moreActions).toEqual([]);
  });

  it('keeps the actions past the 31 with bits beside the masks', () => {
    const pending = new Pending(new SeenSet(), new RollupBatch(1), 0);
    for (let n = 0; n < 33; n++) pending.activity(click(n, 1, n < 31 ? 'u1' : 'u2', `a${n}`));
    pending.activity(click(33, 1, 'u2', 'a32'));
    pending.activity(click(34, 1, 'u1', 'a32'));
    const rows = foldRows(pending);
    expect(rows.actions).toHaveLength(31);
    const strings = new PackedStrings(rows.endusers);
    expect(rows.moreActions.map(([r, a]) => `${String(strings.get(r, 0))} ${a}`)).toEqual([
      'x:u2 a31',
      'x:u2 a32',
      'x:u1 a32',
    ]);
  });
});

/** A packed table's keys, in its order. */
function keys(table: PackedTable): string[] {
  const strings = new PackedStrings(table);
  return [...table.order].map((r) => strings.get(r, 0) as string);
}
