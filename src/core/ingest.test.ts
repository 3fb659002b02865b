import { describe, expect, it } from 'vitest';
import { parseActivity, parseMetric, pushedDate } from './ingest.js';

const NOW = '2024-06-01T12:00:00.000Z';

describe('pushed activities', () => {
  it('defaults weight to 1 and the date to the time received, and leaves absent fields out', () => {
    expect(parseActivity({ email: 'a@x.io', name: '' }, NOW)).toEqual({
      ok: true,
      record: { email: 'a@x.io', weight: 1, date: NOW },
    });
  });

  it('reads the bulk aliases id, cId and count, the canonical field winning over its alias', () => {
    expect(parseActivity({ id: 'u1', cId: 'acme', weight: 2, count: 3 }, NOW)).toEqual({
      ok: true,
      record: { externalId: 'u1', companyExternalId: 'acme', weight: 6, date: NOW },
    });
    const both = parseActivity({ externalId: 'a', id: 'b' }, NOW);
    expect(both.ok && both.record.externalId).toBe('a');
  });

  it('rejects an item without email or externalId, a non-object item and a non-object info', () => {
    expect(parseActivity({ name: 'x' }, NOW)).toMatchObject({
      ok: false,
      reject: { field: 'externalId', code: 'missing_identity', input: '{"name":"x"}' },
    });
    expect(parseActivity(7, NOW)).toMatchObject({ ok: false, reject: { field: 'item' } });
    expect(parseActivity({ email: 'a@x.io', info: 'x' }, NOW)).toMatchObject({
      ok: false,
      reject: { field: 'info', code: 'bad_type' },
    });
  });
});

describe('pushed metric points', () => {
  it('defaults the model to Company and reads models in any case', () => {
    expect(parseMetric({ dimensionId: 'd', value: 1, externalId: 'e' }, NOW)).toMatchObject({
      ok: true,
      record: { model: 'Company' },
    });
    expect(
      parseMetric({ dimensionId: 'd', value: 1, externalId: 'e', model: 'ENDUSER' }, NOW),
    ).toMatchObject({ ok: true, record: { model: 'Enduser' } });
    expect(
      parseMetric({ dimensionId: 'd', value: 1, externalId: 'e', model: 'Galaxy' }, NOW),
    ).toMatchObject({ ok: false, reject: { field: 'model', code: 'bad_model' } });
  });
});

describe('pushed dates', () => {
  it('reads ISO strings, epoch numbers and JavaScript date strings as UTC ISO-8601', () => {
    expect(pushedDate('2024-03-05T10:00:00+01:00', NOW)).toBe('2024-03-05T09:00:00.000Z');
    expect(pushedDate('Tue Mar 05 2024 10:00:00 GMT+0100', NOW)).toBe('2024-03-05T09:00:00.000Z');
    expect(pushedDate(1709629200, NOW)).toBe('2024-03-05T09:00:00.000Z');
    expect(pushedDate(undefined, NOW)).toBe(NOW);
    expect(() => pushedDate('soon', NOW)).toThrow('date: "soon" is not a date');
  });
});
