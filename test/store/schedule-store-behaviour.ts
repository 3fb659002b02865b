/**
 * The behaviour every ScheduleStore must show, run by each store implementation (SQLite now,
 * PostgreSQL later): `scheduleStoreBehaviour('sqlite', open)`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleState, ScheduleStore } from '../../src/store/schedule-store.js';
import type { Store } from '../../src/store/store.js';
import { integration, section } from './store-behaviour.js';

export interface ScheduleStoreUnderTest {
  store: Store;
  schedule: ScheduleStore;
  cleanup: () => Promise<void>;
}

export function scheduleStoreBehaviour(
  name: string,
  open: () => Promise<ScheduleStoreUnderTest>,
): void {
  describe(`ScheduleStore behaviour (${name})`, () => {
    let t: ScheduleStoreUnderTest;
    let ids: Record<string, number>;
    beforeEach(async () => {
      t = await open();
      await t.store.applyConfig(integration(), [section('events'), section('orders')]);
      ids = Object.fromEntries((await t.store.listSections()).map((s) => [s.name, s.id]));
    });
    afterEach(async () => {
      await t.cleanup();
    });

    const state = (sectionId: number, overrides: Partial<ScheduleState> = {}): ScheduleState => ({
      sectionId,
      schedule: 'every 5m',
      nextRunAt: '2024-05-01T10:05:00.000Z',
      lastRunAt: '2024-05-01T10:00:00.000Z',
      failures: 0,
      lastError: null,
      failingSince: null,
      ...overrides,
    });

    it('has no state for sections never scheduled', async () => {
      expect(await t.schedule.list()).toEqual([]);
    });

    it('saves, replaces and lists the state of each section', async () => {
      const events = ids.events ?? 0;
      const orders = ids.orders ?? 0;
      await t.schedule.save(state(orders, { nextRunAt: null }));
      await t.schedule.save(state(events));
      const failing = state(events, {
        nextRunAt: '2024-05-01T10:09:00.000Z',
        failures: 3,
        lastError: 'MySQL is down',
        failingSince: '2024-05-01T10:01:00.000Z',
      });
      await t.schedule.save(failing);
      expect(await t.schedule.list()).toEqual([failing, state(orders, { nextRunAt: null })]);
    });

    it('forgets the state of a deleted section and skips saving one deleted meanwhile', async () => {
      await t.schedule.save(state(ids.events ?? 0));
      await t.schedule.save(state(ids.orders ?? 0));
      await t.store.applyConfig(integration(), [section('orders')], { prune: true });
      expect((await t.schedule.list()).map((s) => s.sectionId)).toEqual([ids.orders]);
      await t.schedule.save(state(ids.events ?? 0, { failures: 1 }));
      expect((await t.schedule.list()).map((s) => s.sectionId)).toEqual([ids.orders]);
    });
  });
}
