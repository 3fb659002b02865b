/**
 * The behaviour every Store must show, as one suite each implementation runs (SQLite now,
 * PostgreSQL later): `storeBehaviour('sqlite', open)`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/core/errors.js';
import type {
  ActivityRecord,
  IntegrationConfig,
  LandedRecord,
  MetricRecord,
  RejectRecord,
  SectionConfig,
} from '../../src/core/types.js';
import type { Database } from '../../src/store/schema.js';
import type { CommitBatch, LockOwner, Store, StoredSection } from '../../src/store/store.js';

/** What a store implementation hands the suite: the store, a reader of its tables, and a teardown. */
export interface StoreUnderTest {
  store: Store;
  /**
   * A second connection to the same database, for assertions on tables the Store interface does
   * not read back (activities, endusers, companies...). Tests only read through it.
   */
  db: Kysely<Database>;
  /** Closes the store and `db` and removes the database. */
  cleanup: () => Promise<void>;
}

export function integration(overrides: Partial<IntegrationConfig> = {}): IntegrationConfig {
  return {
    name: 'shop',
    enabled: true,
    mysql: {
      host: 'db.internal',
      port: 3306,
      user: 'sync',
      database: 'shop',
      passwordEnv: 'SHOP_PW',
    },
    ...overrides,
  };
}

export function section(name: string, overrides: Partial<SectionConfig> = {}): SectionConfig {
  return {
    name,
    dataType: 'activities',
    direction: 'receive',
    table: 'events',
    key: 'id',
    batchSize: 1000,
    schedule: 'every 5m',
    mapping: { email: 'user_email', externalId: 'user_id', action: 'event' },
    info: ['plan'],
    ...overrides,
  };
}

/** A section of either data type (metrics on companies). */
function sectionOf(name: string, dataType: 'activities' | 'metrics'): SectionConfig {
  return dataType === 'activities'
    ? section(name)
    : section(name, {
        dataType: 'metrics',
        model: 'Company',
        mapping: { dimensionId: 'm', value: 'v', externalId: 'c' },
        info: [],
      });
}

/**
 * Rows landed before a batch of 150 re-reads them: first, last and in the middle of the 32-row
 * statements of the SQLite store's writer.
 */
const LANDED_BEFORE = [0, 1, 15, 16, 31, 32, 33, 63, 64, 100];

export function activity(n: number, overrides: Partial<ActivityRecord> = {}): ActivityRecord {
  return {
    rowId: String(n),
    key: String(n),
    externalId: `u${n}`,
    email: `u${n}@example.com`,
    action: 'login',
    weight: 1,
    date: `2024-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
    ...overrides,
  };
}

export function metric(n: number, overrides: Partial<MetricRecord> = {}): MetricRecord {
  return {
    rowId: String(n),
    key: String(n),
    model: 'Company',
    externalId: `c${n}`,
    dimensionId: 'seats',
    value: n * 1.5,
    date: `2024-02-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
    ...overrides,
  };
}

export function reject(n: number, overrides: Partial<RejectRecord> = {}): RejectRecord {
  return {
    rowId: String(n),
    key: String(n),
    field: 'email',
    column: 'user_email',
    code: 'missing_identity',
    reason: 'neither email nor externalId is set',
    input: '',
    ...overrides,
  };
}

async function expectSluiceError(promise: Promise<unknown>, code: string): Promise<SluiceError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected SluiceError ${code}`).toMatchObject({ name: 'SluiceError', code });
  return err as SluiceError;
}

/** A pid that belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('could not spawn node');
  return child.pid;
}

/** Runs the Store behaviour suite against the store `open` creates (a fresh, empty one per test). */
export function storeBehaviour(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Store behaviour (${name})`, () => {
    let store: Store;
    let db: Kysely<Database>;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, db, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function applyOne(config: SectionConfig = section('events')): Promise<StoredSection> {
      await store.applyConfig(integration(), [config]);
      const found = (await store.listSections('shop')).find((s) => s.name === config.name);
      if (!found) throw new Error(`section ${config.name} was not saved`);
      return found;
    }

    function batch(
      s: StoredSection,
      runId: number,
      parts: Partial<CommitBatch> & Pick<CommitBatch, 'records'>,
    ): CommitBatch {
      const records: readonly LandedRecord[] = parts.records;
      const keys = records.map((r) => r.key);
      return {
        sectionId: s.id,
        runId,
        dataType: s.dataType,
        rejects: [],
        cursor: keys.at(-1),
        rowsRead: parts.records.length + (parts.rejects?.length ?? 0),
        keyFrom: keys[0] ?? null,
        keyTo: keys.at(-1) ?? null,
        ...parts,
      };
    }

    describe('applyConfig', () => {
      it('creates an integration and its sections and reads them back', async () => {
        const result = await store.applyConfig(
          integration({
            mysql: {
              host: 'db.internal',
              port: 3307,
              user: 'sync',
              database: 'shop',
              password: 's3cret',
              ssl: { mode: 'verify-ca', ca: '/etc/ca.pem' },
            },
          }),
          [
            section('events'),
            section('seats', {
              dataType: 'metrics',
              model: 'Company',
              mapping: { dimensionId: 'dim', value: 'v', externalId: 'company_id' },
              info: [],
              lookback: '100',
            }),
          ],
        );
        expect(result).toEqual({
          integration: { name: 'shop', action: 'created' },
          sections: [
            { name: 'events', action: 'created', cursorReset: false },
            { name: 'seats', action: 'created', cursorReset: false },
          ],
        });

        const stored = await store.getIntegration('shop');
        expect(stored).toMatchObject({
          name: 'shop',
          enabled: true,
          hasPassword: true,
          mysql: {
            host: 'db.internal',
            port: 3307,
            user: 'sync',
            database: 'shop',
            ssl: { mode: 'verify-ca', ca: '/etc/ca.pem' },
          },
        });
        expect(stored?.mysql).not.toHaveProperty('password');
        expect(JSON.stringify(await store.listIntegrations())).not.toContain('s3cret');
        expect(await store.getIntegrationPassword('shop')).toBe('s3cret');

        const sections = await store.listSections();
        expect(sections.map((s) => s.name)).toEqual(['events', 'seats']);
        const [events, seats] = sections;
        expect(events).toMatchObject({
          integration: 'shop',
          integrationId: stored?.id,
          dataType: 'activities',
          table: 'events',
          key: 'id',
          mapping: { email: 'user_email', externalId: 'user_id', action: 'event' },
          info: ['plan'],
          cursor: null,
        });
        expect(events).not.toHaveProperty('model');
        expect(seats).toMatchObject({ dataType: 'metrics', model: 'Company', lookback: '100' });
        expect(await store.getSection(seats!.id)).toEqual(seats);
        expect(await store.getSection(9999)).toBeUndefined();
        expect(await store.getIntegration('nope')).toBeUndefined();
      });

      it('reports unchanged when the same config is applied again, mapping order aside', async () => {
        const config = integration({
          mysql: { host: 'h', port: 3306, user: 'u', database: 'd', password: 'pw' },
        });
        await store.applyConfig(config, [section('events')]);
        const before = await store.getIntegration('shop');
        const again = await store.applyConfig(config, [
          section('events', {
            mapping: { action: 'event', externalId: 'user_id', email: 'user_email' },
          }),
        ]);
        expect(again).toEqual({
          integration: { name: 'shop', action: 'unchanged' },
          sections: [{ name: 'events', action: 'unchanged', cursorReset: false }],
        });
        expect((await store.getIntegration('shop'))?.updatedAt).toBe(before?.updatedAt);
      });

      it('updates a changed integration and section and keeps the cursor when table and key stay', async () => {
        const s = await applyOne();
        await store.setCursor(s.id, '42');
        const result = await store.applyConfig(integration({ enabled: false }), [
          section('events', { schedule: 'daily at 03:00', batchSize: 500 }),
        ]);
        expect(result).toEqual({
          integration: { name: 'shop', action: 'updated' },
          sections: [{ name: 'events', action: 'updated', cursorReset: false }],
        });
        expect(await store.getSection(s.id)).toMatchObject({
          schedule: 'daily at 03:00',
          batchSize: 500,
          cursor: '42',
        });
        expect((await store.getIntegration('shop'))?.enabled).toBe(false);
      });

      it('resets the cursor when the table or the key column changes', async () => {
        const s = await applyOne();
        await store.setCursor(s.id, '42');
        const keyChanged = await store.applyConfig(integration(), [
          section('events', { key: 'created_at' }),
        ]);
        expect(keyChanged.sections).toEqual([
          { name: 'events', action: 'updated', cursorReset: true },
        ]);
        expect((await store.getSection(s.id))?.cursor).toBeNull();

        await store.setCursor(s.id, '2024-01-01 00:00:00');
        const tableChanged = await store.applyConfig(integration(), [
          section('events', { key: 'created_at', table: 'events_v2' }),
        ]);
        expect(tableChanged.sections).toEqual([
          { name: 'events', action: 'updated', cursorReset: true },
        ]);
        expect((await store.getSection(s.id))?.cursor).toBeNull();
      });

      it('keeps sections missing from the config, and deletes them with their runs when pruning', async () => {
        await store.applyConfig(integration(), [section('events'), section('orders')]);
        const orders = (await store.listSections()).find((s) => s.name === 'orders')!;
        const run = await store.startRun(orders.id, 'manual');
        await store.commitBatch(
          batch(orders, run.id, { records: [activity(1)], rejects: [reject(2)] }),
        );

        const kept = await store.applyConfig(integration(), [section('events')]);
        expect(kept.sections).toEqual([
          { name: 'events', action: 'unchanged', cursorReset: false },
          { name: 'orders', action: 'kept', cursorReset: false },
        ]);
        expect((await store.listSections()).map((s) => s.name)).toEqual(['events', 'orders']);

        const pruned = await store.applyConfig(integration(), [section('events')], { prune: true });
        expect(pruned.sections).toEqual([
          { name: 'events', action: 'unchanged', cursorReset: false },
          { name: 'orders', action: 'deleted', cursorReset: false },
        ]);
        expect((await store.listSections()).map((s) => s.name)).toEqual(['events']);
        expect(await store.listRuns({ sectionId: orders.id })).toEqual([]);
        expect(await store.listRejects({ sectionId: orders.id })).toEqual([]);
        const left = await db.selectFrom('activities').select('id').execute();
        expect(left).toEqual([]);
      });

      it('keeps a stored password when the config names none, and drops it for passwordEnv', async () => {
        const mysql = { host: 'h', port: 3306, user: 'u', database: 'd' };
        await store.applyConfig(integration({ mysql: { ...mysql, password: 'literal' } }), []);
        expect((await store.getIntegration('shop'))?.mysql.passwordEnv).toBeUndefined();

        const same = await store.applyConfig(integration({ mysql }), []);
        expect(same.integration.action).toBe('unchanged');
        expect(await store.getIntegrationPassword('shop')).toBe('literal');

        await store.applyConfig(integration({ mysql: { ...mysql, password: 'rotated' } }), []);
        expect(await store.getIntegrationPassword('shop')).toBe('rotated');

        const toEnv = await store.applyConfig(
          integration({ mysql: { ...mysql, passwordEnv: 'PW' } }),
          [],
        );
        expect(toEnv.integration.action).toBe('updated');
        expect(await store.getIntegration('shop')).toMatchObject({
          hasPassword: false,
          mysql: { passwordEnv: 'PW' },
        });
        expect(await store.getIntegrationPassword('shop')).toBeUndefined();
      });

      it('rejects a section listed twice and saves nothing', async () => {
        await expectSluiceError(
          store.applyConfig(integration(), [section('events'), section('events')]),
          'CONFIG_INVALID',
        );
        expect(await store.listIntegrations()).toEqual([]);
      });

      it('saves nothing when a write fails halfway through', async () => {
        const broken = section('orders', { table: null as unknown as string });
        await expectSluiceError(
          store.applyConfig(integration(), [section('events'), broken]),
          'STORE_FAILED',
        );
        expect(await store.listIntegrations()).toEqual([]);
        expect(await store.listSections()).toEqual([]);
      });

      it('lists sections by integration name, then by creation', async () => {
        await store.applyConfig(integration({ name: 'zeta' }), [section('b'), section('a')]);
        await store.applyConfig(integration({ name: 'alpha' }), [section('z')]);
        const all = await store.listSections();
        expect(all.map((s) => `${s.integration}/${s.name}`)).toEqual([
          'alpha/z',
          'zeta/b',
          'zeta/a',
        ]);
        expect((await store.listSections('zeta')).map((s) => s.name)).toEqual(['b', 'a']);
        expect(await store.listSections('missing')).toEqual([]);
        expect((await store.listIntegrations()).map((i) => i.name)).toEqual(['alpha', 'zeta']);
      });
    });

    describe('setCursor', () => {
      it('moves and clears the cursor, and refuses an unknown section', async () => {
        const s = await applyOne();
        await store.setCursor(s.id, '18446744073709551615');
        expect((await store.getSection(s.id))?.cursor).toBe('18446744073709551615');
        await store.setCursor(s.id, null);
        expect((await store.getSection(s.id))?.cursor).toBeNull();
        await expectSluiceError(store.setCursor(9999, '1'), 'NOT_FOUND');
      });
    });

    describe('commitBatch', () => {
      it('lands records, rejects and the cursor, and adds them to the run and the section', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        const result = await store.commitBatch(
          batch(s, run.id, {
            records: [
              activity(1, { info: '{"plan":"pro"}', name: 'Ann', companyExternalId: 'acme' }),
              activity(2, { email: undefined, weight: 2.5 }),
              activity(3),
            ],
            rejects: [reject(4)],
            cursor: '4',
            rowsRead: 4,
            keyFrom: '1',
            keyTo: '4',
          }),
        );
        expect(result).toEqual({ landed: 3, rejected: 1 });

        const rows = await db
          .selectFrom('activities')
          .select(['section_id', 'row_id', 'email', 'external_id', 'name', 'company_external_id'])
          .select(['action', 'weight', 'date', 'info'])
          .orderBy('id')
          .execute();
        expect(rows).toEqual([
          {
            section_id: s.id,
            row_id: '1',
            email: 'u1@example.com',
            external_id: 'u1',
            name: 'Ann',
            company_external_id: 'acme',
            action: 'login',
            weight: 1,
            date: '2024-01-01T00:00:01.000Z',
            info: '{"plan":"pro"}',
          },
          {
            section_id: s.id,
            row_id: '2',
            email: null,
            external_id: 'u2',
            name: null,
            company_external_id: null,
            action: 'login',
            weight: 2.5,
            date: '2024-01-01T00:00:02.000Z',
            info: null,
          },
          expect.objectContaining({ row_id: '3' }),
        ]);

        expect(await store.listRejects({ sectionId: s.id })).toEqual([
          {
            id: expect.any(Number),
            sectionId: s.id,
            runId: run.id,
            rowId: '4',
            key: '4',
            field: 'email',
            column: 'user_email',
            code: 'missing_identity',
            reason: 'neither email nor externalId is set',
            input: '',
            createdAt: expect.any(String),
          },
        ]);
        expect((await store.getSection(s.id))?.cursor).toBe('4');
        expect((await store.listRuns({ sectionId: s.id }))[0]).toMatchObject({
          rowsRead: 4,
          landed: 3,
          rejected: 1,
          keyFrom: '1',
          keyTo: '4',
          status: 'running',
        });
        expect((await store.stats())[0]).toMatchObject({ landed: 3, rejected: 1, cursor: '4' });
      });

      it('ignores records and rejects whose row id already landed, and does not count them', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        await store.commitBatch(
          batch(s, run.id, { records: [activity(1), activity(2)], rejects: [reject(3)] }),
        );
        // A lookback re-reads rows 2 and 3 and finds row 4.
        const again = await store.commitBatch(
          batch(s, run.id, {
            records: [activity(2, { action: 'changed' }), activity(4)],
            rejects: [reject(3, { reason: 'again' })],
          }),
        );
        expect(again).toEqual({ landed: 1, rejected: 0 });
        const actions = await db
          .selectFrom('activities')
          .select(['row_id', 'action'])
          .orderBy('row_id')
          .execute();
        expect(actions).toEqual([
          { row_id: '1', action: 'login' },
          { row_id: '2', action: 'login' },
          { row_id: '4', action: 'login' },
        ]);
        expect((await store.listRejects({ sectionId: s.id })).map((r) => r.reason)).toEqual([
          'neither email nor externalId is set',
        ]);
        expect((await store.stats())[0]).toMatchObject({ landed: 3, rejected: 1 });
        expect((await store.listRuns({ sectionId: s.id }))[0]).toMatchObject({
          landed: 3,
          rejected: 1,
        });
      });

      it('finds every row landed before in a large batch, wherever it sits, and counts none twice', async () => {
        // Large enough for a store that inserts many rows per statement: rows landed before sit
        // first, last and in the middle of such statements (32 rows: the SQLite store's); one row
        // id comes twice in the batch. Then the whole batch again, every row landed before.
        const before = LANDED_BEFORE;
        for (const dataType of ['activities', 'metrics'] as const) {
          const s = await applyOne(sectionOf(`many-${dataType}`, dataType));
          const make = (n: number, tag: string): LandedRecord =>
            dataType === 'activities'
              ? activity(n, { action: tag })
              : metric(n, { dimensionId: tag });
          const run = await store.startRun(s.id, 'manual');
          // CommitBatch pairs dataType and records by convention, not by type.
          const records = (list: LandedRecord[]) => list as CommitBatch['records'];
          await store.commitBatch(
            batch(s, run.id, { records: records(before.map((n) => make(n, 'old'))) }),
          );
          const all = Array.from({ length: 150 }, (_, n) => make(n, 'new'));
          all.splice(41, 0, make(40, 'twice'));
          const again = await store.commitBatch(batch(s, run.id, { records: records(all) }));
          expect(again, dataType).toEqual({ landed: 150 - before.length, rejected: 0 });
          await store.finishRun(run.id, { status: 'succeeded' });
          const rerun = await store.startRun(s.id, 'manual');
          const third = await store.commitBatch(batch(s, rerun.id, { records: records(all) }));
          expect(third, dataType).toEqual({ landed: 0, rejected: 0 });
          await store.finishRun(rerun.id, { status: 'succeeded' });

          const table = dataType === 'activities' ? 'activities' : 'metric_points';
          const column = dataType === 'activities' ? 'action' : 'dimension_id';
          const rows = await db
            .selectFrom(table)
            .select(['row_id', `${column} as tag`])
            .where('section_id', '=', s.id)
            .execute();
          expect(rows, dataType).toHaveLength(150);
          const tags = new Map(rows.map((r) => [Number(r.row_id), r.tag]));
          for (let n = 0; n < 150; n++) {
            expect(tags.get(n), `${dataType} row ${n}`).toBe(before.includes(n) ? 'old' : 'new');
          }
          expect(
            (await store.stats()).find((x) => x.name === s.name),
            dataType,
          ).toMatchObject({
            landed: 150,
          });
          const counted = await db
            .selectFrom(dataType === 'activities' ? 'endusers' : 'companies')
            .select((eb) =>
              eb.fn
                .sum<number>(dataType === 'activities' ? 'activity_count' : 'metric_points')
                .as('n'),
            )
            .executeTakeFirstOrThrow();
          expect(Number(counted.n), dataType).toBe(150);
        }
      });

      it('counts exactly the pushed records that land, wherever the ones landed before sit', async () => {
        // Pushed data is counted after its insert, record by record: the index of every skipped
        // record must be right, not just their number.
        const before = LANDED_BEFORE;
        for (const dataType of ['activities', 'metrics'] as const) {
          const activities = dataType === 'activities';
          const s = await applyOne(sectionOf(`pushed-${dataType}`, dataType));
          // Row 40 twice, the second time for another enduser or company: only the first counts.
          const make = (n: number, other = false): LandedRecord =>
            activities
              ? activity(n, other ? { externalId: 'intruder', email: 'intruder@example.com' } : {})
              : metric(n, other ? { externalId: 'intruder' } : {});
          const push = (records: LandedRecord[]) =>
            store.landPushed({
              sectionId: s.id,
              dataType,
              records: records as CommitBatch['records'],
              rejects: [],
            });
          await push(before.map((n) => make(n)));
          const all = Array.from({ length: 150 }, (_, n) => make(n));
          all.splice(41, 0, make(40, true));
          expect(await push(all), dataType).toEqual({ landed: 150 - before.length, rejected: 0 });
          const counts = activities
            ? await db
                .selectFrom('endusers')
                .select(['external_id as id', 'activity_count as n'])
                .execute()
            : await db
                .selectFrom('companies')
                .select(['external_id as id', 'metric_points as n'])
                .execute();
          const expected = Array.from({ length: 150 }, (_, n) => (activities ? `u${n}` : `c${n}`));
          expect(counts.map((c) => c.id).sort(), dataType).toEqual(expected.sort());
          for (const c of counts) expect(Number(c.n), `${dataType} ${c.id}`).toBe(1);
        }
      });

      it('keeps row ids apart per section', async () => {
        await store.applyConfig(integration(), [section('a'), section('b')]);
        const [a, b] = await store.listSections();
        const runA = await store.startRun(a!.id, 'manual');
        const runB = await store.startRun(b!.id, 'manual');
        expect(await store.commitBatch(batch(a!, runA.id, { records: [activity(1)] }))).toEqual({
          landed: 1,
          rejected: 0,
        });
        expect(await store.commitBatch(batch(b!, runB.id, { records: [activity(1)] }))).toEqual({
          landed: 1,
          rejected: 0,
        });
      });

      it('commits nothing of a batch that fails inside its transaction, cursor included', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        await store.commitBatch(batch(s, run.id, { records: [activity(1)], cursor: '1' }));

        // date is NOT NULL: the third record fails after two inserts and a reject went in.
        const broken = activity(4, { date: null as unknown as string, companyExternalId: 'acme' });
        await expectSluiceError(
          store.commitBatch(
            batch(s, run.id, {
              records: [activity(2, { companyExternalId: 'acme' }), activity(3), broken],
              rejects: [reject(5)],
              cursor: '5',
            }),
          ),
          'STORE_FAILED',
        );

        expect(
          (await db.selectFrom('activities').select('row_id').execute()).map((r) => r.row_id),
        ).toEqual(['1']);
        expect(await store.listRejects({ sectionId: s.id })).toEqual([]);
        expect((await store.getSection(s.id))?.cursor).toBe('1');
        expect((await store.listRuns({ sectionId: s.id }))[0]).toMatchObject({
          rowsRead: 1,
          landed: 1,
          rejected: 0,
          keyTo: '1',
        });
        expect((await store.stats())[0]).toMatchObject({ landed: 1, rejected: 0 });
        // Endusers and companies are folded when the run finishes: only the landed row counts.
        await store.finishRun(run.id, {
          status: 'failed',
          error: 'disk',
          errorCode: 'STORE_FAILED',
        });
        expect(await db.selectFrom('companies').selectAll().execute()).toEqual([]);
        expect(
          (await db.selectFrom('endusers').select('ident').execute()).map((e) => e.ident),
        ).toEqual(['x:u1']);

        // The same batch, repaired, lands in full: the failed attempt left nothing behind.
        const rerun = await store.startRun(s.id, 'manual');
        const fixed = await store.commitBatch(
          batch(s, rerun.id, {
            records: [activity(2), activity(3), activity(4)],
            rejects: [reject(5)],
            cursor: '5',
          }),
        );
        expect(fixed).toEqual({ landed: 3, rejected: 1 });
      });

      it('commits batches handed over before the previous one settled, in order', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        const handed = [1, 2, 3, 4].map((n) =>
          store.commitBatch(
            batch(s, run.id, {
              records: [activity(n * 2 - 1, { externalId: 'u1' }), activity(n * 2)],
              cursor: String(n * 2),
            }),
          ),
        );
        expect(await Promise.all(handed)).toEqual(
          Array.from({ length: 4 }, () => ({ landed: 2, rejected: 0 })),
        );
        expect((await store.getSection(s.id))?.cursor).toBe('8');
        const ids = await db.selectFrom('activities').select('row_id').orderBy('id').execute();
        expect(ids.map((r) => r.row_id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
        await store.finishRun(run.id, { status: 'succeeded' });
        const u1 = await db
          .selectFrom('endusers')
          .select(['activity_count', 'first_seen', 'last_seen'])
          .where('ident', '=', 'x:u1')
          .executeTakeFirstOrThrow();
        expect(u1).toEqual({
          activity_count: 4,
          first_seen: '2024-01-01T00:00:01.000Z',
          last_seen: '2024-01-01T00:00:07.000Z',
        });
      });

      it('refuses the batches of a run handed over after one that failed: the cursor stays before it', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        const first = store.commitBatch(batch(s, run.id, { records: [activity(1)], cursor: '1' }));
        // date is NOT NULL: this batch fails inside its transaction.
        const broken = store.commitBatch(
          batch(s, run.id, {
            records: [activity(2), activity(3, { date: null as unknown as string })],
            cursor: '3',
          }),
        );
        const later = store.commitBatch(batch(s, run.id, { records: [activity(4)], cursor: '4' }));
        // Handled from the start: they may fail before `first` settles.
        const failures = [
          expectSluiceError(broken, 'STORE_FAILED'),
          expectSluiceError(later, 'STORE_FAILED'),
        ];
        expect(await first).toEqual({ landed: 1, rejected: 0 });
        const refused = (await Promise.all(failures))[1] as SluiceError;
        expect(refused.message).toContain('an earlier batch of this run failed');
        expect((await store.getSection(s.id))?.cursor).toBe('1');
        const ids = await db.selectFrom('activities').select('row_id').execute();
        expect(ids.map((r) => r.row_id)).toEqual(['1']);
        await store.finishRun(run.id, { status: 'failed', error: 'x', errorCode: 'STORE_FAILED' });

        // The next run lands from the cursor on, and counts every row exactly once.
        const rerun = await store.startRun(s.id, 'manual');
        await store.commitBatch(
          batch(s, rerun.id, { records: [activity(2), activity(3), activity(4)], cursor: '4' }),
        );
        await store.finishRun(rerun.id, { status: 'succeeded' });
        const counted = await db
          .selectFrom('endusers')
          .select((eb) => eb.fn.sum<number>('activity_count').as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(counted.n)).toBe(4);
      });

      it('leaves the cursor where it is when the batch carries none, and keeps the first keyFrom', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        await store.commitBatch(
          batch(s, run.id, {
            records: [activity(1), activity(2)],
            cursor: '2',
            keyFrom: '1',
            keyTo: '2',
          }),
        );
        // A partial tie group: rows land, the cursor waits for the rest of the group.
        await store.commitBatch(
          batch(s, run.id, { records: [activity(3)], cursor: undefined, keyFrom: '3', keyTo: '3' }),
        );
        expect((await store.getSection(s.id))?.cursor).toBe('2');
        await store.commitBatch(
          batch(s, run.id, {
            records: [],
            cursor: undefined,
            rowsRead: 0,
            keyFrom: null,
            keyTo: null,
          }),
        );
        expect((await store.listRuns({ sectionId: s.id }))[0]).toMatchObject({
          keyFrom: '1',
          keyTo: '3',
          rowsRead: 3,
          landed: 3,
        });
      });

      it('counts one person once: an email-only enduser joins the external id that comes with its email', async () => {
        const s = await applyOne();
        const at = (d: string) => `2024-03-0${d}T00:00:00.000Z`;
        const runOnce = async (records: ActivityRecord[]) => {
          const run = await store.startRun(s.id, 'manual');
          await store.commitBatch(batch(s, run.id, { records }));
          await store.finishRun(run.id, { status: 'succeeded' });
        };
        const endusers = () =>
          db
            .selectFrom('endusers')
            .select(['ident', 'external_id', 'email', 'name', 'activity_count', 'first_seen'])
            .select(['last_seen'])
            .orderBy('ident')
            .execute();
        const pairs = async () =>
          (
            await db
              .selectFrom('enduser_actions')
              .select(['action', 'ident'])
              .orderBy('action')
              .orderBy('ident')
              .execute()
          ).map((p) => `${p.action} ${p.ident}`);
        // First seen by email alone, under two actions.
        await runOnce([
          activity(1, { externalId: undefined, email: 'ann@x.io', name: 'Ann', date: at('2') }),
          activity(2, { externalId: undefined, email: 'ann@x.io', action: 'view', date: at('3') }),
          activity(3, { externalId: undefined, email: 'bob@x.io', date: at('3') }),
        ]);
        expect((await endusers()).map((e) => e.ident)).toEqual(['e:ann@x.io', 'e:bob@x.io']);
        // Her external id shows up with that email: the email-only enduser joins it.
        await runOnce([activity(4, { externalId: 'u-ann', email: 'ann@x.io', date: at('5') })]);
        // An email-only row now counts for the external id, in the same run as a new pairing.
        await runOnce([
          activity(5, { externalId: undefined, email: 'ann@x.io', action: 'edit', date: at('6') }),
          activity(6, { externalId: 'u-bob', email: 'bob@x.io', date: at('4') }),
          activity(7, { externalId: undefined, email: 'bob@x.io', date: at('7') }),
        ]);
        expect(await endusers()).toEqual([
          {
            ident: 'x:u-ann',
            external_id: 'u-ann',
            email: 'ann@x.io',
            name: 'Ann',
            activity_count: 4,
            first_seen: at('2'),
            last_seen: at('6'),
          },
          {
            ident: 'x:u-bob',
            external_id: 'u-bob',
            email: 'bob@x.io',
            name: null,
            activity_count: 3,
            first_seen: at('3'),
            last_seen: at('7'),
          },
        ]);
        expect(await pairs()).toEqual([
          'edit x:u-ann',
          'login x:u-ann',
          'login x:u-bob',
          'view x:u-ann',
        ]);
      });

      it('counts one person once for many people at a time (folds upsert many rows a statement)', async () => {
        const s = await applyOne();
        const people = Array.from({ length: 40 }, (_, i) => i);
        const runOnce = async (records: ActivityRecord[]) => {
          const run = await store.startRun(s.id, 'manual');
          await store.commitBatch(batch(s, run.id, { records }));
          await store.finishRun(run.id, { status: 'succeeded' });
        };
        const email = (i: number) => `p${i}@x.io`;
        // By email alone, then by external id with that email, then by email alone again.
        await runOnce(
          people.map((i) =>
            activity(i, { externalId: undefined, email: email(i), action: 'view' }),
          ),
        );
        await runOnce(
          people.map((i) => activity(100 + i, { externalId: `u${i}`, email: email(i) })),
        );
        await runOnce(
          people.map((i) =>
            activity(200 + i, { externalId: undefined, email: email(i), action: 'edit' }),
          ),
        );
        const endusers = await db
          .selectFrom('endusers')
          .select(['ident', 'activity_count'])
          .orderBy('ident')
          .execute();
        expect(endusers).toEqual(
          people
            .map((i) => ({ ident: `x:u${i}`, activity_count: 3 }))
            .sort((a, b) => (a.ident < b.ident ? -1 : 1)),
        );
        const pairs = await db.selectFrom('enduser_actions').select(['action', 'ident']).execute();
        expect(pairs).toHaveLength(120);
        expect(pairs.filter((p) => p.ident.startsWith('e:'))).toEqual([]);
      });

      it('upserts endusers by external id, else by email, keeping first and last seen and filling blanks', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        const at = (d: string) => `2024-03-0${d}T00:00:00.000Z`;
        await store.commitBatch(
          batch(s, run.id, {
            records: [
              activity(1, {
                externalId: 'u1',
                email: undefined,
                companyExternalId: 'acme',
                date: at('5'),
              }),
              activity(2, {
                externalId: 'u1',
                email: 'one@example.com',
                companyExternalId: 'acme',
                date: at('3'),
              }),
              activity(3, {
                externalId: undefined,
                email: 'anon@example.com',
                name: 'Anon',
                date: at('4'),
              }),
            ],
          }),
        );
        // Inside the stored range for u1 and acme (nothing moves), before it for anon; stored
        // email, company and name stay, u1's missing name is filled.
        await store.commitBatch(
          batch(s, run.id, {
            records: [
              activity(4, {
                externalId: 'u1',
                email: 'other@example.com',
                name: 'Uno',
                companyExternalId: 'globex',
                date: at('7'),
              }),
              activity(5, { externalId: 'u1', companyExternalId: 'acme', date: at('4') }),
              activity(6, { externalId: undefined, email: 'anon@example.com', date: at('2') }),
            ],
          }),
        );
        await store.finishRun(run.id, { status: 'succeeded' });
        const endusers = await db
          .selectFrom('endusers')
          .select(['ident', 'external_id', 'email', 'name', 'company_external_id'])
          .select(['first_seen', 'last_seen'])
          .orderBy('ident')
          .execute();
        expect(endusers).toEqual([
          {
            ident: 'e:anon@example.com',
            external_id: null,
            email: 'anon@example.com',
            name: 'Anon',
            company_external_id: null,
            first_seen: at('2'),
            last_seen: at('4'),
          },
          {
            ident: 'x:u1',
            external_id: 'u1',
            email: 'one@example.com',
            name: 'Uno',
            company_external_id: 'acme',
            first_seen: at('3'),
            last_seen: at('7'),
          },
        ]);
        const companies = await db
          .selectFrom('companies')
          .select(['external_id', 'first_seen', 'last_seen'])
          .orderBy('external_id')
          .execute();
        expect(companies).toEqual([
          { external_id: 'acme', first_seen: at('3'), last_seen: at('5') },
          { external_id: 'globex', first_seen: at('7'), last_seen: at('7') },
        ]);
      });

      it('lands metric points and sees companies and endusers from their models', async () => {
        const s = await applyOne(
          section('seats', {
            dataType: 'metrics',
            model: 'Company',
            mapping: { dimensionId: 'dim', value: 'v', externalId: 'cid' },
            info: [],
          }),
        );
        const run = await store.startRun(s.id, 'schedule');
        const result = await store.commitBatch(
          batch(s, run.id, {
            records: [
              metric(1, { externalId: 'acme', date: '2024-02-02T00:00:00.000Z' }),
              metric(2, { externalId: 'acme', date: '2024-02-01T00:00:00.000Z', value: -0.25 }),
              metric(3, { model: 'Enduser', externalId: 'u9' }),
              metric(4, { model: 'Project', externalId: 'p1' }),
            ],
          }),
        );
        expect(result).toEqual({ landed: 4, rejected: 0 });
        await store.finishRun(run.id, { status: 'succeeded' });
        const points = await db
          .selectFrom('metric_points')
          .select(['section_id', 'row_id', 'model', 'external_id', 'dimension_id', 'value', 'date'])
          .orderBy('id')
          .execute();
        expect(points[1]).toEqual({
          section_id: s.id,
          row_id: '2',
          model: 'Company',
          external_id: 'acme',
          dimension_id: 'seats',
          value: -0.25,
          date: '2024-02-01T00:00:00.000Z',
        });
        expect(points).toHaveLength(4);
        expect(
          await db
            .selectFrom('companies')
            .select(['external_id', 'first_seen', 'last_seen'])
            .execute(),
        ).toEqual([
          {
            external_id: 'acme',
            first_seen: '2024-02-01T00:00:00.000Z',
            last_seen: '2024-02-02T00:00:00.000Z',
          },
        ]);
        expect(await db.selectFrom('endusers').select(['ident', 'external_id']).execute()).toEqual([
          { ident: 'x:u9', external_id: 'u9' },
        ]);
      });

      it('refuses a batch for an unknown run, or a run that is no longer running', async () => {
        const s = await applyOne();
        await expectSluiceError(
          store.commitBatch(batch(s, 9999, { records: [activity(1)] })),
          'NOT_FOUND',
        );
        const first = await store.startRun(s.id, 'manual');
        // Another process took the lock over and started its own run: the old one may not land.
        await store.startRun(s.id, 'manual');
        await expectSluiceError(
          store.commitBatch(batch(s, first.id, { records: [activity(1)], cursor: '1' })),
          'SECTION_LOCKED',
        );
        expect((await store.getSection(s.id))?.cursor).toBeNull();
        expect(await db.selectFrom('activities').select('id').execute()).toEqual([]);
      });
    });

    describe('locks', () => {
      const host = hostname();
      const me: LockOwner = { id: `${host}:${process.pid}:a`, host, pid: process.pid };
      const other: LockOwner = { id: `${host}:${process.pid}:b`, host, pid: process.pid };

      it('gives the lock to one owner at a time, and to the next after release', async () => {
        const s = await applyOne();
        expect(await store.acquireLock(s.id, me, 60_000)).toBe(true);
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(false);
        expect(await store.acquireLock(s.id, me, 60_000)).toBe(true); // renewal by the holder
        await store.releaseLock(s.id, other); // not the holder: no effect
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(false);
        await store.releaseLock(s.id, me);
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(true);
      });

      it('hands over a lock whose time ran out', async () => {
        const s = await applyOne();
        expect(await store.acquireLock(s.id, me, 1)).toBe(true);
        await sleep(20);
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(true);
        expect(await store.acquireLock(s.id, me, 60_000)).toBe(false);
      });

      it('renews the lock of the holder with each committed batch that carries a lease', async () => {
        const s = await applyOne();
        expect(await store.acquireLock(s.id, me, 1)).toBe(true);
        const run = await store.startRun(s.id, 'manual');
        const later = new Date(Date.now() + 60_000).toISOString();
        await store.commitBatch(
          batch(s, run.id, { records: [activity(1)], lease: { owner: me.id, expiresAt: later } }),
        );
        await sleep(20);
        // Without the lease the 1 ms lock would have run out by now.
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(false);
        // A lease of another owner renews nothing.
        await store.commitBatch(
          batch(s, run.id, {
            records: [activity(2)],
            lease: { owner: other.id, expiresAt: new Date(Date.now() + 600_000).toISOString() },
          }),
        );
        const row = await db
          .selectFrom('sections')
          .select('lock_expires_at')
          .where('id', '=', s.id)
          .executeTakeFirstOrThrow();
        expect(row.lock_expires_at).toBe(later);
      });

      it('takes over a lock held by a dead process on this host', async () => {
        const s = await applyOne();
        const pid = await deadPid();
        const killed: LockOwner = { id: `${host}:${pid}:x`, host, pid };
        expect(await store.acquireLock(s.id, killed, 3_600_000)).toBe(true);
        expect(await store.acquireLock(s.id, me, 60_000)).toBe(true);
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(false);
      });

      it('does not judge a process on another host by a local pid', async () => {
        const s = await applyOne();
        const pid = await deadPid();
        const remote: LockOwner = { id: `elsewhere:${pid}:x`, host: `${host}-elsewhere`, pid };
        expect(await store.acquireLock(s.id, remote, 3_600_000)).toBe(true);
        expect(await store.acquireLock(s.id, me, 60_000)).toBe(false);
      });

      it('refuses an unknown section', async () => {
        await expectSluiceError(store.acquireLock(9999, me, 1000), 'NOT_FOUND');
        await expectSluiceError(
          store.beginRun(9999, 'manual', { owner: me, ttlMs: 1000 }),
          'NOT_FOUND',
        );
      });

      it('begins a run with its lock in one step, and ends it releasing the lock', async () => {
        const s = await applyOne();
        await store.setCursor(s.id, '7');
        const run = await store.beginRun(s.id, 'schedule', { owner: me, ttlMs: 60_000 });
        expect(run).toMatchObject({ sectionId: s.id, status: 'running', cursor: '7' });
        // Held: another owner begins nothing, and no run of theirs is recorded.
        expect(
          await store.beginRun(s.id, 'manual', { owner: other, ttlMs: 60_000 }),
        ).toBeUndefined();
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(false);
        expect((await store.listRuns({ sectionId: s.id })).map((r) => r.id)).toEqual([run?.id]);
        // Ended without `release`, the lock stays; with it, the next owner gets it.
        const ended = await store.finishRun(run?.id ?? 0, { status: 'succeeded' });
        expect(ended.status).toBe('succeeded');
        expect(await store.acquireLock(s.id, other, 60_000)).toBe(false);
        const again = await store.beginRun(s.id, 'manual', { owner: me, ttlMs: 60_000 });
        await store.finishRun(again?.id ?? 0, { status: 'failed', error: 'x' }, me);
        const next = await store.beginRun(s.id, 'manual', { owner: other, ttlMs: 60_000 });
        expect(next).toMatchObject({ status: 'running', trigger: 'manual' });
        // Another owner's end releases nothing of the holder's.
        await store.finishRun(next?.id ?? 0, { status: 'succeeded' }, me);
        expect(await store.acquireLock(s.id, me, 60_000)).toBe(false);
      });
    });

    describe('runs', () => {
      it('starts a run at the section cursor and marks a run still running as interrupted', async () => {
        const s = await applyOne();
        await store.setCursor(s.id, '10');
        const stale = await store.startRun(s.id, 'schedule');
        expect(stale).toMatchObject({
          sectionId: s.id,
          section: 'events',
          trigger: 'schedule',
          status: 'running',
          finishedAt: null,
          rowsRead: 0,
          landed: 0,
          rejected: 0,
          keyFrom: null,
          keyTo: null,
          cursor: '10',
          error: null,
          errorCode: null,
        });
        const fresh = await store.startRun(s.id, 'manual');
        const [newest, older] = await store.listRuns({ sectionId: s.id });
        expect(newest).toEqual(fresh);
        expect(older).toMatchObject({
          id: stale.id,
          status: 'failed',
          error: 'interrupted: the process running it stopped',
          errorCode: 'INTERRUPTED',
          finishedAt: expect.any(String),
        });
        await expectSluiceError(store.startRun(9999, 'manual'), 'NOT_FOUND');
      });

      it('finishes a run with its status, error and the cursor it ended at', async () => {
        const s = await applyOne();
        const run = await store.startRun(s.id, 'manual');
        await store.commitBatch(batch(s, run.id, { records: [activity(1), activity(2)] }));
        const done = await store.finishRun(run.id, { status: 'succeeded' });
        expect(done).toMatchObject({ status: 'succeeded', cursor: '2', landed: 2, error: null });
        expect(done.finishedAt! >= done.startedAt).toBe(true);

        const failing = await store.startRun(s.id, 'manual');
        expect(failing.cursor).toBe('2');
        const failed = await store.finishRun(failing.id, {
          status: 'failed',
          error: 'connect ECONNREFUSED',
          errorCode: 'MYSQL_UNREACHABLE',
        });
        expect(failed).toMatchObject({
          status: 'failed',
          error: 'connect ECONNREFUSED',
          errorCode: 'MYSQL_UNREACHABLE',
          cursor: '2',
        });
        await expectSluiceError(store.finishRun(9999, { status: 'succeeded' }), 'NOT_FOUND');
      });

      it('lists runs newest first, by section, up to the limit', async () => {
        await store.applyConfig(integration(), [section('a'), section('b')]);
        const [a, b] = await store.listSections();
        const ids: number[] = [];
        for (const s of [a!, b!, a!, b!, a!]) {
          const run = await store.startRun(s.id, 'manual');
          await store.finishRun(run.id, { status: 'succeeded' });
          ids.push(run.id);
        }
        expect((await store.listRuns({})).map((r) => r.id)).toEqual([...ids].reverse());
        expect((await store.listRuns({ sectionId: a!.id })).map((r) => r.id)).toEqual([
          ids[4],
          ids[2],
          ids[0],
        ]);
        expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual([ids[4], ids[3]]);
        expect((await store.listRuns({ sectionId: b!.id }))[0]?.section).toBe('b');
      });

      it('lists rejects oldest first, by run, up to the limit', async () => {
        const s = await applyOne();
        const first = await store.startRun(s.id, 'manual');
        await store.commitBatch(
          batch(s, first.id, { records: [], rejects: [reject(1), reject(2)] }),
        );
        await store.finishRun(first.id, { status: 'succeeded' });
        const second = await store.startRun(s.id, 'manual');
        await store.commitBatch(
          batch(s, second.id, {
            records: [],
            rejects: [reject(3, { column: undefined, input: undefined })],
          }),
        );
        const all = await store.listRejects({ sectionId: s.id });
        expect(all.map((r) => r.rowId)).toEqual(['1', '2', '3']);
        expect(all[2]).not.toHaveProperty('column');
        expect(all[2]).not.toHaveProperty('input');
        expect(
          (await store.listRejects({ sectionId: s.id, runId: second.id })).map((r) => r.rowId),
        ).toEqual(['3']);
        expect(
          (await store.listRejects({ sectionId: s.id, limit: 2 })).map((r) => r.rowId),
        ).toEqual(['1', '2']);
      });

      it('reports stats per section with totals and the newest run', async () => {
        await store.applyConfig(integration({ name: 'zeta' }), [section('b')]);
        await store.applyConfig(integration({ name: 'alpha' }), [
          section('a', {
            dataType: 'metrics',
            direction: 'off',
            model: 'Asset',
            mapping: { dimensionId: 'd', value: 'v', externalId: 'x' },
            info: [],
          }),
        ]);
        const [a, b] = await store.listSections();
        const run = await store.startRun(b!.id, 'manual');
        await store.commitBatch(
          batch(b!, run.id, { records: [activity(1)], rejects: [reject(2)] }),
        );
        await store.finishRun(run.id, { status: 'succeeded' });
        const newest = await store.startRun(b!.id, 'schedule');

        expect(await store.stats()).toEqual([
          {
            integration: 'alpha',
            name: 'a',
            dataType: 'metrics',
            direction: 'off',
            cursor: null,
            landed: 0,
            rejected: 0,
            lastRun: null,
          },
          {
            integration: 'zeta',
            name: 'b',
            dataType: 'activities',
            direction: 'receive',
            cursor: '1',
            landed: 1,
            rejected: 1,
            lastRun: newest,
          },
        ]);
        expect(a?.integration).toBe('alpha');
      });
    });
  });
}
