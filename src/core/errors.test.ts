import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, SluiceError, isSluiceError, type ErrorCode } from './errors.js';

const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

describe('ERROR_CATALOGUE', () => {
  it('gives every entry an HTTP error status, a retry class and a description', () => {
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) {
      const spec = ERROR_CATALOGUE[code];
      expect(code).toMatch(/^[A-Z][A-Z_]*$/);
      expect(Number.isInteger(spec.status), code).toBe(true);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(['permanent', 'transient'], code).toContain(spec.retry);
      expect(spec.description.length, code).toBeGreaterThan(10);
    }
  });

  it('classes lost connections, timeouts, locks and store failures as transient', () => {
    expect(ERROR_CATALOGUE.MYSQL_UNREACHABLE.retry).toBe('transient');
    expect(ERROR_CATALOGUE.MYSQL_TIMEOUT.retry).toBe('transient');
    expect(ERROR_CATALOGUE.SECTION_LOCKED.retry).toBe('transient');
    expect(ERROR_CATALOGUE.STORE_FAILED.retry).toBe('transient');
  });

  it('classes configuration, schema and credential errors as permanent', () => {
    for (const code of [
      'CONFIG_INVALID',
      'SECTION_INVALID',
      'NOT_FOUND',
      'MYSQL_ACCESS_DENIED',
      'MYSQL_UNKNOWN_DATABASE',
      'MYSQL_TLS',
      'MYSQL_TABLE_MISSING',
      'MYSQL_QUERY_FAILED',
      'PASSWORD_MISSING',
      'SECRET_KEY_INVALID',
      'KEY_INVALID',
    ] as const) {
      expect(ERROR_CATALOGUE[code].retry, code).toBe('permanent');
    }
  });

  it('maps client errors to 4xx and server-side failures to 5xx', () => {
    expect(ERROR_CATALOGUE.CONFIG_INVALID.status).toBe(400);
    expect(ERROR_CATALOGUE.NOT_FOUND.status).toBe(404);
    expect(ERROR_CATALOGUE.SECTION_LOCKED.status).toBe(409);
    expect(ERROR_CATALOGUE.MYSQL_TIMEOUT.status).toBe(504);
    expect(ERROR_CATALOGUE.MYSQL_UNREACHABLE.status).toBe(502);
  });
});

describe('SluiceError', () => {
  it('reports transient exactly when its catalogue entry retries', () => {
    for (const code of codes) {
      const err = new SluiceError(code, 'boom');
      expect(err.transient, code).toBe(ERROR_CATALOGUE[code].retry === 'transient');
      expect(err.status, code).toBe(ERROR_CATALOGUE[code].status);
    }
    expect(new SluiceError('MYSQL_UNREACHABLE', 'refused').transient).toBe(true);
    expect(new SluiceError('CONFIG_INVALID', 'bad').transient).toBe(false);
  });

  it('keeps code, message, details and cause, and is an Error', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new SluiceError(
      'MYSQL_UNREACHABLE',
      'cannot reach db:3306',
      { host: 'db' },
      { cause },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SluiceError');
    expect(err.code).toBe('MYSQL_UNREACHABLE');
    expect(err.message).toBe('cannot reach db:3306');
    expect(err.details).toEqual({ host: 'db' });
    expect(err.cause).toBe(cause);
    expect(new SluiceError('NOT_FOUND', 'x').details).toBeUndefined();
  });

  it('is recognised by isSluiceError, and plain errors are not', () => {
    expect(isSluiceError(new SluiceError('NOT_FOUND', 'no such section'))).toBe(true);
    expect(isSluiceError(new Error('x'))).toBe(false);
    expect(isSluiceError({ code: 'NOT_FOUND', message: 'x' })).toBe(false);
    expect(isSluiceError(undefined)).toBe(false);
  });
});
