import { describe, expect, it } from 'vitest';
import { ACTIVITY_FIELDS, METRIC_FIELDS } from '../../src/core/ingest.js';
import type { ActivityRecord, MetricRecord } from '../../src/core/types.js';
import { PlanhatSink, parseRetryAfter } from '../../src/sink/planhat-sink.js';

/** The field names Planhat's analytics API documents (issue 4), pinned here on purpose. */
const DOCUMENTED_ACTIVITY = [
  'email',
  'externalId',
  'name',
  'companyExternalId',
  'action',
  'weight',
  'date',
  'info',
];
const DOCUMENTED_METRIC = ['dimensionId', 'value', 'externalId', 'model', 'date'];

const sink = new PlanhatSink({ baseUrl: 'https://analytics.planhat.com', token: 't0k' });

function activity(i: number, extra: Partial<ActivityRecord> = {}): ActivityRecord {
  return {
    rowId: `r${i}`,
    key: String(i),
    email: `u${i}@x.io`,
    weight: 1,
    date: '2024-03-01T09:00:00.000Z',
    ...extra,
  };
}

describe('Planhat request bodies', () => {
  it('sends activities with the documented field names, absent targets absent, info as an object', () => {
    const [body] = sink.encode('activities', [
      activity(1, {
        externalId: 'u-1',
        name: 'Ann',
        companyExternalId: 'acme',
        action: 'login',
        weight: 3,
        info: '{"plan":"pro"}',
      }),
      activity(2),
    ]);
    expect(JSON.parse(body ?? '')).toEqual([
      {
        email: 'u1@x.io',
        externalId: 'u-1',
        name: 'Ann',
        companyExternalId: 'acme',
        action: 'login',
        weight: 3,
        date: '2024-03-01T09:00:00.000Z',
        info: { plan: 'pro' },
      },
      { email: 'u2@x.io', weight: 1, date: '2024-03-01T09:00:00.000Z' },
    ]);
  });

  it('sends metric points with the documented field names (EndUser as Planhat spells it)', () => {
    const records: MetricRecord[] = [
      {
        rowId: 'r1',
        key: '1',
        model: 'Enduser',
        externalId: 'u-1',
        dimensionId: 'seats',
        value: 2.5,
        date: '2024-03-01T00:00:00.000Z',
      },
    ];
    const [body] = sink.encode('metrics', records);
    const items = JSON.parse(body ?? '') as Record<string, unknown>[];
    expect(items).toEqual([
      {
        dimensionId: 'seats',
        value: 2.5,
        externalId: 'u-1',
        model: 'EndUser',
        date: '2024-03-01T00:00:00.000Z',
      },
    ]);
    expect(Object.keys(items[0] ?? {}).sort()).toEqual([...DOCUMENTED_METRIC].sort());
  });

  it('uses only names the Sluice ingest API (our Planhat-compatible receiver) accepts', () => {
    for (const f of DOCUMENTED_ACTIVITY) expect(ACTIVITY_FIELDS).toContain(f);
    for (const f of DOCUMENTED_METRIC) expect(METRIC_FIELDS).toContain(f);
  });

  it('splits a batch into bodies under the size limit, in order, none lost', () => {
    const small = new PlanhatSink({ baseUrl: 'http://h', token: 't', maxBodyBytes: 1000 });
    const records = Array.from({ length: 100 }, (_, i) => activity(i));
    const bodies = small.encode('activities', records);
    expect(bodies.length).toBeGreaterThan(5);
    for (const b of bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(1000);
    const emails = bodies.flatMap((b) =>
      (JSON.parse(b) as { email: string }[]).map((a) => a.email),
    );
    expect(emails).toEqual(records.map((r) => r.email));
  });

  it('keeps the default body limit under the documented 32 MB', () => {
    const big = 'x'.repeat(1024 * 1024);
    const records = Array.from({ length: 40 }, (_, i) => activity(i, { name: big }));
    const bodies = sink.encode('activities', records);
    expect(bodies).toHaveLength(2);
    for (const b of bodies) expect(Buffer.byteLength(b)).toBeLessThan(32 * 1024 * 1024);
  });

  it('posts to the documented paths, and logs them with the token redacted', () => {
    expect(sink.redactedUrl('activities')).toBe('https://analytics.planhat.com/analytics/bulk/***');
    expect(sink.redactedUrl('metrics')).toBe('https://analytics.planhat.com/dimensiondata/***');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2024-03-01T09:00:00Z');
    expect(parseRetryAfter('Fri, 01 Mar 2024 09:00:05 GMT', now)).toBe(5000);
  });
});
