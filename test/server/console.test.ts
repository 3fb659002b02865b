import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditListSchema, ErrorBodySchema, QueryResponseSchema } from '../../src/core/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import { createServerHarness, type ServerHarness, type Session } from '../helpers/server.js';

let db: TestDatabase;
let h: ServerHarness;
let root: Session;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.exec(
    'CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(50), big BIGINT UNSIGNED)',
  );
  await db.exec(
    "INSERT INTO accounts VALUES (1, 'acme', 18446744073709551615), (2, 'beta', NULL), (3, 'gamma', 7)",
  );
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  h = await createServerHarness(db);
  await h.addUser('root@x.io', 'superadmin');
  root = await h.login('root@x.io');
  await h.createIntegration(root);
});
afterEach(async () => {
  await h.close();
});

const query = (sql: string, as: Session = root) =>
  h.call('POST', '/api/integrations/test-db/query', { as, body: { sql } });

describe('the SQL console', () => {
  it('runs a SELECT for a superadmin, refuses an UPDATE with MySQL read-only error changing nothing, and audits both', async () => {
    const select = await query('SELECT id, name, big FROM accounts ORDER BY id');
    expect(select.statusCode, select.body).toBe(200);
    const result = QueryResponseSchema.parse(select.json());
    expect(result.columns).toEqual(['id', 'name', 'big']);
    expect(result.rows).toEqual([
      [1, 'acme', '18446744073709551615'],
      [2, 'beta', null],
      [3, 'gamma', '7'],
    ]);
    expect(result.truncated).toBe(false);

    const update = await query("UPDATE accounts SET name = 'hacked' WHERE id = 1");
    expect(update.statusCode).toBe(400);
    const { error } = ErrorBodySchema.parse(update.json());
    expect(error.code).toBe('QUERY_REJECTED');
    // MariaDB's own words (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION).
    expect(error.message).toMatch(/READ ONLY transaction/i);
    expect(error.fields?.[0]?.field).toBe('sql');
    const [rows] = await db.conn.query('SELECT name FROM accounts WHERE id = 1');
    expect(rows).toEqual([{ name: 'acme' }]);

    const syntax = await query('SELECT FROM accounts');
    expect(syntax.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(syntax.json()).error.message).toContain('SQL syntax');

    const audit = AuditListSchema.parse(
      (await h.call('GET', '/api/audit?action=query', { as: root })).json(),
    );
    expect(audit.total).toBe(3);
    expect(audit.entries.map((e) => [e.detail, e.outcome])).toEqual([
      ['SELECT FROM accounts', 'error'],
      ["UPDATE accounts SET name = 'hacked' WHERE id = 1", 'error'],
      ['SELECT id, name, big FROM accounts ORDER BY id', 'ok'],
    ]);
    expect(audit.entries[2]).toMatchObject({
      email: 'root@x.io',
      integration: 'test-db',
      action: 'query',
      result: expect.stringContaining('3 row(s)'),
    });
    expect(audit.entries[1]?.result).toMatch(/READ ONLY/i);
    expect(Date.parse(audit.entries[0]?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses two statements at once and DDL', async () => {
    const two = await query('SELECT 1; SELECT 2');
    expect(two.statusCode).toBe(400);
    const ddl = await query('DROP TABLE accounts');
    expect(ddl.statusCode).toBe(400);
    const [rows] = await db.conn.query('SELECT count(*) AS n FROM accounts');
    expect(rows).toEqual([{ n: '3' }]);
  });

  it('cuts a result at 1000 rows', async () => {
    const res = await query(
      'SELECT seq FROM (SELECT a.id * 1000 + b.id AS seq FROM accounts a, accounts b, accounts c, accounts d, accounts e, accounts f, accounts g) x',
    );
    const result = QueryResponseSchema.parse(res.json());
    expect(result.rows).toHaveLength(1000);
    expect(result.truncated).toBe(true);
  });

  it('is forbidden to admins and viewers', async () => {
    await h.addUser('admin@x.io', 'admin');
    const admin = await h.login('admin@x.io');
    const res = await query('SELECT 1', admin);
    expect(res.statusCode).toBe(403);
    expect((await h.call('GET', '/api/audit', { as: admin })).statusCode).toBe(403);
    const audit = AuditListSchema.parse(
      (await h.call('GET', '/api/audit?action=query', { as: root })).json(),
    );
    expect(audit.total).toBe(0);
  });
});
