import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { exportConfig } from '../../src/engine/config-ops.js';
import { openScheduleStore, openStore } from '../../src/store/open-store.js';
import { parse as parseYaml } from 'yaml';
import { scheduleStoreBehaviour } from './schedule-store-behaviour.js';
import { integration, section } from './store-behaviour.js';

async function openTemp() {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-schedule-'));
  const store = await openStore({ dataDir: dir, secretKey: 'test-secret-key-0123456789' });
  return {
    store,
    schedule: openScheduleStore(store),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

scheduleStoreBehaviour('sqlite', openTemp);

describe('alerts config in the store', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('keeps webhooks and reject thresholds, applies changes to them and exports them', async () => {
    const t = await openTemp();
    cleanups.push(t.cleanup);
    const hooked = integration({ alerts: { webhook: 'https://hooks.example.com/ops' } });
    await t.store.applyConfig(hooked, [
      section('events', {
        alerts: { webhook: 'https://hooks.example.com/events', rejectThreshold: 0 },
      }),
      section('orders', { alerts: { rejectThreshold: 25 } }),
      section('plain'),
    ]);
    expect((await t.store.getIntegration('shop'))?.alerts).toEqual({
      webhook: 'https://hooks.example.com/ops',
    });
    const sections = await t.store.listSections();
    expect(sections.map((s) => [s.name, s.alerts])).toEqual([
      ['events', { webhook: 'https://hooks.example.com/events', rejectThreshold: 0 }],
      ['orders', { rejectThreshold: 25 }],
      ['plain', undefined],
    ]);
    expect(sections[2]).not.toHaveProperty('alerts');

    // Export prints them, and the export parses back to the same config.
    const yaml = await exportConfig(t.store);
    const parsed = parseConfig(parseYaml(yaml));
    expect(parsed.ok).toBe(true);
    expect(parsed.config?.integration.alerts).toEqual(hooked.alerts);
    expect(parsed.config?.sections.map((s) => s.alerts)).toEqual([
      { webhook: 'https://hooks.example.com/events', rejectThreshold: 0 },
      { rejectThreshold: 25 },
      undefined,
    ]);

    // A changed threshold is a change; dropping the integration webhook is one too.
    const again = await t.store.applyConfig(integration(), [
      section('events', {
        alerts: { webhook: 'https://hooks.example.com/events', rejectThreshold: 0 },
      }),
      section('orders', { alerts: { rejectThreshold: 26 } }),
      section('plain'),
    ]);
    expect(again.integration.action).toBe('updated');
    expect(again.sections.map((s) => s.action)).toEqual(['unchanged', 'updated', 'unchanged']);
    expect((await t.store.getIntegration('shop'))?.alerts).toBeUndefined();
  });
});
