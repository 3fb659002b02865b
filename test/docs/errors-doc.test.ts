import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/core/errors.js';

describe('docs/errors.md', () => {
  it('lists every error code of the catalogue with its status, retry class and meaning, and no other', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (\w+) \| (.+) \|$/gm)].map((m) => ({
      code: m[1],
      status: Number(m[2]),
      retry: m[3],
      description: m[4],
    }));
    const expected = Object.entries(ERROR_CATALOGUE).map(([code, spec]) => ({ code, ...spec }));
    expect(rows).toEqual(expected);
  });
});
