import { describe, expect, it } from 'vitest';
import { readEnv } from './env.js';

describe('readEnv', () => {
  it('reads the variables Sluice knows, with defaults', () => {
    const env = readEnv({ SLUICE_DATA_DIR: '/data', OTHER: 'x' });
    expect(env).toMatchObject({
      dataDir: '/data',
      secretKey: undefined,
      timeZone: 'UTC',
      storeWriter: undefined,
    });
    expect(env.get('OTHER')).toBe('x');
    expect(
      readEnv({
        SLUICE_SECRET_KEY: 'sixteen-chars-ok',
        SLUICE_TIME_ZONE: 'Europe/Berlin',
        SLUICE_STORE_WRITER: 'inline',
      }),
    ).toMatchObject({
      secretKey: 'sixteen-chars-ok',
      timeZone: 'Europe/Berlin',
      storeWriter: 'inline',
    });
  });

  it('names the variable and what is wrong with it', () => {
    expect(() => readEnv({ SLUICE_DATA_DIR: '' })).toThrow(
      'environment: SLUICE_DATA_DIR: must not be empty',
    );
    expect(() => readEnv({ SLUICE_SECRET_KEY: 'short' })).toThrow(
      'environment: SLUICE_SECRET_KEY: must be at least 16 characters',
    );
    expect(() => readEnv({ SLUICE_TIME_ZONE: 'Mars/Olympus' })).toThrow(
      'environment: SLUICE_TIME_ZONE: must be an IANA time zone name',
    );
    expect(() => readEnv({ SLUICE_STORE_WRITER: 'threads' })).toThrow(
      'environment: SLUICE_STORE_WRITER: must be one of thread, inline',
    );
  });

  it('keeps a snapshot: later changes to the environment are not seen', () => {
    const source: NodeJS.ProcessEnv = { PW: 'one' };
    const env = readEnv(source);
    source.PW = 'two';
    expect(env.get('PW')).toBe('one');
  });
});
