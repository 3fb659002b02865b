import { describe, expect, it } from 'vitest';
import { planSection, type SectionPlan } from './plan.js';
import type {
  ColumnInfo,
  ConfigIssue,
  IndexInfo,
  ReadPlan,
  SectionConfig,
  TableInfo,
} from './types.js';

function col(name: string, columnType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  const dataType = columnType.replace(/\(.*$/, '').replace(/ .*$/, '').toLowerCase();
  const len = /^(?:var)?char\((\d+)\)/.exec(columnType);
  const dec = /^decimal\((\d+),(\d+)\)/.exec(columnType);
  const frac = /^(?:datetime|timestamp)\((\d)\)/.exec(columnType);
  return {
    name,
    dataType,
    columnType,
    nullable: false,
    maxLength: len ? Number(len[1]) : null,
    numericPrecision: dec ? Number(dec[1]) : null,
    numericScale: dec ? Number(dec[2]) : null,
    datetimePrecision: frac ? Number(frac[1]) : /^(datetime|timestamp)/.test(columnType) ? 0 : null,
    ...extra,
  };
}

const PRIMARY = (columns: string[]): IndexInfo => ({ name: 'PRIMARY', unique: true, columns });

function eventsTable(patch: Partial<TableInfo> = {}): TableInfo {
  return {
    name: 'events',
    kind: 'table',
    columns: [
      col('id', 'bigint(20) unsigned'),
      col('email', 'varchar(255)', { nullable: true }),
      col('user_id', 'varchar(64)', { nullable: true }),
      col('event', 'varchar(100)', { nullable: true }),
      col('created_at', 'datetime(6)', { nullable: true }),
      col('plan', 'varchar(20)', { nullable: true }),
      col('browser', 'varchar(20)', { nullable: true }),
      col('score', 'float'),
      col('code', 'varchar(32)'),
      col('long_code', 'varchar(64)'),
      col('amount', 'decimal(30,10)'),
      col('day', 'date'),
      col('notes', 'text', { nullable: true }),
    ],
    primaryKey: ['id'],
    indexes: [PRIMARY(['id'])],
    ...patch,
  };
}

function section(patch: Partial<SectionConfig> = {}): SectionConfig {
  return {
    name: 'app events',
    dataType: 'activities',
    direction: 'receive',
    table: 'events',
    key: 'id',
    batchSize: 1000,
    schedule: 'every 5m',
    mapping: { email: 'email', action: 'event', date: 'created_at' },
    info: [],
    ...patch,
  };
}

function planned(result: SectionPlan): ReadPlan {
  if (!result.plan) throw new Error(`expected a plan, got ${JSON.stringify(result.errors)}`);
  expect(result.errors).toEqual([]);
  return result.plan;
}

function onlyError(result: SectionPlan): ConfigIssue {
  expect(result.plan).toBeUndefined();
  expect(result.errors).toHaveLength(1);
  return result.errors[0] as ConfigIssue;
}

const codes = (issues: ConfigIssue[]) => issues.map((i) => i.code);

describe('planSection: a section that fits its table', () => {
  const result = planSection(section({ info: ['plan', 'browser'] }), eventsTable(), 'app');

  it('plans a read with the key first and every mapped and info column', () => {
    expect(result.warnings).toEqual([]);
    expect(planned(result)).toEqual({
      table: 'events',
      key: 'id',
      keyKind: 'unsigned',
      keyScale: 0,
      keyUnique: true,
      identity: ['id'],
      identityKind: 'unsigned',
      columns: ['id', 'email', 'event', 'created_at', 'plan', 'browser'],
    });
  });

  it('lists each column once even when mapped twice or mapped as the key', () => {
    const p = planned(
      planSection(
        section({
          mapping: { email: 'email', externalId: 'email', action: 'id' },
          info: ['email', 'plan', 'plan'],
        }),
        eventsTable(),
        'app',
      ),
    );
    expect(p.columns).toEqual(['id', 'email', 'plan']);
  });
});

describe('planSection: errors name the section, field and column', () => {
  it('reports a missing table with its name and the database', () => {
    const e = onlyError(planSection(section({ table: 'evnets' }), undefined, 'app'));
    expect(e).toMatchObject({
      code: 'table_missing',
      section: 'app events',
      field: 'table',
      column: 'evnets',
    });
    expect(e.message).toContain('"evnets"');
    expect(e.message).toContain('"app"');
    expect(e.message).toContain('section "app events"');
  });

  it('reports a missing key column', () => {
    const e = onlyError(planSection(section({ key: 'seq' }), eventsTable(), 'app'));
    expect(e).toMatchObject({ code: 'column_missing', field: 'key', column: 'seq' });
    expect(e.message).toContain('"seq"');
    expect(e.message).toContain('"events"');
  });

  it('refuses a FLOAT key', () => {
    const e = onlyError(planSection(section({ key: 'score' }), eventsTable(), 'app'));
    expect(e).toMatchObject({ code: 'key_type', field: 'key', column: 'score' });
    expect(e.message).toContain('float');
  });

  it('refuses a TEXT key', () => {
    const e = onlyError(planSection(section({ key: 'notes' }), eventsTable(), 'app'));
    expect(e).toMatchObject({ code: 'key_type', column: 'notes' });
  });

  it('refuses a VARCHAR(64) key as longer than 32 characters', () => {
    const e = onlyError(planSection(section({ key: 'long_code' }), eventsTable(), 'app'));
    expect(e).toMatchObject({ code: 'key_too_long', field: 'key', column: 'long_code' });
    expect(e.message).toContain('varchar(64)');
    expect(e.message).toContain('32');
  });

  it('accepts VARCHAR(32), DECIMAL(30,10), DATE and DATETIME(6) keys', () => {
    const cases: [string, ReadPlan['keyKind'], number][] = [
      ['code', 'string', 0],
      ['amount', 'decimal', 10],
      ['day', 'date', 0],
      ['created_at', 'datetime', 6],
    ];
    for (const [key, kind, scale] of cases) {
      const p = planned(planSection(section({ key }), eventsTable(), 'app'));
      expect([p.keyKind, p.keyScale], key).toEqual([kind, scale]);
      expect(p.columns[0]).toBe(key);
    }
  });

  it('reports a mapped column that does not exist as mapping.<target>', () => {
    const e = onlyError(
      planSection(section({ mapping: { email: 'mail', action: 'event' } }), eventsTable(), 'app'),
    );
    expect(e).toMatchObject({
      code: 'column_missing',
      section: 'app events',
      field: 'mapping.email',
      column: 'mail',
    });
    expect(e.message).toContain('mapping.email');
    expect(e.message).toContain('"mail"');
  });

  it('reports a missing info column by its position', () => {
    const e = onlyError(planSection(section({ info: ['plan', 'os'] }), eventsTable(), 'app'));
    expect(e).toMatchObject({ code: 'column_missing', field: 'info[1]', column: 'os' });
  });

  it('reports every missing column, and shape errors too', () => {
    const r = planSection(
      section({ key: 'seq', mapping: { action: 'evt', bogus: 'x' } }),
      eventsTable(),
      'app',
    );
    expect(r.plan).toBeUndefined();
    expect(codes(r.errors).sort()).toEqual([
      'column_missing',
      'column_missing',
      'column_missing',
      'missing_target',
      'unknown_target',
    ]);
  });

  it('refuses a lookback on a string key', () => {
    const e = onlyError(
      planSection(section({ key: 'code', lookback: '10' }), eventsTable(), 'app'),
    );
    expect(e).toMatchObject({ code: 'lookback_invalid', field: 'lookback', column: 'code' });
  });

  it('accepts a 10m lookback on a datetime key', () => {
    const r = planSection(section({ key: 'created_at', lookback: '10m' }), eventsTable(), 'app');
    expect(planned(r).keyKind).toBe('datetime');
  });

  it('refuses a 10m lookback on an integer key and accepts a count', () => {
    const e = onlyError(planSection(section({ lookback: '10m' }), eventsTable(), 'app'));
    expect(e).toMatchObject({ code: 'lookback_invalid', field: 'lookback' });
    expect(e.message).toContain('10m');
    planned(planSection(section({ lookback: '500' }), eventsTable(), 'app'));
  });
});

describe('planSection: warnings', () => {
  it('warns when the key has no index', () => {
    const r = planSection(section({ key: 'created_at' }), eventsTable(), 'app');
    expect(codes(r.warnings)).toContain('key_not_indexed');
    const w = r.warnings.find((x) => x.code === 'key_not_indexed');
    expect(w).toMatchObject({ section: 'app events', field: 'key', column: 'created_at' });
    expect(w?.message).toContain('CREATE INDEX');
    expect(r.plan).toBeDefined();
  });

  it('does not warn when an index leads with the key, and does when the key is only its second column', () => {
    const leading = eventsTable({
      indexes: [PRIMARY(['id']), { name: 'ix', unique: false, columns: ['created_at', 'id'] }],
    });
    expect(
      codes(planSection(section({ key: 'created_at' }), leading, 'app').warnings),
    ).not.toContain('key_not_indexed');
    const trailing = eventsTable({
      indexes: [PRIMARY(['id']), { name: 'ix', unique: false, columns: ['day', 'created_at'] }],
    });
    expect(codes(planSection(section({ key: 'created_at' }), trailing, 'app').warnings)).toContain(
      'key_not_indexed',
    );
  });

  it('does not warn about indexes on a view', () => {
    const view = eventsTable({ kind: 'view', primaryKey: [], indexes: [] });
    expect(codes(planSection(section(), view, 'app').warnings)).not.toContain('key_not_indexed');
  });

  it('warns when the key allows NULL', () => {
    const r = planSection(section({ key: 'created_at' }), eventsTable(), 'app');
    expect(r.warnings).toContainEqual(
      expect.objectContaining({ code: 'key_nullable', field: 'key', column: 'created_at' }),
    );
    expect(codes(planSection(section(), eventsTable(), 'app').warnings)).not.toContain(
      'key_nullable',
    );
  });

  it('warns when the table has no primary or unique key, and identifies rows by content', () => {
    const table = eventsTable({
      primaryKey: [],
      indexes: [{ name: 'ix_id', unique: false, columns: ['id'] }],
    });
    const r = planSection(section(), table, 'app');
    expect(r.warnings).toEqual([
      expect.objectContaining({
        code: 'no_identity',
        section: 'app events',
        field: 'table',
        column: 'events',
      }),
    ]);
    const p = planned(r);
    expect(p.identity).toEqual([]);
    expect(p.identityKind).toBeNull();
    expect(p.keyUnique).toBe(false);
  });
});

describe('planSection: key uniqueness and row identity', () => {
  it('knows a primary key on the key column is unique', () => {
    expect(planned(planSection(section(), eventsTable(), 'app')).keyUnique).toBe(true);
  });

  it('treats the primary key as an index even when indexes does not list it', () => {
    // Regression: with PRIMARY absent from `indexes`, a primary-key key warned key_not_indexed
    // and was taken as non-unique.
    const r = planSection(section(), eventsTable({ indexes: [] }), 'app');
    expect(r.warnings).toEqual([]);
    expect(planned(r).keyUnique).toBe(true);
  });

  it('knows a non-unique index on the key does not make it unique', () => {
    const table = eventsTable({
      indexes: [PRIMARY(['id']), { name: 'ix', unique: false, columns: ['created_at'] }],
    });
    const p = planned(planSection(section({ key: 'created_at' }), table, 'app'));
    expect(p.keyUnique).toBe(false);
    expect(p.identity).toEqual(['id']);
    expect(p.identityKind).toBe('unsigned');
    expect(p.columns).toEqual(['created_at', 'id', 'email', 'event']);
  });

  it('knows a single-column unique index on the key is unique', () => {
    const table = eventsTable({
      indexes: [PRIMARY(['id']), { name: 'uq', unique: true, columns: ['code'] }],
    });
    expect(planned(planSection(section({ key: 'code' }), table, 'app')).keyUnique).toBe(true);
  });

  it('does not count a composite unique index that starts with the key as unique', () => {
    const table = eventsTable({
      primaryKey: ['created_at', 'id'],
      indexes: [PRIMARY(['created_at', 'id'])],
      columns: eventsTable().columns.map((c) =>
        c.name === 'created_at' ? { ...c, nullable: false } : c,
      ),
    });
    const p = planned(planSection(section({ key: 'created_at' }), table, 'app'));
    expect(p.keyUnique).toBe(false);
    expect(p.identity).toEqual(['created_at', 'id']);
    expect(p.identityKind).toBeNull();
  });

  it('identifies rows by a NOT NULL unique key when there is no primary key', () => {
    const table = eventsTable({
      primaryKey: [],
      indexes: [
        { name: 'uq_email', unique: true, columns: ['email'] },
        { name: 'uq_code', unique: true, columns: ['code'] },
        { name: 'ix_id', unique: false, columns: ['id'] },
      ],
    });
    const r = planSection(section(), table, 'app');
    const p = planned(r);
    // email is nullable, so its unique index cannot identify a row; code is NOT NULL.
    expect(p.identity).toEqual(['code']);
    expect(p.identityKind).toBe('string');
    expect(p.columns).toEqual(['id', 'code', 'email', 'event', 'created_at']);
    expect(codes(r.warnings)).not.toContain('no_identity');
  });

  it('prefers the primary key over a unique key', () => {
    const table = eventsTable({
      indexes: [PRIMARY(['id']), { name: 'uq_code', unique: true, columns: ['code'] }],
    });
    expect(planned(planSection(section({ key: 'day' }), table, 'app')).identity).toEqual(['id']);
  });

  it('gives no identity kind to an identity column that cannot be ordered', () => {
    const table = eventsTable({
      primaryKey: ['notes'],
      indexes: [PRIMARY(['notes']), { name: 'ix', unique: false, columns: ['id'] }],
    });
    const p = planned(planSection(section(), table, 'app'));
    expect(p.identity).toEqual(['notes']);
    expect(p.identityKind).toBeNull();
  });
});

describe('planSection: metrics', () => {
  it('plans a metrics section and checks its mandatory targets', () => {
    const metrics = section({
      name: 'usage',
      dataType: 'metrics',
      model: 'Company',
      key: 'amount',
      mapping: { dimensionId: 'event', value: 'amount', externalId: 'user_id', date: 'day' },
    });
    const p = planned(planSection(metrics, eventsTable(), 'app'));
    expect(p.columns).toEqual(['amount', 'id', 'event', 'user_id', 'day']);
    const missing = planSection(
      { ...metrics, mapping: { dimensionId: 'event' } },
      eventsTable(),
      'app',
    );
    expect(missing.plan).toBeUndefined();
    expect(missing.errors.map((e) => e.field).sort()).toEqual([
      'mapping.externalId',
      'mapping.value',
    ]);
  });
});
