import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type ConfigResult } from './config.js';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_SCHEDULE,
  MAX_BATCH_SIZE,
  checkSectionShape,
  parseModel,
} from './section-shape.js';
import type { ConfigIssue, SectionConfig, SluiceConfig } from './types.js';

const SAMPLE = `
integration:
  name: product-db
  mysql:
    host: db.internal
    port: 3307
    user: sluice
    passwordEnv: PRODUCT_DB_PASSWORD
    database: product
    ssl:
      mode: verify-ca
      ca: /etc/ssl/product-ca.pem
  enabled: true
sections:
  - name: app events
    dataType: activities
    direction: receive
    table: events
    key: id
    batchSize: 5000
    schedule: every 5m
    mapping:
      email: user_email
      externalId: user_id
      companyExternalId: account_id
      action: event_name
      weight: event_count
      date: created_at
      name: user_name
    info: [plan, browser]
  - name: daily usage
    dataType: metrics
    table: usage_daily
    key: updated_at
    schedule: daily at 06:00
    model: Company
    mapping:
      dimensionId: metric
      value: amount
      externalId: account_id
      date: day
  - name: seat usage
    dataType: metrics
    table: seats
    key: seq
    model: EndUser
    lookback: 100
    mapping:
      dimensionId: metric
      value: seats
      externalId: user_id
`;

function ok(result: ConfigResult): SluiceConfig {
  if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.issues)}`);
  return result.config;
}

function issuesOf(result: ConfigResult): ConfigIssue[] {
  if (result.ok) throw new Error('expected the config to be refused');
  expect(result.issues.length).toBeGreaterThan(0);
  return result.issues;
}

/** A minimal valid document with one section; `patch` edits that section. */
function doc(
  section: Record<string, unknown> = {},
  mysql: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    integration: {
      name: 'db',
      mysql: { host: 'localhost', user: 'root', database: 'app', ...mysql },
    },
    sections: [
      {
        name: 'events',
        dataType: 'activities',
        table: 'events',
        key: 'id',
        mapping: { email: 'email' },
        ...section,
      },
    ],
  };
}

function metricsDoc(section: Record<string, unknown> = {}): Record<string, unknown> {
  return doc({
    name: 'usage',
    dataType: 'metrics',
    table: 'usage',
    mapping: { dimensionId: 'metric', value: 'amount', externalId: 'company_id' },
    ...section,
  });
}

describe('parseConfig: the sample YAML', () => {
  const config = ok(parseConfig(parseYaml(SAMPLE)));

  it('reads the integration with its TLS options and password variable', () => {
    expect(config.integration).toEqual({
      name: 'product-db',
      enabled: true,
      mysql: {
        host: 'db.internal',
        port: 3307,
        user: 'sluice',
        passwordEnv: 'PRODUCT_DB_PASSWORD',
        database: 'product',
        ssl: { mode: 'verify-ca', ca: '/etc/ssl/product-ca.pem' },
      },
    });
  });

  it('reads an activities section with every mapping target and its info columns', () => {
    const s = config.sections[0];
    expect(s).toEqual({
      name: 'app events',
      dataType: 'activities',
      direction: 'receive',
      table: 'events',
      key: 'id',
      batchSize: 5000,
      schedule: 'every 5m',
      mapping: {
        email: 'user_email',
        externalId: 'user_id',
        companyExternalId: 'account_id',
        action: 'event_name',
        weight: 'event_count',
        date: 'created_at',
        name: 'user_name',
      },
      info: ['plan', 'browser'],
    });
    expect(s && 'model' in s).toBe(false);
    expect(s && 'lookback' in s).toBe(false);
  });

  it('reads a metrics section with its model', () => {
    const s = config.sections[1];
    expect(s?.dataType).toBe('metrics');
    expect(s?.model).toBe('Company');
    expect(s?.schedule).toBe('daily at 06:00');
    expect(s?.mapping).toEqual({
      dimensionId: 'metric',
      value: 'amount',
      externalId: 'account_id',
      date: 'day',
    });
    expect(s?.info).toEqual([]);
  });

  it('accepts the EndUser alias and lands it as the Enduser model', () => {
    expect(config.sections[2]?.model).toBe('Enduser');
  });

  it('keeps a numeric lookback as text', () => {
    expect(config.sections[2]?.lookback).toBe('100');
  });
});

describe('parseConfig: defaults', () => {
  const config = ok(parseConfig(doc()));
  const s = config.sections[0] as SectionConfig;

  it('defaults direction to receive, batchSize to 10000 and schedule to every 1h', () => {
    expect(s.direction).toBe('receive');
    expect(s.batchSize).toBe(10_000);
    expect(DEFAULT_BATCH_SIZE).toBe(10_000);
    expect(s.schedule).toBe('every 1h');
    expect(DEFAULT_SCHEDULE).toBe('every 1h');
    expect(s.info).toEqual([]);
  });

  it('defaults the port to 3306 and the integration to enabled', () => {
    expect(config.integration.mysql.port).toBe(3306);
    expect(config.integration.enabled).toBe(true);
  });

  it('leaves password, passwordEnv and ssl absent when not given', () => {
    const { mysql } = config.integration;
    expect('password' in mysql).toBe(false);
    expect('passwordEnv' in mysql).toBe(false);
    expect('ssl' in mysql).toBe(false);
  });

  it('defaults the metrics model to Company', () => {
    const m = ok(parseConfig(metricsDoc())).sections[0];
    expect(m?.model).toBe('Company');
  });

  it('keeps an integration turned off', () => {
    const input = doc();
    (input.integration as Record<string, unknown>).enabled = false;
    expect(ok(parseConfig(input)).integration.enabled).toBe(false);
  });

  it('accepts a document with no sections', () => {
    const input = doc();
    delete input.sections;
    expect(ok(parseConfig(input)).sections).toEqual([]);
  });

  it('accepts direction off', () => {
    expect(ok(parseConfig(doc({ direction: 'off' }))).sections[0]?.direction).toBe('off');
  });

  it('accepts a literal password', () => {
    const cfg = ok(parseConfig(doc({}, { password: 's3cret' })));
    expect(cfg.integration.mysql.password).toBe('s3cret');
  });
});

describe('parseModel', () => {
  it('accepts every model in any case, and the EndUser spelling', () => {
    expect(parseModel('Company')).toBe('Company');
    expect(parseModel('company')).toBe('Company');
    expect(parseModel('EndUser')).toBe('Enduser');
    expect(parseModel('enduser')).toBe('Enduser');
    expect(parseModel(' Project ')).toBe('Project');
    expect(parseModel('ASSET')).toBe('Asset');
  });

  it('refuses an unknown model', () => {
    expect(parseModel('User')).toBeUndefined();
    expect(parseModel('')).toBeUndefined();
  });
});

describe('parseConfig: errors name the section and the field', () => {
  it('refuses an unknown mapping target, naming it and its column', () => {
    const issues = issuesOf(parseConfig(doc({ mapping: { email: 'email', mail: 'user_mail' } })));
    expect(issues).toContainEqual(
      expect.objectContaining({
        code: 'unknown_target',
        section: 'events',
        field: 'mapping.mail',
        column: 'user_mail',
      }),
    );
    expect(issues[0]?.message).toContain('section "events"');
    expect(issues[0]?.message).toContain('"mail"');
  });

  it('refuses a metrics-only target on activities', () => {
    const issues = issuesOf(parseConfig(doc({ mapping: { email: 'email', value: 'v' } })));
    expect(issues).toContainEqual(
      expect.objectContaining({ code: 'unknown_target', field: 'mapping.value' }),
    );
  });

  it('refuses activities with neither email nor externalId', () => {
    const issues = issuesOf(parseConfig(doc({ mapping: { action: 'event' } })));
    expect(issues).toEqual([
      expect.objectContaining({ code: 'missing_target', section: 'events', field: 'mapping' }),
    ]);
    expect(issues[0]?.message).toMatch(/email.*externalId/);
  });

  it('accepts activities with externalId alone', () => {
    const cfg = ok(parseConfig(doc({ mapping: { externalId: 'user_id' } })));
    expect(cfg.sections[0]?.mapping).toEqual({ externalId: 'user_id' });
  });

  it('refuses metrics missing each of dimensionId, value and externalId', () => {
    const issues = issuesOf(parseConfig(metricsDoc({ mapping: { date: 'day' } })));
    const fields = issues.filter((i) => i.code === 'missing_target').map((i) => i.field);
    expect(fields.sort()).toEqual(['mapping.dimensionId', 'mapping.externalId', 'mapping.value']);
    for (const i of issues) expect(i.section).toBe('usage');
  });

  it('refuses metrics missing only value', () => {
    const issues = issuesOf(
      parseConfig(metricsDoc({ mapping: { dimensionId: 'm', externalId: 'c' } })),
    );
    expect(issues).toEqual([
      expect.objectContaining({ code: 'missing_target', field: 'mapping.value' }),
    ]);
  });

  it('refuses a schedule outside the choices', () => {
    const issues = issuesOf(parseConfig(doc({ schedule: 'every 7m' })));
    expect(issues).toEqual([
      expect.objectContaining({ code: 'config_invalid', section: 'events', field: 'schedule' }),
    ]);
    expect(issues[0]?.message).toContain('every 7m');
    expect(issues[0]?.message).toContain('section "events"');
  });

  it.each([0, MAX_BATCH_SIZE + 1, 1.5, -1, '100'])('refuses batchSize %s', (batchSize) => {
    const issues = issuesOf(parseConfig(doc({ batchSize })));
    expect(issues).toEqual([expect.objectContaining({ section: 'events', field: 'batchSize' })]);
  });

  it('says what is wrong with a batchSize of the wrong type instead of "is required"', () => {
    // Regression: every invalid_type issue used to read "is required", also for 1.5 or "100".
    for (const batchSize of [1.5, '100']) {
      const issues = issuesOf(parseConfig(doc({ batchSize })));
      expect(issues[0]?.message).not.toContain('is required');
      expect(issues[0]?.message).toMatch(/expected/);
    }
  });

  it('accepts batchSize 1 and 100000', () => {
    expect(ok(parseConfig(doc({ batchSize: 1 }))).sections[0]?.batchSize).toBe(1);
    expect(ok(parseConfig(doc({ batchSize: 100_000 }))).sections[0]?.batchSize).toBe(100_000);
  });

  it('refuses an unknown section field such as a batchsize typo', () => {
    const issues = issuesOf(parseConfig(doc({ batchsize: 500 })));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.section).toBe('events');
    expect(issues[0]?.message).toContain('batchsize');
    expect(issues[0]?.message).toContain('section "events"');
  });

  it('refuses a lookback with a Planhat sink, its own or its integration’s, and keeps it with the store', () => {
    const planhat = { type: 'planhat', planhat: { tokenEnv: 'PLANHAT_TOKEN' } };
    const own = issuesOf(parseConfig(doc({ lookback: '10m', sink: { ...planhat, type: 'both' } })));
    expect(own).toEqual([
      expect.objectContaining({ code: 'lookback_with_sink', section: 'events', field: 'lookback' }),
    ]);
    expect(own[0]?.message).toContain(
      'section "events": lookback cannot go with a Planhat sink (type both)',
    );
    const inherited = doc({ lookback: 100 });
    (inherited.integration as Record<string, unknown>).sink = planhat;
    expect(issuesOf(parseConfig(inherited))[0]?.code).toBe('lookback_with_sink');
    (inherited.sections as Record<string, unknown>[])[0]!.sink = { type: 'store' };
    expect(ok(parseConfig(inherited)).sections[0]?.lookback).toBe('100');
  });

  it('refuses an unknown top-level field', () => {
    const input = { ...doc(), section: [] };
    const issues = issuesOf(parseConfig(input));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.section).toBeUndefined();
    expect(issues[0]?.message).toContain('unknown field(s): section');
  });

  it('refuses an unknown mysql field, naming its path', () => {
    const issues = issuesOf(parseConfig(doc({}, { hostname: 'x' })));
    expect(issues[0]?.field).toBe('integration.mysql');
    expect(issues[0]?.message).toContain('hostname');
  });

  it('names a section without a name by its position', () => {
    const input = doc({ name: undefined });
    const issues = issuesOf(parseConfig(input));
    expect(issues).toEqual([expect.objectContaining({ section: '#1', field: 'name' })]);
    expect(issues[0]?.message).toContain('is required');
  });

  it('refuses a missing required field with "is required"', () => {
    const input = doc();
    delete (input.integration as { mysql: Record<string, unknown> }).mysql.host;
    const issues = issuesOf(parseConfig(input));
    expect(issues).toEqual([expect.objectContaining({ field: 'integration.mysql.host' })]);
    expect(issues[0]?.message).toContain('is required');
  });

  it('refuses duplicate section names', () => {
    const input = doc();
    const sections = input.sections as Record<string, unknown>[];
    sections.push({ ...sections[0], table: 'other' });
    const issues = issuesOf(parseConfig(input));
    expect(issues).toEqual([
      expect.objectContaining({ code: 'duplicate_section', section: 'events', field: 'name' }),
    ]);
  });

  it('refuses password and passwordEnv given together', () => {
    const issues = issuesOf(parseConfig(doc({}, { password: 'x', passwordEnv: 'DB_PASS' })));
    expect(issues).toEqual([expect.objectContaining({ field: 'integration.mysql.password' })]);
    expect(issues[0]?.message).toContain('passwordEnv');
  });

  it('refuses a passwordEnv that is not a variable name', () => {
    const issues = issuesOf(parseConfig(doc({}, { passwordEnv: 'DB-PASS' })));
    expect(issues[0]?.field).toBe('integration.mysql.passwordEnv');
  });

  it('accepts ssl: required without a CA', () => {
    const cfg = ok(parseConfig(doc({}, { ssl: 'required' })));
    expect(cfg.integration.mysql.ssl).toEqual({ mode: 'required' });
  });

  it('accepts ssl mode required as an object without a CA', () => {
    const cfg = ok(parseConfig(doc({}, { ssl: { mode: 'required' } })));
    expect(cfg.integration.mysql.ssl).toEqual({ mode: 'required' });
  });

  it('refuses ssl mode verify-ca without a CA, saying ca is needed', () => {
    const issues = issuesOf(parseConfig(doc({}, { ssl: { mode: 'verify-ca' } })));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.field).toMatch(/^integration\.mysql\.ssl/);
    expect(issues[0]?.message).toContain('ca');
  });

  it('refuses an unknown ssl mode', () => {
    issuesOf(parseConfig(doc({}, { ssl: 'preferred' })));
    issuesOf(parseConfig(doc({}, { ssl: { mode: 'verify-full', ca: '/x' } })));
  });

  it('refuses a port out of range', () => {
    for (const port of [0, 65536, 3306.5]) {
      const issues = issuesOf(parseConfig(doc({}, { port })));
      expect(issues[0]?.field).toBe('integration.mysql.port');
    }
  });

  it('refuses model on activities', () => {
    const issues = issuesOf(parseConfig(doc({ model: 'Company' })));
    expect(issues).toEqual([
      expect.objectContaining({ code: 'model_not_allowed', section: 'events', field: 'model' }),
    ]);
  });

  it('refuses info on metrics', () => {
    const issues = issuesOf(parseConfig(metricsDoc({ info: ['plan'] })));
    expect(issues).toEqual([
      expect.objectContaining({ code: 'info_not_allowed', section: 'usage', field: 'info' }),
    ]);
  });

  it('refuses an unknown model, listing the models', () => {
    const issues = issuesOf(parseConfig(metricsDoc({ model: 'User' })));
    expect(issues).toEqual([expect.objectContaining({ section: 'usage', field: 'model' })]);
    expect(issues[0]?.message).toContain('Company, Enduser, Project, Asset');
  });

  it('refuses an unknown data type and direction', () => {
    const a = issuesOf(parseConfig(doc({ dataType: 'events' })));
    expect(a[0]?.field).toBe('dataType');
    const b = issuesOf(parseConfig(doc({ direction: 'send' })));
    expect(b[0]?.field).toBe('direction');
  });

  it('refuses a section name with characters outside the allowed set', () => {
    const issues = issuesOf(parseConfig(doc({ name: 'events/<script>' })));
    expect(issues[0]?.field).toBe('name');
  });

  it('refuses a table name longer than 64 characters', () => {
    const issues = issuesOf(parseConfig(doc({ table: 't'.repeat(65) })));
    expect(issues[0]?.field).toBe('table');
  });

  it('reports the issues of every section, not just the first', () => {
    const input = doc({ mapping: { action: 'a' } });
    (input.sections as unknown[]).push({
      name: 'usage',
      dataType: 'metrics',
      table: 'usage',
      key: 'id',
      mapping: { dimensionId: 'm', externalId: 'c' },
    });
    const issues = issuesOf(parseConfig(input));
    expect(issues.map((i) => i.section).sort()).toEqual(['events', 'usage']);
  });

  it('refuses a document that is not an object', () => {
    expect(parseConfig(null).ok).toBe(false);
    expect(parseConfig('integration: x').ok).toBe(false);
    const issues = issuesOf(parseConfig({}));
    expect(issues[0]?.field).toBe('integration');
  });
});

describe('checkSectionShape', () => {
  const base: SectionConfig = {
    name: 's',
    dataType: 'activities',
    direction: 'receive',
    table: 't',
    key: 'id',
    batchSize: 10,
    schedule: 'every 5m',
    mapping: { email: 'e' },
    info: [],
  };

  it('finds nothing wrong with a well-formed section', () => {
    expect(checkSectionShape(base)).toEqual([]);
  });

  it('reports each problem of a section at once', () => {
    const issues = checkSectionShape({
      ...base,
      mapping: { bogus: 'b' },
      model: 'Company',
    });
    expect(issues.map((i) => i.code).sort()).toEqual([
      'missing_target',
      'model_not_allowed',
      'unknown_target',
    ]);
  });
});
