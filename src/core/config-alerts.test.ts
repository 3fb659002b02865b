import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';

const doc = (integrationAlerts?: unknown, sectionAlerts?: unknown) => ({
  integration: {
    name: 'product-db',
    mysql: { host: 'db', user: 'u', database: 'app' },
    ...(integrationAlerts !== undefined ? { alerts: integrationAlerts } : {}),
  },
  sections: [
    {
      name: 'clicks',
      dataType: 'activities',
      table: 'events',
      key: 'id',
      mapping: { email: 'email' },
      ...(sectionAlerts !== undefined ? { alerts: sectionAlerts } : {}),
    },
  ],
});

describe('config: alerts', () => {
  it('reads an integration webhook and a section webhook and reject threshold', () => {
    const parsed = parseConfig(
      doc(
        { webhook: 'https://hooks.example.com/sluice' },
        { webhook: 'http://127.0.0.1:9000/x', rejectThreshold: 0 },
      ),
    );
    expect(parsed.ok).toBe(true);
    expect(parsed.config?.integration.alerts).toEqual({
      webhook: 'https://hooks.example.com/sluice',
    });
    expect(parsed.config?.sections[0]?.alerts).toEqual({
      webhook: 'http://127.0.0.1:9000/x',
      rejectThreshold: 0,
    });
  });

  it('leaves alerts absent when none is configured, also for an empty block', () => {
    const parsed = parseConfig(doc({}, {}));
    expect(parsed.ok).toBe(true);
    expect(parsed.config?.integration).not.toHaveProperty('alerts');
    expect(parsed.config?.sections[0]).not.toHaveProperty('alerts');
  });

  it('refuses a webhook that is not an http(s) URL, naming the field', () => {
    const parsed = parseConfig(doc({ webhook: 'hooks.example.com' }, { webhook: 'ftp://x/y' }));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((i) => [i.section, i.field])).toEqual([
      [undefined, 'integration.alerts.webhook'],
      ['clicks', 'alerts.webhook'],
    ]);
    expect(parsed.issues[0]?.message).toBe(
      'integration.alerts.webhook: "hooks.example.com" is not an http(s) URL (like https://hooks.example.com/sluice)',
    );
    expect(parsed.issues[1]?.message).toContain('section "clicks": alerts.webhook: "ftp://x/y"');
  });

  it('refuses a negative or fractional reject threshold and unknown alert fields', () => {
    for (const [alerts, message] of [
      [{ rejectThreshold: -1 }, 'must be 0 or more'],
      [{ rejectThreshold: 1.5 }, 'must be a whole number of rejected rows'],
      [{ email: 'ops@x.io' }, 'unknown field(s): email'],
    ] as const) {
      const parsed = parseConfig(doc(undefined, alerts));
      expect(parsed.ok).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.issues[0]?.message).toContain(message);
      expect(parsed.issues[0]?.section).toBe('clicks');
    }
  });
});
