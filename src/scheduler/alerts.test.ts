import { describe, expect, it } from 'vitest';
import { alertsForRun, webhookFor } from './alerts.js';

const at = '2024-05-01T10:00:00.000Z';
const run = (status: 'succeeded' | 'failed' | 'skipped', rejected = 0, error?: string) => ({
  integration: 'product-db',
  section: 'clicks',
  status,
  runId: 7,
  rejected,
  ...(error !== undefined ? { error } : {}),
});

describe('alertsForRun', () => {
  it('raises section_failing on the first failure after a success only', () => {
    expect(alertsForRun(run('failed', 0, 'MySQL is down'), false, undefined, at)).toEqual([
      {
        event: 'section_failing',
        integration: 'product-db',
        section: 'clicks',
        runId: 7,
        error: 'MySQL is down',
        at,
      },
    ]);
    expect(alertsForRun(run('failed', 0, 'MySQL is down'), true, undefined, at)).toEqual([]);
  });

  it('raises section_recovered on the first success after failures only', () => {
    expect(alertsForRun(run('succeeded'), true, undefined, at)).toEqual([
      { event: 'section_recovered', integration: 'product-db', section: 'clicks', runId: 7, at },
    ]);
    expect(alertsForRun(run('succeeded'), false, undefined, at)).toEqual([]);
  });

  it('raises rejects_exceeded when a run rejects more rows than the threshold', () => {
    expect(alertsForRun(run('succeeded', 3), false, 3, at)).toEqual([]);
    expect(alertsForRun(run('succeeded', 4), false, 3, at)).toEqual([
      {
        event: 'rejects_exceeded',
        integration: 'product-db',
        section: 'clicks',
        runId: 7,
        rejected: 4,
        threshold: 3,
        at,
      },
    ]);
    expect(alertsForRun(run('succeeded', 1), false, 0, at).map((a) => a.event)).toEqual([
      'rejects_exceeded',
    ]);
    expect(alertsForRun(run('succeeded', 100), false, undefined, at)).toEqual([]);
  });

  it('raises nothing for a skipped run (another process held the section)', () => {
    expect(alertsForRun(run('skipped'), true, 0, at)).toEqual([]);
    expect(alertsForRun(run('skipped'), false, 0, at)).toEqual([]);
  });
});

describe('webhookFor', () => {
  it("uses the section's webhook over the integration's", () => {
    const integration = { alerts: { webhook: 'https://a.example/hook' } };
    expect(webhookFor(integration, {})).toBe('https://a.example/hook');
    expect(webhookFor(integration, { alerts: { webhook: 'https://b.example/hook' } })).toBe(
      'https://b.example/hook',
    );
    expect(webhookFor(integration, { alerts: { rejectThreshold: 2 } })).toBe(
      'https://a.example/hook',
    );
    expect(webhookFor({}, {})).toBeUndefined();
  });
});
