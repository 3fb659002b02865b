import { SluiceError } from '../core/errors.js';

/**
 * Statements the console sends to the server. Reads, plus the writes that a read-only session and
 * transaction are known to refuse with MySQL's own error (1792, checked on MariaDB 10.11 for each
 * keyword here). Everything else is refused before it is sent, because a read-only transaction
 * does not stop it: `SHUTDOWN`, `KILL`, `SET GLOBAL`, `FLUSH`, `LOCK TABLES`, `COMMIT`, `CALL`...
 */
const CONSOLE_KEYWORDS = new Set([
  ...['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'VALUES', 'TABLE', 'HELP'],
  ...['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'ALTER', 'DROP', 'RENAME', 'TRUNCATE'],
  ...['GRANT', 'REVOKE', 'OPTIMIZE', 'REPAIR'],
]);

interface Piece {
  /** The original text of one statement, without its `;`. */
  text: string;
  /** The same with strings, quoted names and comments blanked out: what keyword checks read. */
  code: string;
}

/**
 * Checks a console statement and returns the text to send: exactly one statement (a trailing `;`
 * and comments around it are fine), whose kind the console allows, and that writes no file.
 *
 * @throws SluiceError `MYSQL_QUERY_FAILED` naming what is wrong.
 */
export function consoleStatement(sql: string): string {
  const pieces = splitStatements(sql).filter((p) => p.code.trim() !== '');
  const [piece] = pieces;
  if (piece === undefined) throw refuse('the query is empty');
  if (pieces.length > 1) {
    throw refuse(`one statement at a time: found ${pieces.length} statements separated by ";"`);
  }
  const keyword = /^[\s(]*([A-Za-z_]+)/.exec(piece.code)?.[1]?.toUpperCase() ?? '';
  if (!CONSOLE_KEYWORDS.has(keyword)) {
    throw refuse(
      `the console does not run ${keyword || 'this'} statements: it runs reads ` +
        '(SELECT, WITH, SHOW, DESCRIBE, EXPLAIN) inside a read-only transaction',
    );
  }
  if (/\bINTO\s+(OUTFILE|DUMPFILE)\b/i.test(piece.code)) {
    throw refuse('SELECT ... INTO OUTFILE/DUMPFILE writes a file on the MySQL server: not allowed');
  }
  return piece.text;
}

function refuse(message: string): SluiceError {
  return new SluiceError('MYSQL_QUERY_FAILED', message);
}

/**
 * Splits SQL at top-level semicolons, the way the MySQL client does: not inside '...', "..." or
 * `...`, nor inside comments. Versioned comments (`/*!50100 ... *\/`, MariaDB `/*M!100100 ... *\/`)
 * are code to the server, so their content counts as code here too.
 */
export function splitStatements(sql: string): Piece[] {
  const pieces: Piece[] = [];
  let start = 0;
  let code = '';
  let versioned = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1] ?? '';
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c);
      code += ' ? ';
    } else if (c === '#' || (c === '-' && next === '-' && isCommentSpace(sql, i + 2))) {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? sql.length : eol + 1;
      code += ' ';
    } else if (c === '/' && next === '*') {
      const opener = /^\/\*M?!\d{0,6}/.exec(sql.slice(i, i + 10))?.[0];
      if (opener !== undefined) {
        versioned = true;
        i += opener.length;
      } else {
        const close = sql.indexOf('*/', i + 2);
        i = close < 0 ? sql.length : close + 2;
      }
      code += ' ';
    } else if (versioned && c === '*' && next === '/') {
      versioned = false;
      i += 2;
      code += ' ';
    } else if (c === ';') {
      pieces.push({ text: sql.slice(start, i), code });
      start = i + 1;
      code = '';
      i += 1;
    } else {
      code += c;
      i += 1;
    }
  }
  pieces.push({ text: sql.slice(start), code });
  return pieces;
}

/** `--` starts a comment only when followed by a space or control character (or the end). */
function isCommentSpace(sql: string, i: number): boolean {
  return i >= sql.length || sql.charCodeAt(i) <= 32;
}

/** Index just past the closing quote; backslash escapes in strings (not in `names`), doubled quotes. */
function skipQuoted(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '\\' && quote !== '`') i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}
