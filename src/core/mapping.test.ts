import { describe, expect, it } from 'vitest';
import { MAX_TEXT_LENGTH, compileMapper, newRowIdCarry } from './mapping.js';
import type {
  ActivityRecord,
  MetricRecord,
  ReadPlan,
  RejectRecord,
  SectionConfig,
  SourceRow,
} from './types.js';

const NOW = '2026-01-15T10:00:00.000Z';

function section(patch: Partial<SectionConfig> = {}): SectionConfig {
  return {
    name: 'events',
    dataType: 'activities',
    direction: 'receive',
    table: 'events',
    key: 'id',
    batchSize: 100,
    schedule: 'every 5m',
    mapping: { email: 'email' },
    info: [],
    ...patch,
  };
}

function plan(columns: string[], patch: Partial<ReadPlan> = {}): ReadPlan {
  return {
    table: 'events',
    key: columns[0] as string,
    keyKind: 'unsigned',
    keyScale: 0,
    keyUnique: true,
    identity: [columns[0] as string],
    identityKind: 'unsigned',
    columns,
    ...patch,
  };
}

function activities(
  s: SectionConfig,
  p: ReadPlan,
  rows: SourceRow[],
  now = NOW,
): { records: ActivityRecord[]; rejects: RejectRecord[] } {
  return compileMapper(s, p).map(rows, now) as {
    records: ActivityRecord[];
    rejects: RejectRecord[];
  };
}

function metrics(
  s: SectionConfig,
  p: ReadPlan,
  rows: SourceRow[],
  now = NOW,
): { records: MetricRecord[]; rejects: RejectRecord[] } {
  return compileMapper(s, p).map(rows, now) as { records: MetricRecord[]; rejects: RejectRecord[] };
}

describe('compileMapper: activities', () => {
  const full = section({
    mapping: {
      email: 'email',
      externalId: 'user_id',
      name: 'user_name',
      companyExternalId: 'account',
      action: 'event',
      weight: 'cnt',
      date: 'at',
    },
  });
  const fullPlan = plan(['id', 'email', 'user_id', 'user_name', 'account', 'event', 'cnt', 'at']);

  it('maps every target of a good row', () => {
    const { records, rejects } = activities(full, fullPlan, [
      ['7', 'a@x.io', 'u-1', 'Ann', 'acme', 'login', '3', '2024-05-01 12:00:00'],
    ]);
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      {
        rowId: '7',
        key: '7',
        email: 'a@x.io',
        externalId: 'u-1',
        name: 'Ann',
        companyExternalId: 'acme',
        action: 'login',
        weight: 3,
        date: '2024-05-01T12:00:00.000Z',
      },
    ]);
  });

  it('defaults weight to 1 when not mapped', () => {
    const { records } = activities(section(), plan(['id', 'email']), [['1', 'a@x.io']]);
    expect(records[0]?.weight).toBe(1);
  });

  it('counts a NULL weight as 1', () => {
    const s = section({ mapping: { email: 'email', weight: 'cnt' } });
    const { records, rejects } = activities(s, plan(['id', 'email', 'cnt']), [
      ['1', 'a@x.io', null],
    ]);
    expect(rejects).toEqual([]);
    expect(records[0]?.weight).toBe(1);
  });

  it('reads a weight from a DECIMAL string', () => {
    const s = section({ mapping: { email: 'email', weight: 'cnt' } });
    const { records } = activities(s, plan(['id', 'email', 'cnt']), [
      ['1', 'a@x.io', '2.5'],
      ['2', 'a@x.io', 4],
      ['3', 'a@x.io', '0'],
    ]);
    expect(records.map((r) => r.weight)).toEqual([2.5, 4, 0]);
  });

  it('rejects a weight that is not a number, naming the target, column and input', () => {
    const s = section({ mapping: { email: 'email', weight: 'cnt' } });
    const { records, rejects } = activities(s, plan(['id', 'email', 'cnt']), [
      ['9', 'a@x.io', 'x'],
    ]);
    expect(records).toEqual([]);
    expect(rejects).toEqual([
      {
        rowId: '9',
        key: '9',
        field: 'weight',
        column: 'cnt',
        code: 'not_a_number',
        reason: expect.stringContaining('weight (column cnt)'),
        input: 'x',
      },
    ]);
  });

  it('uses the ingestion time when date is unmapped or NULL', () => {
    const unmapped = activities(section(), plan(['id', 'email']), [['1', 'a@x.io']]);
    expect(unmapped.records[0]?.date).toBe(NOW);
    const s = section({ mapping: { email: 'email', date: 'at' } });
    const nulls = activities(
      s,
      plan(['id', 'email', 'at']),
      [
        ['1', 'a@x.io', null],
        ['2', 'a@x.io', undefined],
      ],
      '2030-01-01T00:00:00.000Z',
    );
    expect(nulls.records.map((r) => r.date)).toEqual([
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:00:00.000Z',
    ]);
  });

  it('rejects a date that cannot be read, as bad_date', () => {
    const s = section({ mapping: { email: 'email', date: 'at' } });
    const { records, rejects } = activities(s, plan(['id', 'email', 'at']), [
      ['1', 'a@x.io', '0000-00-00 00:00:00'],
    ]);
    expect(records).toEqual([]);
    expect(rejects).toEqual([
      expect.objectContaining({
        key: '1',
        field: 'date',
        column: 'at',
        code: 'bad_date',
        input: '0000-00-00 00:00:00',
      }),
    ]);
  });

  it('leaves unmapped and NULL targets absent from the record, not empty', () => {
    const { records } = activities(full, fullPlan, [
      ['1', 'a@x.io', null, null, null, null, null, null],
    ]);
    const r = records[0] as ActivityRecord;
    expect(r.email).toBe('a@x.io');
    for (const target of ['externalId', 'name', 'companyExternalId', 'action', 'info']) {
      expect(target in r, target).toBe(false);
    }
    const minimal = activities(section(), plan(['id', 'email']), [['1', 'a@x.io']])
      .records[0] as ActivityRecord;
    expect(Object.keys(minimal).sort()).toEqual(['date', 'email', 'key', 'rowId', 'weight']);
    expect('name' in minimal).toBe(false);
  });

  it('treats an empty-string email as absent', () => {
    const s = section({ mapping: { email: 'email', externalId: 'user_id' } });
    const { records } = activities(s, plan(['id', 'email', 'user_id']), [['1', '', 'u-1']]);
    expect(records).toHaveLength(1);
    expect('email' in (records[0] as ActivityRecord)).toBe(false);
    expect(records[0]?.externalId).toBe('u-1');
  });

  it('rejects a row with neither email nor externalId as missing_identity', () => {
    const s = section({ mapping: { email: 'email', externalId: 'user_id', action: 'event' } });
    const { records, rejects } = activities(s, plan(['id', 'email', 'user_id', 'event']), [
      ['5', '', null, 'login'],
    ]);
    expect(records).toEqual([]);
    expect(rejects).toEqual([
      {
        rowId: '5',
        key: '5',
        field: 'email',
        column: 'email',
        code: 'missing_identity',
        reason: 'the row has neither email nor externalId',
      },
    ]);
  });

  it('names externalId as the missing identity when only externalId is mapped', () => {
    const s = section({ mapping: { externalId: 'user_id' } });
    const { rejects } = activities(s, plan(['id', 'user_id']), [['5', null]]);
    expect(rejects).toEqual([
      expect.objectContaining({ field: 'externalId', column: 'user_id', code: 'missing_identity' }),
    ]);
  });

  it('rejects an action longer than 255 characters as too_long', () => {
    const s = section({ mapping: { email: 'email', action: 'event' } });
    const long = 'a'.repeat(MAX_TEXT_LENGTH + 1);
    const { records, rejects } = activities(s, plan(['id', 'email', 'event']), [
      ['1', 'a@x.io', long],
      ['2', 'a@x.io', 'a'.repeat(MAX_TEXT_LENGTH)],
    ]);
    expect(rejects).toEqual([
      expect.objectContaining({
        key: '1',
        field: 'action',
        column: 'event',
        code: 'too_long',
        input: long.slice(0, 200),
      }),
    ]);
    expect(records.map((r) => r.key)).toEqual(['2']);
  });

  it('keeps emoji intact and counts them as one character each', () => {
    const s = section({ mapping: { email: 'email', action: 'event' } });
    const action = '🚀'.repeat(MAX_TEXT_LENGTH);
    const { records, rejects } = activities(s, plan(['id', 'email', 'event']), [
      ['1', 'a@x.io', action],
    ]);
    expect(rejects).toEqual([]);
    expect(records[0]?.action).toBe(action);
  });

  it('copies info columns into a JSON object, NULL as null', () => {
    const s = section({ info: ['plan', 'browser', 'seats', 'blob'] });
    const { records } = activities(s, plan(['id', 'email', 'plan', 'browser', 'seats', 'blob']), [
      ['1', 'a@x.io', 'pro', null, '18446744073709551615', Buffer.from('héllo')],
    ]);
    const info = records[0]?.info as string;
    expect(typeof info).toBe('string');
    expect(JSON.parse(info)).toEqual({
      plan: 'pro',
      browser: null,
      seats: '18446744073709551615',
      blob: 'héllo',
    });
  });

  it('keeps an info column that is also a mapped target', () => {
    const s = section({ mapping: { email: 'email' }, info: ['email'] });
    const { records } = activities(s, plan(['id', 'email']), [['1', 'a@x.io']]);
    expect(JSON.parse(records[0]?.info as string)).toEqual({ email: 'a@x.io' });
  });

  it('makes one reject per bad row and keeps mapping the rows after it', () => {
    const s = section({ mapping: { email: 'email', weight: 'cnt', date: 'at', action: 'event' } });
    const p = plan(['id', 'email', 'cnt', 'at', 'event']);
    const { records, rejects } = activities(s, p, [
      ['1', 'a@x.io', '1', null, 'ok'],
      // Three problems in one row: only the first is kept.
      ['2', 'b@x.io', 'x', 'not a date', 'b'.repeat(300)],
      ['3', null, null, null, 'no identity'],
      ['4', 'c@x.io', '2', '2024-01-01', 'ok'],
    ]);
    expect(records.map((r) => r.key)).toEqual(['1', '4']);
    expect(rejects.map((r) => [r.key, r.code])).toEqual([
      ['2', 'too_long'],
      ['3', 'missing_identity'],
    ]);
  });

  it('maps numbers and Buffers in text targets to text', () => {
    const s = section({ mapping: { externalId: 'user_id', email: 'email' } });
    const { records } = activities(s, plan(['id', 'user_id', 'email']), [
      ['1', 42, Buffer.from('a@x.io')],
    ]);
    expect(records[0]?.externalId).toBe('42');
    expect(records[0]?.email).toBe('a@x.io');
  });

  it('returns nothing for no rows', () => {
    expect(activities(section(), plan(['id', 'email']), [])).toEqual({ records: [], rejects: [] });
  });

  it('refuses at compile time a mapped column that is not in the read plan', () => {
    expect(() =>
      compileMapper(section({ mapping: { email: 'mail' } }), plan(['id', 'email'])),
    ).toThrow(/column mail is not in the read plan/);
  });
});

describe('compileMapper: metrics', () => {
  const s = section({
    name: 'usage',
    dataType: 'metrics',
    model: 'Enduser',
    mapping: { dimensionId: 'metric', value: 'amount', externalId: 'uid', date: 'day' },
  });
  const p = plan(['id', 'metric', 'amount', 'uid', 'day']);

  it('maps a point with its value from a DECIMAL string and the section model', () => {
    const { records, rejects } = metrics(s, p, [['1', 'logins', '12.50', 'u-1', '2024-05-01']]);
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      {
        rowId: '1',
        key: '1',
        model: 'Enduser',
        externalId: 'u-1',
        dimensionId: 'logins',
        value: 12.5,
        date: '2024-05-01T00:00:00.000Z',
      },
    ]);
  });

  it('lands on Company when the section has no model', () => {
    const { model: _model, ...noModel } = s;
    const { records } = metrics(noModel, p, [['1', 'logins', 1, 'c-1', null]]);
    expect(records[0]?.model).toBe('Company');
    expect(records[0]?.date).toBe(NOW);
  });

  it('rejects a NULL value as missing_value', () => {
    const { records, rejects } = metrics(s, p, [['1', 'logins', null, 'u-1', '2024-05-01']]);
    expect(records).toEqual([]);
    expect(rejects).toEqual([
      expect.objectContaining({
        key: '1',
        field: 'value',
        column: 'amount',
        code: 'missing_value',
      }),
    ]);
    expect('input' in (rejects[0] as RejectRecord)).toBe(false);
  });

  it('rejects a non-numeric value as not_a_number with its input', () => {
    const { rejects } = metrics(s, p, [['1', 'logins', 'lots', 'u-1', '2024-05-01']]);
    expect(rejects).toEqual([
      expect.objectContaining({
        field: 'value',
        column: 'amount',
        code: 'not_a_number',
        input: 'lots',
      }),
    ]);
  });

  it('rejects an infinite value as not_finite', () => {
    const { rejects } = metrics(s, p, [['1', 'logins', '1e400', 'u-1', '2024-05-01']]);
    expect(rejects).toEqual([expect.objectContaining({ field: 'value', code: 'not_finite' })]);
  });

  it('rejects a bad date as bad_date', () => {
    const { rejects } = metrics(s, p, [['1', 'logins', '1', 'u-1', '2023-02-29']]);
    expect(rejects).toEqual([
      expect.objectContaining({
        field: 'date',
        column: 'day',
        code: 'bad_date',
        input: '2023-02-29',
      }),
    ]);
  });

  it('rejects an empty dimensionId and an empty externalId', () => {
    const { records, rejects } = metrics(s, p, [
      ['1', '', '1', 'u-1', null],
      ['2', 'logins', '1', null, null],
      ['3', 'logins', '1', 'u-3', null],
    ]);
    expect(rejects.map((r) => [r.key, r.field, r.code])).toEqual([
      ['1', 'dimensionId', 'missing_value'],
      ['2', 'externalId', 'missing_identity'],
    ]);
    expect(records.map((r) => r.key)).toEqual(['3']);
  });

  it('makes one reject per bad row and keeps the good rows after it', () => {
    const { records, rejects } = metrics(s, p, [
      ['1', 'm', 'x', null, 'garbage'],
      ['2', 'm', '5', 'u-2', null],
    ]);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]?.code).toBe('not_a_number');
    expect(records.map((r) => [r.key, r.value])).toEqual([['2', 5]]);
  });

  it('keeps a zero value', () => {
    const { records } = metrics(s, p, [['1', 'm', '0.000', 'u-1', null]]);
    expect(records[0]?.value).toBe(0);
  });
});

describe('compileMapper: row identity', () => {
  it('uses the key string when the identity is the key', () => {
    const m = compileMapper(section(), plan(['id', 'email']));
    expect(
      m.rowIds([
        ['18446744073709551615', 'a'],
        ['2', 'b'],
      ]),
    ).toEqual(['18446744073709551615', '2']);
  });

  it('uses a single identity column other than the key, as text', () => {
    const p = plan(['ts', 'uuid', 'email'], {
      identity: ['uuid'],
      keyKind: 'datetime',
      keyUnique: false,
    });
    const m = compileMapper(section({ key: 'ts' }), p);
    expect(
      m.rowIds([
        ['2024-01-01 00:00:00', 17, 'a'],
        ['2024-01-01 00:00:00', Buffer.from([1, 255]), 'b'],
      ]),
    ).toEqual(['17', '01ff']);
  });

  it('joins the columns of a composite identity', () => {
    const p = plan(['ts', 'tenant', 'seq', 'email'], {
      identity: ['tenant', 'seq'],
      identityKind: null,
    });
    const m = compileMapper(section({ key: 'ts' }), p);
    const ids = m.rowIds([
      ['2024-01-01 00:00:00', 'acme', 1, 'a'],
      ['2024-01-01 00:00:00', 'acme', 2, 'a'],
      ['2024-01-01 00:00:00', 'acm', 'e1', 'a'],
    ]);
    expect(ids[0]).toContain('acme');
    expect(ids[0]).toContain('1');
    expect(new Set(ids).size).toBe(3);
    expect(m.rowIds([['2024-01-02 00:00:00', 'acme', 1, 'z']])).toEqual([ids[0]]);
  });

  describe('without identity', () => {
    const p = plan(['ts', 'email', 'event'], {
      identity: [],
      identityKind: null,
      keyUnique: false,
      keyKind: 'datetime',
    });
    const m = compileMapper(
      section({ key: 'ts', mapping: { email: 'email', action: 'event' } }),
      p,
    );
    const a: SourceRow = ['2024-01-01 00:00:00', 'a@x.io', 'login'];
    const b: SourceRow = ['2024-01-01 00:00:00', 'b@x.io', 'login'];

    it('gives identical rows in one read distinct ids by rank', () => {
      const ids = m.rowIds([a, [...a], b, [...a]]);
      expect(ids[0]).toMatch(/#0$/);
      expect(ids[1]).toMatch(/#1$/);
      expect(ids[3]).toMatch(/#2$/);
      expect(ids[2]).toMatch(/#0$/);
      expect(new Set(ids).size).toBe(4);
      expect(ids[1]?.replace(/#1$/, '')).toBe(ids[0]?.replace(/#0$/, ''));
      expect(ids[0]?.startsWith('2024-01-01 00:00:00')).toBe(true);
    });

    it('gives the same rows the same ids when read again', () => {
      const rows = [a, [...a], b];
      expect(m.rowIds(rows.map((r) => [...r]))).toEqual(m.rowIds(rows));
    });

    it('numbers a batch handed over in parts as one read, with a carry', () => {
      const c: SourceRow = ['2024-01-01 00:00:01', 'a@x.io', 'login'];
      const rows = [a, b, [...a], [...b], [...a], c, [...c]];
      const carry = newRowIdCarry();
      const parts = [rows.slice(0, 2), rows.slice(2, 3), rows.slice(3, 6), rows.slice(6)];
      expect(parts.flatMap((part) => m.rowIds(part, carry))).toEqual(m.rowIds(rows));
      // Without the carry, each part numbers from 0 again: the same ids twice.
      expect(new Set(parts.flatMap((part) => m.rowIds(part))).size).toBeLessThan(rows.length);
      // The date key's rows come one after another: only the last key's counts are kept.
      expect([...carry.seen.values()]).toEqual([2]);
    });

    it('keeps the counts of a string key for the whole batch (a collation may interleave keys)', () => {
      const s = compileMapper(
        section({ key: 'ts', mapping: { email: 'email', action: 'event' } }),
        plan(['ts', 'email', 'event'], {
          identity: [],
          identityKind: null,
          keyUnique: false,
          keyKind: 'string',
        }),
      );
      const x: SourceRow = ['a', 'a@x.io', 'login'];
      const y: SourceRow = ['A', 'a@x.io', 'login'];
      const rows = [x, y, [...x], [...y], [...x]];
      const carry = newRowIdCarry();
      const ids = [rows.slice(0, 2), rows.slice(2)].flatMap((part) => s.rowIds(part, carry));
      expect(ids).toEqual(s.rowIds(rows));
      expect(new Set(ids).size).toBe(5);
    });

    it('gives a subset of identical rows a prefix of the ids', () => {
      const all = m.rowIds([a, [...a], [...a]]);
      expect(m.rowIds([[...a], [...a]])).toEqual(all.slice(0, 2));
      expect(m.rowIds([[...a]])).toEqual(all.slice(0, 1));
    });

    it('tells apart rows that differ in any column, including NULL from empty', () => {
      const ids = m.rowIds([
        ['2024-01-01 00:00:00', 'a@x.io', null],
        ['2024-01-01 00:00:00', 'a@x.io', ''],
        ['2024-01-01 00:00:00', 'a@x.io', 'login'],
      ]);
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) expect(id).toMatch(/#0$/);
    });

    it('puts the same ids on records and rejects as rowIds does', () => {
      const rows = [a, [...a], ['2024-01-01 00:00:00', null, 'login']];
      const ids = m.rowIds(rows);
      const { records, rejects } = activities(
        section({ key: 'ts', mapping: { email: 'email', action: 'event' } }),
        p,
        rows,
      );
      expect(records.map((r) => r.rowId)).toEqual(ids.slice(0, 2));
      expect(rejects.map((r) => r.rowId)).toEqual([ids[2]]);
    });
  });
});
