/**
 * The catalogue of Sluice errors. Every error a user can meet has a stable code, a message
 * template, an HTTP status and a retry class; docs/errors.md lists the same table and a test
 * checks that the two agree.
 */

export type ErrorClass = 'permanent' | 'transient';

interface ErrorSpec {
  status: number;
  retry: ErrorClass;
  /** What the error means, for docs/errors.md. */
  description: string;
}

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: {
    status: 400,
    retry: 'permanent',
    description: 'The YAML or an API body does not match the config schema.',
  },
  SECTION_INVALID: {
    status: 400,
    retry: 'permanent',
    description: 'A section does not fit the live MySQL schema (table, key or mapped column).',
  },
  NOT_FOUND: {
    status: 404,
    retry: 'permanent',
    description: 'A named integration, section or run does not exist.',
  },
  MYSQL_UNREACHABLE: {
    status: 502,
    retry: 'transient',
    description: 'MySQL could not be reached (refused, timed out, host unknown, connection lost).',
  },
  MYSQL_ACCESS_DENIED: {
    status: 502,
    retry: 'permanent',
    description: 'MySQL refused the user name or password.',
  },
  MYSQL_UNKNOWN_DATABASE: {
    status: 502,
    retry: 'permanent',
    description: 'The database named in the integration does not exist.',
  },
  MYSQL_TLS: {
    status: 502,
    retry: 'permanent',
    description: 'The TLS handshake failed or the server requires TLS.',
  },
  MYSQL_TABLE_MISSING: {
    status: 502,
    retry: 'permanent',
    description: "The section's table or a mapped column no longer exists.",
  },
  MYSQL_QUERY_FAILED: {
    status: 502,
    retry: 'permanent',
    description: "MySQL rejected a query (the message is MySQL's own).",
  },
  MYSQL_TIMEOUT: {
    status: 504,
    retry: 'transient',
    description: 'A MySQL query ran past its time limit.',
  },
  SECTION_LOCKED: {
    status: 409,
    retry: 'transient',
    description: 'Another process is running this section now.',
  },
  STORE_FAILED: {
    status: 500,
    retry: 'transient',
    description: 'The Sluice store could not commit (disk full, database locked).',
  },
  PASSWORD_MISSING: {
    status: 400,
    retry: 'permanent',
    description: 'The password environment variable named by passwordEnv is not set.',
  },
  SECRET_KEY_INVALID: {
    status: 500,
    retry: 'permanent',
    description: 'SLUICE_SECRET_KEY or the key file cannot decrypt the stored secrets.',
  },
  INTERRUPTED: {
    status: 500,
    retry: 'transient',
    description:
      'The process running a section stopped mid-run (killed, crashed); the next run resumes from the last landed batch.',
  },
  INTERNAL: {
    status: 500,
    retry: 'permanent',
    description: 'A bug in Sluice: the message and stack are in the log; please report it.',
  },
  KEY_INVALID: {
    status: 400,
    retry: 'permanent',
    description: 'A cursor value given to reset does not fit the key column.',
  },
  SECTION_OFF: {
    status: 409,
    retry: 'permanent',
    description:
      'The section cannot run: its direction is off (not syncing) or its integration is turned off.',
  },
  SHUTTING_DOWN: {
    status: 503,
    retry: 'transient',
    description: 'The scheduler is stopping (the server is shutting down) and starts no new run.',
  },
  AUTH_REQUIRED: {
    status: 401,
    retry: 'permanent',
    description: 'No valid session: log in first (the session expired, ended or never was).',
  },
  LOGIN_FAILED: {
    status: 401,
    retry: 'permanent',
    description: 'The email or the password is wrong (which one is not said).',
  },
  FORBIDDEN: {
    status: 403,
    retry: 'permanent',
    description: "The user's role does not allow this (viewer < admin < superadmin).",
  },
  CSRF_INVALID: {
    status: 403,
    retry: 'permanent',
    description:
      "A state-changing request did not send the session's CSRF token in the x-csrf-token header.",
  },
  RATE_LIMITED: {
    status: 429,
    retry: 'transient',
    description:
      'Too many failed logins for this email or from this address; retry after the seconds in Retry-After.',
  },
  SETUP_REQUIRED: {
    status: 503,
    retry: 'permanent',
    description:
      'No user exists yet: create the first one with `sluice user add --email EMAIL --role superadmin`.',
  },
  CONFLICT: {
    status: 409,
    retry: 'permanent',
    description:
      'The name or email is already taken (integration, section or user), or the change would leave no superadmin.',
  },
  QUERY_REJECTED: {
    status: 400,
    retry: 'permanent',
    description:
      "MySQL refused a console query: the message is MySQL's own (syntax, read-only transaction, privileges).",
  },
  BAD_REQUEST: {
    status: 400,
    retry: 'permanent',
    description:
      'The HTTP request is malformed: not JSON, too large, or of a content type the API does not take.',
  },
  TOKEN_INVALID: {
    status: 401,
    retry: 'permanent',
    description:
      'The tenant token of an ingest request is unknown or revoked: create one with `sluice token create --name NAME` or in Settings.',
  },
  SINK_REJECTED: {
    status: 502,
    retry: 'permanent',
    description:
      "The section's Planhat sink answered a 4xx other than 429 (bad body, unknown or revoked token); the section stops and its outbox is kept for the next run.",
  },
  SINK_UNAVAILABLE: {
    status: 502,
    retry: 'transient',
    description:
      "The section's Planhat sink stayed unreachable (network errors, 429, 5xx) past the delivery wait, or has no token; the outbox is kept and delivered by the next run.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a stable code; `details` carries machine-readable context (section, field, column...). */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SluiceError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  get transient(): boolean {
    return ERROR_CATALOGUE[this.code].retry === 'transient';
  }
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}
