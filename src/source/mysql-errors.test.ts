import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { toSluiceError } from './mysql-errors.js';

const ctx = { host: 'db.local', port: 3306, user: 'bob', database: 'shop', table: 'orders' };

/** Errors shaped as mysql2 raises them: `code` from the driver or Node, `errno` from the server. */
function driverError(fields: Record<string, unknown>): Error {
  return Object.assign(new Error(String(fields.sqlMessage ?? fields.code)), fields);
}

describe('toSluiceError', () => {
  it.each([
    [
      { code: 'ECONNREFUSED', errno: -111 },
      'MYSQL_UNREACHABLE',
      'cannot reach MySQL at db.local:3306: connection refused',
    ],
    [
      { code: 'ETIMEDOUT', errorno: 'ETIMEDOUT' },
      'MYSQL_UNREACHABLE',
      'cannot reach MySQL at db.local:3306: connection timed out',
    ],
    [
      { code: 'ENOTFOUND', errno: -3008 },
      'MYSQL_UNREACHABLE',
      'cannot reach MySQL at db.local:3306: host not found',
    ],
    [
      { code: 'PROTOCOL_CONNECTION_LOST' },
      'MYSQL_UNREACHABLE',
      'cannot reach MySQL at db.local:3306: the server closed the connection',
    ],
    [
      { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 },
      'MYSQL_ACCESS_DENIED',
      'MySQL refused user "bob" (access denied): check the user name and password',
    ],
    [
      { code: 'ER_DBACCESS_DENIED_ERROR', errno: 1044 },
      'MYSQL_ACCESS_DENIED',
      'MySQL refused user "bob" access to database "shop": grant the user SELECT on it',
    ],
    [
      { code: 'ER_BAD_DB_ERROR', errno: 1049 },
      'MYSQL_UNKNOWN_DATABASE',
      'database "shop" does not exist on db.local:3306',
    ],
    [
      { code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlMessage: "Table 'shop.orders' doesn't exist" },
      'MYSQL_TABLE_MISSING',
      `table "orders" no longer matches the database: Table 'shop.orders' doesn't exist`,
    ],
    [
      { code: 'ER_BAD_FIELD_ERROR', errno: 1054, sqlMessage: "Unknown column 'x'" },
      'MYSQL_TABLE_MISSING',
      `table "orders" no longer matches the database: Unknown column 'x'`,
    ],
    [
      { code: 'HANDSHAKE_NO_SSL_SUPPORT' },
      'MYSQL_TLS',
      'MySQL at db.local:3306 does not support TLS, but the integration requires it',
    ],
    [
      { code: 'ER_SECURE_TRANSPORT_REQUIRED', errno: 3159 },
      'MYSQL_TLS',
      'MySQL at db.local:3306 requires TLS: set ssl.mode on the integration',
    ],
    [
      { code: 'HANDSHAKE_SSL_ERROR', message: 'self-signed certificate' },
      'MYSQL_TLS',
      'TLS handshake with MySQL at db.local:3306 failed: self-signed certificate',
    ],
    [
      { errno: 1969, sqlMessage: 'Query execution was interrupted (max_statement_time exceeded)' },
      'MYSQL_TIMEOUT',
      'the query ran past its time limit and was stopped',
    ],
    [
      { code: 'ER_QUERY_TIMEOUT', errno: 3024 },
      'MYSQL_TIMEOUT',
      'the query ran past its time limit and was stopped',
    ],
    [
      { code: 'ER_QUERY_INTERRUPTED', errno: 1317 },
      'MYSQL_TIMEOUT',
      'the query ran past its time limit and was stopped',
    ],
    [
      { code: 'ER_PARSE_ERROR', errno: 1064, sqlMessage: 'You have an error in your SQL syntax' },
      'MYSQL_QUERY_FAILED',
      'MySQL rejected the query: You have an error in your SQL syntax',
    ],
  ])('classifies %j', (fields, code, message) => {
    const err = toSluiceError(driverError(fields), ctx);
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });

  it('ignores message text when classifying', () => {
    const err = toSluiceError(
      driverError({ errno: 1064, sqlMessage: 'Access denied, timeout' }),
      ctx,
    );
    expect(err.code).toBe('MYSQL_QUERY_FAILED');
  });

  it('keeps MySQL message, code, errno and SQLSTATE in details', () => {
    const raw = driverError({
      code: 'ER_PARSE_ERROR',
      errno: 1064,
      sqlState: '42000',
      sqlMessage: 'bad',
    });
    const err = toSluiceError(raw, ctx);
    expect(err.details).toMatchObject({
      mysqlCode: 'ER_PARSE_ERROR',
      errno: 1064,
      sqlState: '42000',
      mysqlMessage: 'bad',
    });
    expect(err.cause).toBe(raw);
  });

  it('names the time limit when it is known', () => {
    const err = toSluiceError(driverError({ errno: 1969 }), { ...ctx, timeoutMs: 500 });
    expect(err.message).toBe('the query ran past its time limit of 500 ms and was stopped');
  });

  it('passes a SluiceError through', () => {
    const original = new SluiceError('SECTION_INVALID', 'x');
    expect(toSluiceError(original, ctx)).toBe(original);
  });
});
