import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../core/errors.js';
import { consoleStatement, splitStatements } from './mysql-statement.js';

function refusal(sql: string): string {
  try {
    consoleStatement(sql);
  } catch (err) {
    if (isSluiceError(err) && err.code === 'MYSQL_QUERY_FAILED') return err.message;
    throw err;
  }
  throw new Error(`accepted: ${sql}`);
}

describe('splitStatements', () => {
  it('splits at semicolons outside strings, quoted names and comments', () => {
    const sql = 'SELECT \'a;b\', "c;d", `e;f` /* g;h */ -- i;j\n# k;l\n; SELECT 2';
    expect(splitStatements(sql).map((p) => p.text)).toEqual([
      'SELECT \'a;b\', "c;d", `e;f` /* g;h */ -- i;j\n# k;l\n',
      ' SELECT 2',
    ]);
  });

  it('knows escaped and doubled quotes', () => {
    expect(splitStatements("SELECT 'it\\'s;', 'it''s;', `a``;`")).toHaveLength(1);
  });

  it('treats -- without a following space as code', () => {
    expect(splitStatements('SELECT 1--1; SELECT 2')).toHaveLength(2);
  });

  it('reads versioned comments as code', () => {
    expect(splitStatements('SELECT 1 /*!50000 ; SHUTDOWN */')).toHaveLength(2);
  });
});

describe('consoleStatement', () => {
  it.each([
    ['SELECT 1', 'SELECT 1'],
    ['SELECT 1;', 'SELECT 1'],
    ['  select 1 ;  -- done\n', '  select 1 '],
    ['(SELECT 1) UNION (SELECT 2)', '(SELECT 1) UNION (SELECT 2)'],
    ['/* why */ SHOW TABLES', '/* why */ SHOW TABLES'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH x AS (SELECT 1) SELECT * FROM x'],
    ["INSERT INTO t VALUES (';')", "INSERT INTO t VALUES (';')"],
    ["SELECT 'into outfile'", "SELECT 'into outfile'"],
  ])('sends %j as %j', (sql, sent) => {
    expect(consoleStatement(sql)).toBe(sent);
  });

  it('refuses two statements', () => {
    expect(refusal('SELECT 1; SELECT 2')).toMatch(/^one statement at a time/);
  });

  it('refuses an empty query', () => {
    expect(refusal('  -- nothing\n ; ')).toBe('the query is empty');
  });

  it.each([
    'SHUTDOWN',
    'KILL 1',
    '/*!50000 SHUTDOWN */',
    '/*M!100100 SHUTDOWN */',
    'SET GLOBAL max_connections = 1',
    'FLUSH TABLES',
    'LOCK TABLES t WRITE',
    'COMMIT',
    'CALL p()',
    'LOAD DATA LOCAL INFILE "/etc/passwd" INTO TABLE t',
  ])('refuses %j, which a read-only transaction does not stop', (sql) => {
    expect(refusal(sql)).toMatch(/^the console does not run/);
  });

  it('refuses SELECT ... INTO OUTFILE', () => {
    expect(refusal("SELECT * FROM t INTO OUTFILE '/tmp/x'")).toContain('OUTFILE');
    expect(refusal("SELECT 1 INTO\n DUMPFILE '/tmp/x'")).toContain('OUTFILE');
  });
});
