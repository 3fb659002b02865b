import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../core/errors.js';
import { quoteIdent } from './mysql-identifiers.js';

describe('quoteIdent', () => {
  it.each([
    ['orders', '`orders`'],
    ['order', '`order`'],
    ['my table', '`my table`'],
    ['we`ird', '`we``ird`'],
    ['``', '``````'],
    ['événements', '`événements`'],
    ['数据', '`数据`'],
    ['a;DROP TABLE x', '`a;DROP TABLE x`'],
  ])('quotes %j as %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it('accepts 64 characters, counting non-ASCII letters as one each', () => {
    expect(quoteIdent('é'.repeat(64))).toBe('`' + 'é'.repeat(64) + '`');
  });

  it.each([
    ['', 'empty'],
    ['a\0b', 'NUL'],
    ['x'.repeat(65), 'longer than 64'],
  ])('refuses %j with SECTION_INVALID', (name, reason) => {
    let caught: unknown;
    try {
      quoteIdent(name);
    } catch (err) {
      caught = err;
    }
    expect(isSluiceError(caught) && caught.code).toBe('SECTION_INVALID');
    expect((caught as Error).message).toContain(reason);
  });
});
