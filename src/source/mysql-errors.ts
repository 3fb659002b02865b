import { SluiceError, type ErrorCode } from '../core/errors.js';

/** Where a failing call was pointed, so the message can name it. */
export interface MysqlErrorContext {
  host: string;
  port: number;
  user?: string;
  database?: string;
  table?: string;
  /** The statement time limit that applied, in milliseconds. */
  timeoutMs?: number;
}

/** The fields mysql2 (and Node's net/tls) put on the errors it raises. */
interface DriverError {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
}

/** Node's network error codes, and mysql2's own, that mean the server could not be talked to. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  PROTOCOL_CONNECTION_LOST: 'the server closed the connection',
};

/** Server errors that say the connection cannot be used now but may work later. */
const UNAVAILABLE: Record<number, string> = {
  1040: 'too many connections',
  1053: 'the server is shutting down',
  1927: 'the connection was killed', // MariaDB ER_CONNECTION_KILLED
};

// Node's TLS layer reports certificate problems by OpenSSL's verify code; mysql2 replaces the code
// of errors raised during its TLS upgrade with HANDSHAKE_SSL_ERROR, so both forms are listed.
const TLS_CODES = new Set([
  'HANDSHAKE_SSL_ERROR',
  'HANDSHAKE_NO_SSL_SUPPORT',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const ER_DBACCESS_DENIED = 1044;
const ER_ACCESS_DENIED = new Set([1045, 1698]); // 1698: MySQL's "no password" variant (auth_socket)
const ER_ACCOUNT_LOCKED = new Set([3118, 4151]); // MySQL, MariaDB
const ER_BAD_DB = 1049;
const ER_TABLE_MISSING = new Set([1146, 1054, 1356]); // no such table, unknown column, view over a missing one
const ER_SECURE_TRANSPORT_REQUIRED = 3159;
// MariaDB max_statement_time, MySQL MAX_EXECUTION_TIME, and KILL QUERY (our own backstop uses it).
const ER_TIMEOUT = new Set([1969, 3024, 1317]);

/**
 * Turns an error from mysql2 into a SluiceError with a code from the catalogue and a message a
 * user can act on. Classifies by the driver's `code` and the server's `errno`, never by message
 * text (MariaDB-only errors such as 1969 arrive from mysql2 with no `code` at all). MySQL's own
 * message, code, errno and SQLSTATE stay in `details`. A SluiceError passes through unchanged.
 */
export function toSluiceError(err: unknown, context: MysqlErrorContext): SluiceError {
  if (err instanceof SluiceError) return err;
  const e: DriverError = typeof err === 'object' && err !== null ? err : { message: String(err) };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const errno = typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined;
  const mysqlMessage = String(e.sqlMessage ?? e.message ?? err);
  const [sluiceCode, message] = classify(code, errno, mysqlMessage, context);
  const details: Record<string, unknown> = {
    host: context.host,
    port: context.port,
    ...(context.database !== undefined && { database: context.database }),
    ...(context.table !== undefined && { table: context.table }),
    ...(code !== undefined && { mysqlCode: code }),
    ...(errno !== undefined && { errno }),
    ...(typeof e.sqlState === 'string' && { sqlState: e.sqlState }),
    mysqlMessage,
  };
  return new SluiceError(sluiceCode, message, details, { cause: err });
}

function classify(
  code: string | undefined,
  errno: number | undefined,
  mysqlMessage: string,
  ctx: MysqlErrorContext,
): [ErrorCode, string] {
  const at = `${ctx.host}:${ctx.port}`;
  const user = `MySQL refused user "${ctx.user ?? ''}"`;
  const unreachable = (code !== undefined && UNREACHABLE[code]) || (errno && UNAVAILABLE[errno]);
  if (unreachable) return ['MYSQL_UNREACHABLE', `cannot reach MySQL at ${at}: ${unreachable}`];
  if (errno !== undefined && ER_ACCESS_DENIED.has(errno)) {
    return ['MYSQL_ACCESS_DENIED', `${user} (access denied): check the user name and password`];
  }
  if (errno === ER_DBACCESS_DENIED) {
    const db = ctx.database ?? '';
    return [
      'MYSQL_ACCESS_DENIED',
      `${user} access to database "${db}": grant the user SELECT on it`,
    ];
  }
  if (errno !== undefined && ER_ACCOUNT_LOCKED.has(errno)) {
    return ['MYSQL_ACCESS_DENIED', `${user}: the account is locked`];
  }
  if (errno === ER_BAD_DB) {
    return ['MYSQL_UNKNOWN_DATABASE', `database "${ctx.database ?? ''}" does not exist on ${at}`];
  }
  if (errno !== undefined && ER_TABLE_MISSING.has(errno)) {
    const what = ctx.table !== undefined ? `table "${ctx.table}"` : 'a table or column';
    return ['MYSQL_TABLE_MISSING', `${what} no longer matches the database: ${mysqlMessage}`];
  }
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return ['MYSQL_TLS', `MySQL at ${at} does not support TLS, but the integration requires it`];
  }
  if (errno === ER_SECURE_TRANSPORT_REQUIRED) {
    return ['MYSQL_TLS', `MySQL at ${at} requires TLS: set ssl.mode on the integration`];
  }
  if (code !== undefined && (TLS_CODES.has(code) || /^ERR_(SSL|TLS)_/.test(code))) {
    return ['MYSQL_TLS', `TLS handshake with MySQL at ${at} failed: ${mysqlMessage}`];
  }
  if ((errno !== undefined && ER_TIMEOUT.has(errno)) || code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    const limit = ctx.timeoutMs !== undefined ? ` of ${ctx.timeoutMs} ms` : '';
    return ['MYSQL_TIMEOUT', `the query ran past its time limit${limit} and was stopped`];
  }
  return ['MYSQL_QUERY_FAILED', `MySQL rejected the query: ${mysqlMessage}`];
}
