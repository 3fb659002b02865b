/**
 * The HTTP API's contract: the zod schemas of every request (params, query, body) and response of
 * the Sluice server, shared by the server (which validates with them and generates the OpenAPI
 * document from {@link ROUTES}) and the web UI (which builds requests and parses answers with them),
 * so the two cannot drift. Pure: no I/O, imports only zod and core types.
 *
 * Conventions: JSON under `/api`; dates are ISO-8601 UTC text, days `YYYY-MM-DD`. Every answer
 * other than 2xx has the body {@link ErrorBodySchema}: `{ error: { code, message, fields? } }` with a
 * code from core/errors.ts (docs/errors.md); a 400 names each field at fault in `fields`. The
 * session is a cookie set by login (HttpOnly, SameSite=Strict); every state-changing request
 * (POST, PUT, PATCH, DELETE, logout included, login excluded) must send header
 * {@link CSRF_HEADER} with the `csrfToken` from login or `/api/auth/me`, else 403 `CSRF_INVALID`.
 * Roles nest: viewer < admin < superadmin; a role too low gets 403 `FORBIDDEN`. Until a first user
 * exists (created with `sluice user add`), every route but health and docs answers 503
 * `SETUP_REQUIRED` with the command to run.
 *
 * Routes (role; see {@link ROUTES} for the schema of each):
 *
 * | method | path | role |
 * | --- | --- | --- |
 * | POST | /api/auth/login | public (rate-limited: 429 + Retry-After) |
 * | POST | /api/auth/logout | viewer |
 * | GET | /api/auth/me | viewer (401 without a session) |
 * | GET, POST | /api/users | superadmin |
 * | PATCH, DELETE | /api/users/:id | superadmin |
 * | GET | /api/integrations | viewer: integrations with their sections and status |
 * | POST | /api/integrations | admin |
 * | GET | /api/integrations/:name | viewer |
 * | PATCH, DELETE | /api/integrations/:name | admin |
 * | POST | /api/integrations/:name/test-connection | admin: stored settings, given credentials |
 * | POST | /api/test-connection | admin: settings not saved yet |
 * | GET | /api/integrations/:name/tables | admin: tables and views |
 * | GET | /api/integrations/:name/tables/:table | admin: columns, key candidates |
 * | POST | /api/integrations/:name/sections | admin: validated like `sluice apply` |
 * | POST | /api/integrations/:name/sections/preview | admin: first rows mapped, nothing saved |
 * | POST | /api/integrations/:name/query | superadmin: the read-only SQL console (audited) |
 * | GET | /api/sections/:id | viewer |
 * | PUT, DELETE | /api/sections/:id | admin |
 * | POST | /api/sections/:id/run | admin: run now |
 * | POST | /api/sections/:id/resync | admin: move the cursor, then run |
 * | GET | /api/sections/:id/runs | viewer: newest first |
 * | GET | /api/runs/:id/rejects | viewer |
 * | GET | /api/data/metrics, /api/data/metrics/:dimensionId/series | viewer |
 * | GET | /api/data/actions, /api/data/actions/:action/series | viewer |
 * | GET | /api/data/endusers, /api/data/companies | viewer |
 * | GET | /api/audit | superadmin |
 * | GET, POST | /api/tokens | admin: tenant tokens of the ingest API (the token shows once) |
 * | DELETE | /api/tokens/:id | admin: revoke |
 * | GET | /api/tokens/:id/rejects | admin: items the token pushed that could not land |
 * | GET | /api/health, /api/docs, /metrics | public |
 */
import { z } from 'zod';
import { DATA_TYPES, DIRECTIONS, MODELS, ROLES, SINK_TYPES } from './types.js';
import { ACTIVITY_TARGETS, MANDATORY_TARGETS, METRIC_TARGETS } from './section-shape.js';

/** The header carrying the session's CSRF token on state-changing requests. */
export const CSRF_HEADER = 'x-csrf-token';
/** The session cookie's name. */
export const SESSION_COOKIE = 'sluice_session';

// --- roles -------------------------------------------------------------------------------------

export { ROLES };
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** True when `role` may do what `needed` may (roles nest: viewer < admin < superadmin). */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

// --- shared pieces -----------------------------------------------------------------------------

const isoDate = z.string().describe('ISO-8601 UTC date and time');
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day as YYYY-MM-DD')
  .describe('a day, YYYY-MM-DD (UTC)');
const id = z.coerce.number().int().positive();

export const FieldErrorSchema = z.object({
  /** The field at fault, as a path into the body: `mapping.email`, `mysql.host`, `key`. */
  field: z.string(),
  message: z.string(),
  /** The MySQL column at fault, when there is one. */
  column: z.string().optional(),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

/** The body of every error answer. */
export const ErrorBodySchema = z.object({
  error: z.object({
    /** A code of core/errors.ts (docs/errors.md). */
    code: z.string(),
    message: z.string(),
    fields: z.array(FieldErrorSchema).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const OkSchema = z.object({ ok: z.literal(true) });
export type Ok = z.infer<typeof OkSchema>;

/** A config problem found on save or preview (like `sluice apply` reports). */
export const IssueSchema = z.object({
  code: z.string(),
  section: z.string().optional(),
  field: z.string(),
  column: z.string().optional(),
  message: z.string(),
});
export type Issue = z.infer<typeof IssueSchema>;

export const IdParamsSchema = z.object({ id });
export const NameParamsSchema = z.object({ name: z.string().min(1) });
export const TableParamsSchema = z.object({ name: z.string().min(1), table: z.string().min(1) });
export const DimensionParamsSchema = z.object({ dimensionId: z.string().min(1) });
export const ActionParamsSchema = z.object({ action: z.string().min(1) });

export const LimitQuerySchema = z.object({
  /** How many; default 50. */
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

// --- auth and users ----------------------------------------------------------------------------

/** Shortest password accepted for a Sluice user, in characters. */
export const MIN_PASSWORD_LENGTH = 12;
const password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1024, 'must be at most 1024 characters');
const email = z.email('must be an email address').max(254);

export const UserSchema = z.object({
  id: z.number().int(),
  email: z.string(),
  role: RoleSchema,
  createdAt: isoDate,
  updatedAt: isoDate,
  lastLoginAt: isoDate.nullable(),
});
export type User = z.infer<typeof UserSchema>;

export const LoginRequestSchema = z.object({
  email: z.string().min(1, 'is required'),
  password: z.string().min(1, 'is required'),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

/** Login and `/api/auth/me`: who is logged in, and the token to send in {@link CSRF_HEADER}. */
export const SessionResponseSchema = z.object({ user: UserSchema, csrfToken: z.string() });
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

export const UserListSchema = z.object({ users: z.array(UserSchema) });
export type UserList = z.infer<typeof UserListSchema>;

export const UserCreateRequestSchema = z.object({ email, password, role: RoleSchema });
export type UserCreateRequest = z.infer<typeof UserCreateRequestSchema>;

/** Change a user's role or password (or both); changing a password ends that user's sessions. */
export const UserUpdateRequestSchema = z
  .object({ role: RoleSchema.optional(), password: password.optional() })
  .refine((u) => u.role !== undefined || u.password !== undefined, {
    message: 'give role or password',
    path: ['role'],
  });
export type UserUpdateRequest = z.infer<typeof UserUpdateRequestSchema>;

export const UserResponseSchema = z.object({ user: UserSchema });
export type UserResponse = z.infer<typeof UserResponseSchema>;

// --- integrations ------------------------------------------------------------------------------

export const TlsSchema = z.object({
  /** `required`: encrypt, do not verify; `verify-ca`: verify against `ca`. */
  mode: z.enum(['required', 'verify-ca']),
  /** Path (on the Sluice server) of a PEM file with the CA certificate(s); needed by verify-ca. */
  ca: z.string().min(1).optional(),
});
export type Tls = z.infer<typeof TlsSchema>;

/** Where an integration's alerts go (one JSON POST per alert): an http(s) URL. */
export const IntegrationAlertsSchema = z.object({ webhook: z.string().optional() });
export type IntegrationAlerts = z.infer<typeof IntegrationAlertsSchema>;

/** A section's own webhook (default: the integration's) and its reject threshold (rows per run). */
export const SectionAlertsSchema = z.object({
  webhook: z.string().optional(),
  rejectThreshold: z.number().int().min(0).optional(),
});
export type SectionAlerts = z.infer<typeof SectionAlertsSchema>;

/**
 * Where a section delivers, as returned: `store` (the embedded store), `planhat` (a
 * Planhat-compatible endpoint instead) or `both`. Never the token: `hasToken` says whether a
 * literal token is stored (encrypted).
 */
export const SinkViewSchema = z.object({
  type: z.enum(SINK_TYPES),
  /** Present when type is `planhat` or `both`. */
  planhat: z
    .object({
      baseUrl: z.string(),
      /** Name of the environment variable holding the tenant token. */
      tokenEnv: z.string().optional(),
      /** True when a literal token is stored (encrypted); the token itself is never returned. */
      hasToken: z.boolean(),
    })
    .optional(),
});
export type SinkView = z.infer<typeof SinkViewSchema>;

/**
 * Where a section delivers, as in the YAML file (`sink`), checked like `sluice apply`. `token` is
 * write-only; giving neither `token` nor `tokenEnv` keeps the token stored before.
 */
export const SinkInputSchema = z.object({
  type: z.enum(SINK_TYPES),
  planhat: z
    .object({
      /** http(s) URL; default https://analytics.planhat.com. */
      baseUrl: z.string().optional(),
      tokenEnv: z.string().optional(),
      token: z.string().optional(),
    })
    .optional(),
});
export type SinkInput = z.infer<typeof SinkInputSchema>;

/** The MySQL settings of an integration as returned: never the password. */
export const MysqlViewSchema = z.object({
  host: z.string(),
  port: z.number().int(),
  user: z.string(),
  database: z.string(),
  passwordEnv: z.string().optional(),
  ssl: TlsSchema.optional(),
});

/** A run's log line. */
export const RunSchema = z.object({
  id: z.number().int(),
  sectionId: z.number().int(),
  section: z.string(),
  /** What started it: `schedule`, `api:<email>`, `cli`, ... */
  trigger: z.string(),
  status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: isoDate,
  finishedAt: isoDate.nullable(),
  rowsRead: z.number(),
  landed: z.number(),
  rejected: z.number(),
  keyFrom: z.string().nullable(),
  keyTo: z.string().nullable(),
  cursor: z.string().nullable(),
  error: z.string().nullable(),
  errorCode: z.string().nullable(),
});
export type Run = z.infer<typeof RunSchema>;

/**
 * A section's status, for the arrow beside it: `active` (on and receiving: green), `off`
 * (direction off or integration off), `running` (a run is going now), `failing` (the last run
 * failed; `lastError` says why; the scheduler backs off).
 */
export const SectionStatusSchema = z.object({
  state: z.enum(['active', 'off', 'running', 'failing']),
  /** The scheduler's own state, or null when no scheduler runs (e.g. tests, a CLI-only store). */
  scheduler: z.enum(['active', 'running', 'backoff', 'off']).nullable(),
  nextRunAt: isoDate.nullable(),
  lastRunAt: isoDate.nullable(),
  /** Finish time of the last succeeded run. */
  lastSuccessAt: isoDate.nullable(),
  /** Consecutive failed runs. */
  failures: z.number().int(),
  lastError: z.string().nullable(),
  lastErrorCode: z.string().nullable(),
  lastRun: RunSchema.nullable(),
});
export type SectionStatus = z.infer<typeof SectionStatusSchema>;

/** A section as stored, with its cursor, totals and status. */
export const SectionViewSchema = z.object({
  id: z.number().int(),
  integration: z.string(),
  name: z.string(),
  dataType: z.enum(DATA_TYPES),
  direction: z.enum(DIRECTIONS),
  table: z.string(),
  key: z.string(),
  batchSize: z.number().int(),
  schedule: z.string(),
  model: z.enum(MODELS).optional(),
  mapping: z.record(z.string(), z.string()),
  info: z.array(z.string()),
  lookback: z.string().optional(),
  alerts: SectionAlertsSchema.optional(),
  /** Absent: the embedded store alone. */
  sink: SinkViewSchema.optional(),
  /** The last key landed, as MySQL prints it; null before the first batch. */
  cursor: z.string().nullable(),
  landed: z.number(),
  rejected: z.number(),
  createdAt: isoDate,
  updatedAt: isoDate,
  status: SectionStatusSchema,
});
export type SectionView = z.infer<typeof SectionViewSchema>;

export const IntegrationViewSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  /** The on/off toggle. */
  enabled: z.boolean(),
  mysql: MysqlViewSchema,
  alerts: IntegrationAlertsSchema.optional(),
  /** True when a password is stored (encrypted); the password itself is never returned. */
  hasPassword: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
  sections: z.array(SectionViewSchema),
});
export type IntegrationView = z.infer<typeof IntegrationViewSchema>;

export const IntegrationListSchema = z.object({ integrations: z.array(IntegrationViewSchema) });
export type IntegrationList = z.infer<typeof IntegrationListSchema>;
export const IntegrationResponseSchema = z.object({ integration: IntegrationViewSchema });
export type IntegrationResponse = z.infer<typeof IntegrationResponseSchema>;

const mysqlInput = {
  host: z.string().min(1, 'must not be empty'),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1, 'must not be empty'),
  /** Write-only: stored encrypted, never returned. */
  password: z.string(),
  /** Name of an environment variable of the server holding the password. */
  passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
  database: z.string().min(1, 'must not be empty').max(64),
};

/**
 * A new integration: the same fields as the `integration` of a YAML file (name, enabled, mysql).
 * Saving does not need MySQL to answer (test with test-connection).
 */
export const IntegrationCreateRequestSchema = z.object({
  name: z.string().min(1).max(64),
  /** Default true. */
  enabled: z.boolean().optional(),
  mysql: z.object({
    host: mysqlInput.host,
    /** Default 3306. */
    port: mysqlInput.port.optional(),
    user: mysqlInput.user,
    password: mysqlInput.password.optional(),
    passwordEnv: mysqlInput.passwordEnv.optional(),
    database: mysqlInput.database,
    ssl: TlsSchema.optional(),
  }),
  alerts: IntegrationAlertsSchema.optional(),
});
export type IntegrationCreateRequest = z.infer<typeof IntegrationCreateRequestSchema>;

/**
 * Changes to an integration: only the fields given change. `password` replaces the stored one;
 * `passwordEnv: null`, `ssl: null` and `alerts: null` clear them. The name cannot change.
 */
export const IntegrationUpdateRequestSchema = z.object({
  enabled: z.boolean().optional(),
  mysql: z
    .object({
      host: mysqlInput.host.optional(),
      port: mysqlInput.port.optional(),
      user: mysqlInput.user.optional(),
      password: mysqlInput.password.optional(),
      passwordEnv: mysqlInput.passwordEnv.nullable().optional(),
      database: mysqlInput.database.optional(),
      ssl: TlsSchema.nullable().optional(),
    })
    .optional(),
  /** Replaces the alerts block; null removes it. */
  alerts: IntegrationAlertsSchema.nullable().optional(),
});
export type IntegrationUpdateRequest = z.infer<typeof IntegrationUpdateRequestSchema>;

/**
 * The credentials dialog's "Set up": tests the stored host, port, database and TLS with these
 * credentials (the stored ones where left out). With `save: true` and a working connection, the
 * user and password are stored.
 */
export const TestConnectionRequestSchema = z.object({
  user: mysqlInput.user.optional(),
  password: mysqlInput.password.optional(),
  save: z.boolean().optional(),
});
export type TestConnectionRequest = z.infer<typeof TestConnectionRequestSchema>;

/** Tests MySQL settings that are not saved yet. */
export const ConnectionTestRequestSchema = z.object({
  host: mysqlInput.host,
  port: mysqlInput.port.optional(),
  user: mysqlInput.user,
  password: mysqlInput.password.optional(),
  database: mysqlInput.database,
  ssl: TlsSchema.optional(),
});
export type ConnectionTestRequest = z.infer<typeof ConnectionTestRequestSchema>;

/**
 * Always 200: `ok: false` says plainly why, with `code` one of MYSQL_UNREACHABLE (host
 * unreachable), MYSQL_ACCESS_DENIED, MYSQL_UNKNOWN_DATABASE, MYSQL_TLS (TLS required or failed),
 * PASSWORD_MISSING, ...
 */
export const TestConnectionResponseSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    server: z.object({ flavor: z.enum(['mysql', 'mariadb']), version: z.string() }),
  }),
  z.object({ ok: z.literal(false), code: z.string(), message: z.string() }),
]);
export type TestConnectionResponse = z.infer<typeof TestConnectionResponseSchema>;

// --- schema (tables and columns) ---------------------------------------------------------------

export const TableListSchema = z.object({
  tables: z.array(z.object({ name: z.string(), kind: z.enum(['table', 'view']) })),
});
export type TableList = z.infer<typeof TableListSchema>;

export const ColumnViewSchema = z.object({
  name: z.string(),
  /** Base type, lower case: `bigint`, `varchar`, ... */
  dataType: z.string(),
  /** Full type: `bigint(20) unsigned`, `varchar(64)`, ... */
  columnType: z.string(),
  nullable: z.boolean(),
  /** True when the column can serve as a section's key (type and length fit). */
  keyCandidate: z.boolean(),
  /** How the key compares, for candidates. */
  keyKind: z.enum(['signed', 'unsigned', 'decimal', 'date', 'datetime', 'string']).nullable(),
  /** True when an index (or the primary key) starts with this column. */
  indexed: z.boolean(),
  /** For a candidate: why it is a poor key (no index: each sync scans the table; nullable). */
  warning: z.string().nullable(),
});
export type ColumnView = z.infer<typeof ColumnViewSchema>;

export const TableDetailSchema = z.object({
  table: z.object({
    name: z.string(),
    kind: z.enum(['table', 'view']),
    columns: z.array(ColumnViewSchema),
    primaryKey: z.array(z.string()),
    indexes: z.array(
      z.object({ name: z.string(), unique: z.boolean(), columns: z.array(z.string()) }),
    ),
  }),
});
export type TableDetail = z.infer<typeof TableDetailSchema>;

// --- sections ----------------------------------------------------------------------------------

/**
 * A section as written in the YAML file (`sections[]`), the body of create, update and preview.
 * The server validates it exactly as `sluice apply` does (the config schema, then the live MySQL
 * schema) and answers 400 `CONFIG_INVALID` or `SECTION_INVALID` with `fields` naming each field
 * at fault (`mapping.email`, `key`, `table`, ...). Defaults: direction `receive`, batchSize
 * 10000 (rows, 1-100000), schedule `every 1h`, model `Company` for metrics, info `[]`.
 */
export const SectionInputSchema = z.object({
  name: z.string(),
  dataType: z.enum(DATA_TYPES),
  direction: z.enum(DIRECTIONS).optional(),
  table: z.string(),
  key: z.string(),
  batchSize: z.number().int().optional(),
  /** `every 5m|10m|30m|1h` or `daily at HH:00`. */
  schedule: z.string().optional(),
  /** Metrics only. */
  model: z.enum(MODELS).optional(),
  /** Target field -> source column. Activities: email or externalId, name, companyExternalId, action, weight, date. Metrics: dimensionId, value, externalId, date. */
  mapping: z.record(z.string(), z.string()),
  /** Activities only: extra columns copied into the activity's info. */
  info: z.array(z.string()).optional(),
  /** Re-read window behind the cursor: key units (`100`) or a duration (`10m`). */
  lookback: z.string().optional(),
  alerts: SectionAlertsSchema.optional(),
  /**
   * Where the section delivers (default: the store). On update, leaving `sink` out keeps the
   * stored one, token included.
   */
  sink: SinkInputSchema.optional(),
});
export type SectionInput = z.infer<typeof SectionInputSchema>;

/** The schedules the "Run once in" dropdown offers (the config accepts exactly these). */
export const SCHEDULE_CHOICES: readonly string[] = [
  'every 5m',
  'every 10m',
  'every 30m',
  'every 1h',
  ...Array.from({ length: 24 }, (_, h) => `daily at ${String(h).padStart(2, '0')}:00`),
];

/** Mapping targets per data type; `mandatory` must be mapped (activities: email OR externalId). */
export const MAPPING_TARGETS = {
  activities: { targets: ACTIVITY_TARGETS, mandatory: MANDATORY_TARGETS.activities },
  metrics: { targets: METRIC_TARGETS, mandatory: MANDATORY_TARGETS.metrics },
} as const;

export const SectionResponseSchema = z.object({ section: SectionViewSchema });
export type SectionResponse = z.infer<typeof SectionResponseSchema>;

/** A saved section and the warnings that did not stop the save (e.g. key not indexed). */
export const SectionSaveResponseSchema = z.object({
  section: SectionViewSchema,
  warnings: z.array(IssueSchema),
});
export type SectionSaveResponse = z.infer<typeof SectionSaveResponseSchema>;

export const PreviewQuerySchema = z.object({
  /** Rows to read from the start of the table; default 20. */
  limit: z.coerce.number().int().min(1).max(500).default(20),
});

/** A record the preview would land: an activity or a metric point. */
export const PreviewRecordSchema = z.object({
  key: z.string(),
  rowId: z.string(),
  email: z.string().optional(),
  externalId: z.string().optional(),
  name: z.string().optional(),
  companyExternalId: z.string().optional(),
  action: z.string().optional(),
  weight: z.number().optional(),
  model: z.enum(MODELS).optional(),
  dimensionId: z.string().optional(),
  value: z.number().optional(),
  date: isoDate,
  info: z.string().optional(),
});
export type PreviewRecord = z.infer<typeof PreviewRecordSchema>;

export const RejectSchema = z.object({
  key: z.string(),
  rowId: z.string(),
  /** The mapped target at fault (`email`, `value`, ...) or `row`. */
  field: z.string(),
  column: z.string().optional(),
  code: z.string(),
  reason: z.string(),
  input: z.string().optional(),
});
export type Reject = z.infer<typeof RejectSchema>;

/** The first rows of the table as read (column -> value) and what they become. */
export const PreviewResponseSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.record(z.string(), z.unknown())),
  records: z.array(PreviewRecordSchema),
  rejects: z.array(RejectSchema),
  warnings: z.array(IssueSchema),
});
export type PreviewResponse = z.infer<typeof PreviewResponseSchema>;

export const TriggerResponseSchema = z.object({
  /** Queued: the run starts as soon as the section is free. */
  queued: z.literal(true),
  sectionId: z.number().int(),
});
export type TriggerResponse = z.infer<typeof TriggerResponseSchema>;

/**
 * Re-sync: `last` re-fetches from the last sync point (the cursor stays), `key` from just after
 * `key`, `start` from the beginning. Rows landed before are not landed twice.
 */
export const ResyncRequestSchema = z
  .object({ from: z.enum(['last', 'key', 'start']), key: z.string().min(1).max(32).optional() })
  .refine((r) => r.from !== 'key' || r.key !== undefined, {
    message: 'is required when from is "key"',
    path: ['key'],
  });
export type ResyncRequest = z.infer<typeof ResyncRequestSchema>;

export const ResyncResponseSchema = z.object({
  queued: z.literal(true),
  sectionId: z.number().int(),
  cursorBefore: z.string().nullable(),
  cursorAfter: z.string().nullable(),
});
export type ResyncResponse = z.infer<typeof ResyncResponseSchema>;

export const RunListSchema = z.object({ runs: z.array(RunSchema) });
export type RunList = z.infer<typeof RunListSchema>;

export const RunRejectSchema = RejectSchema.extend({
  id: z.number().int(),
  runId: z.number().int(),
  sectionId: z.number().int(),
  createdAt: isoDate,
});
export const RejectListSchema = z.object({ rejects: z.array(RunRejectSchema) });
export type RejectList = z.infer<typeof RejectListSchema>;

// --- the data module ---------------------------------------------------------------------------

/** Path segment standing for activities without an action in `/api/data/actions/:action/series`. */
export const NO_ACTION = '(none)';

/** The `:action` param of an action (null: activities with no action), for {@link apiPath}. */
export function actionParam(action: string | null): string {
  return action ?? NO_ACTION;
}

/**
 * Where landed data came from: `pulled` by a MySQL section (`name`: the section's, `integration`:
 * its integration's) or `pushed` through the ingest API (`name`: the tenant token's).
 */
export const OriginSchema = z.object({
  kind: z.enum(['pulled', 'pushed']),
  name: z.string(),
  integration: z.string().optional(),
});
export type Origin = z.infer<typeof OriginSchema>;

export const MetricSummarySchema = z.object({
  dimensionId: z.string(),
  model: z.enum(MODELS),
  /** Points landed. */
  points: z.number(),
  /** Distinct externalIds with points. */
  objects: z.number(),
  firstDate: isoDate,
  lastDate: isoDate,
  /** The sections and tokens that landed points of this metric. */
  origins: z.array(OriginSchema),
});
export type MetricSummary = z.infer<typeof MetricSummarySchema>;
export const MetricListSchema = z.object({ metrics: z.array(MetricSummarySchema) });
export type MetricList = z.infer<typeof MetricListSchema>;

export const ActionSummarySchema = z.object({
  /** Null for activities whose section maps no action. */
  action: z.string().nullable(),
  count: z.number(),
  /** Each activity counts its weight (default 1). */
  weightedCount: z.number(),
  /** Distinct endusers with this action. */
  endusers: z.number(),
  firstDate: isoDate,
  lastDate: isoDate,
  /** The sections and tokens that landed activities with this action. */
  origins: z.array(OriginSchema),
});
export type ActionSummary = z.infer<typeof ActionSummarySchema>;
export const ActionListSchema = z.object({ actions: z.array(ActionSummarySchema) });
export type ActionList = z.infer<typeof ActionListSchema>;

export const MetricSeriesQuerySchema = z.object({
  /** `sum`: the sum of values per day; `last`: per object the last value of each day, summed over objects. Default `sum`. */
  agg: z.enum(['sum', 'last']).default('sum'),
  /** Only this object (company, enduser, ...). */
  externalId: z.string().min(1).optional(),
  /** Only this model, when a dimensionId lands on several. */
  model: z.enum(MODELS).optional(),
  /** First day included. */
  from: day.optional(),
  /** Last day included. */
  to: day.optional(),
});
export type MetricSeriesQuery = z.infer<typeof MetricSeriesQuerySchema>;

export const ActionSeriesQuerySchema = z.object({
  /** Only this enduser (its externalId, or its email when it has none). */
  externalId: z.string().min(1).optional(),
  from: day.optional(),
  to: day.optional(),
});
export type ActionSeriesQuery = z.infer<typeof ActionSeriesQuerySchema>;

/** One value per day that has data, days ascending. */
export const SeriesSchema = z.object({
  points: z.array(z.object({ day, value: z.number() })),
});
export type Series = z.infer<typeof SeriesSchema>;

export const PageQuerySchema = z.object({
  /** Case-insensitive substring of externalId, email or name. */
  search: z.string().optional(),
  /** Default 50. */
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

export const EnduserSchema = z.object({
  externalId: z.string().nullable(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  companyExternalId: z.string().nullable(),
  firstSeen: isoDate,
  lastSeen: isoDate,
  /** Activities landed for this enduser. */
  activities: z.number(),
  /** Activities counted with their weight. */
  weightedActivities: z.number(),
});
export type Enduser = z.infer<typeof EnduserSchema>;
export const EnduserPageSchema = z.object({ total: z.number(), items: z.array(EnduserSchema) });
export type EnduserPage = z.infer<typeof EnduserPageSchema>;

export const CompanySchema = z.object({
  externalId: z.string(),
  firstSeen: isoDate,
  lastSeen: isoDate,
  activities: z.number(),
  weightedActivities: z.number(),
  /** Metric points landed on this company (model Company). */
  metricPoints: z.number(),
});
export type Company = z.infer<typeof CompanySchema>;
export const CompanyPageSchema = z.object({ total: z.number(), items: z.array(CompanySchema) });
export type CompanyPage = z.infer<typeof CompanyPageSchema>;

// --- the SQL console and the audit log ---------------------------------------------------------

/** Console limits: the statement's time limit (ms) and the most rows returned. */
export const QUERY_TIMEOUT_MS = 10_000;
export const QUERY_ROW_CAP = 1000;

export const QueryRequestSchema = z.object({
  /** ONE statement; it runs in a read-only transaction of a read-only session. */
  sql: z.string().trim().min(1, 'is required').max(100_000),
});
export type QueryRequest = z.infer<typeof QueryRequestSchema>;

export const QueryResponseSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.array(z.unknown())),
  /** True when the row cap ({@link QUERY_ROW_CAP}) cut the result. */
  truncated: z.boolean(),
  durationMs: z.number(),
});
export type QueryResponse = z.infer<typeof QueryResponseSchema>;

export const AuditEntrySchema = z.object({
  id: z.number().int(),
  at: isoDate,
  /** Null when the user was deleted since. */
  userId: z.number().int().nullable(),
  email: z.string(),
  /** `query`, `login`, `user.create`, `section.save`, `section.resync`, ... */
  action: z.string(),
  integration: z.string().nullable(),
  /** The SQL of a console query; a short description for other actions. */
  detail: z.string(),
  outcome: z.enum(['ok', 'error']),
  /** The error message, or for a query the number of rows returned. */
  result: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  /** Only this action (e.g. `query`). */
  action: z.string().optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;
export const AuditListSchema = z.object({ total: z.number(), entries: z.array(AuditEntrySchema) });
export type AuditList = z.infer<typeof AuditListSchema>;

// --- the ingest API: tenant tokens and Planhat-compatible bodies -------------------------------

/** A tenant token as listed: never the token itself (shown once, when created). */
export const ApiTokenSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  /** The token's first characters, to tell tokens apart. */
  prefix: z.string(),
  createdAt: isoDate,
  /** Email of the user who created it, or `cli`. */
  createdBy: z.string(),
  /** Null while the token works. */
  revokedAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
});
export type ApiToken = z.infer<typeof ApiTokenSchema>;
export const TokenListSchema = z.object({ tokens: z.array(ApiTokenSchema) });
export type TokenList = z.infer<typeof TokenListSchema>;

/** Token names: like integration and section names (they label the data a token pushes). */
export const TokenNameSchema = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'use letters, digits, space, dot, dash or underscore');

export const TokenCreateRequestSchema = z.object({
  /** Unique, revoked tokens included. */
  name: TokenNameSchema,
});
export type TokenCreateRequest = z.infer<typeof TokenCreateRequestSchema>;

/** A created token with its secret: the only time the token is shown. */
export const TokenCreatedSchema = z.object({ token: ApiTokenSchema, secret: z.string() });
export type TokenCreated = z.infer<typeof TokenCreatedSchema>;
export const TokenResponseSchema = z.object({ token: ApiTokenSchema });
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** An item a token pushed that could not land: its index in the request body and the reason. */
export const TokenRejectSchema = z.object({
  id: z.number().int(),
  dataType: z.enum(DATA_TYPES),
  /** Position of the item in its request's array (0 for a single object). */
  index: z.number().int(),
  /** The field at fault (`email`, `value`, `date`, `model`, ...) or `item`. */
  field: z.string(),
  code: z.string(),
  reason: z.string(),
  /** The item as JSON, at most 200 characters. */
  input: z.string().nullable(),
  createdAt: isoDate,
});
export type TokenReject = z.infer<typeof TokenRejectSchema>;
export const TokenRejectListSchema = z.object({ rejects: z.array(TokenRejectSchema) });
export type TokenRejectList = z.infer<typeof TokenRejectListSchema>;

/**
 * The answer of `POST /analytics/:tenantToken`, `/analytics/bulk/:tenantToken` and
 * `/dimensiondata/:tenantToken`: how many items landed, and each item that did not with its index
 * and reason (kept as a reject of the token).
 */
export const IngestResponseSchema = z.object({
  processed: z.number().int(),
  errors: z.array(z.object({ index: z.number().int(), reason: z.string() })),
});
export type IngestResponse = z.infer<typeof IngestResponseSchema>;

/** Days since 1970-01-01 (UTC), up to 9999-12-31. */
const epochDays = z.coerce.number().int().min(0).max(2_932_896);

/** `GET /dimensiondata` (Planhat's names): filters and paging of the stored metric points. */
export const DimensionDataQuerySchema = z.object({
  /** A company's externalId: its points (model Company). */
  cId: z.string().min(1).optional(),
  /** An object's externalId, on any model. */
  externalId: z.string().min(1).optional(),
  /** The dimensionId. */
  dimid: z.string().min(1).optional(),
  /** First day included, as days since 1970-01-01 (UTC). */
  from: epochDays.optional(),
  /** Last day included, as days since 1970-01-01 (UTC). */
  to: epochDays.optional(),
  /** Default 1000, at most 10000. */
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
  /** The tenant token, when not sent as `Authorization: Bearer <token>`. */
  tenantToken: z.string().optional(),
});
export type DimensionDataQuery = z.infer<typeof DimensionDataQuerySchema>;

/** One stored metric point; pulled and pushed alike. */
export const DimensionDataPointSchema = z.object({
  dimensionId: z.string(),
  value: z.number(),
  model: z.enum(MODELS),
  externalId: z.string(),
  date: isoDate,
  origin: OriginSchema,
});
export type DimensionDataPoint = z.infer<typeof DimensionDataPointSchema>;

// --- operations --------------------------------------------------------------------------------

export const HealthSchema = z.object({
  /** True when the store answers and the scheduler (if any) runs. */
  ok: z.boolean(),
  store: z.enum(['ok', 'error']),
  scheduler: z.enum(['running', 'stopped', 'none']),
  /** False until a first user exists (`sluice user add`). */
  setupDone: z.boolean(),
  version: z.string(),
  /** The IANA time zone in which `daily at HH:00` schedules run (the scheduler's; default UTC). */
  timeZone: z.string(),
});
export type Health = z.infer<typeof HealthSchema>;

// --- the routes --------------------------------------------------------------------------------

/** Every schema by name: the OpenAPI document's `components.schemas`. */
export const API_SCHEMAS = {
  ErrorBody: ErrorBodySchema,
  Ok: OkSchema,
  IdParams: IdParamsSchema,
  NameParams: NameParamsSchema,
  TableParams: TableParamsSchema,
  DimensionParams: DimensionParamsSchema,
  ActionParams: ActionParamsSchema,
  LimitQuery: LimitQuerySchema,
  LoginRequest: LoginRequestSchema,
  SessionResponse: SessionResponseSchema,
  UserList: UserListSchema,
  UserCreateRequest: UserCreateRequestSchema,
  UserUpdateRequest: UserUpdateRequestSchema,
  UserResponse: UserResponseSchema,
  IntegrationList: IntegrationListSchema,
  IntegrationResponse: IntegrationResponseSchema,
  IntegrationCreateRequest: IntegrationCreateRequestSchema,
  IntegrationUpdateRequest: IntegrationUpdateRequestSchema,
  TestConnectionRequest: TestConnectionRequestSchema,
  ConnectionTestRequest: ConnectionTestRequestSchema,
  TestConnectionResponse: TestConnectionResponseSchema,
  TableList: TableListSchema,
  TableDetail: TableDetailSchema,
  SectionInput: SectionInputSchema,
  SectionResponse: SectionResponseSchema,
  SectionSaveResponse: SectionSaveResponseSchema,
  PreviewQuery: PreviewQuerySchema,
  PreviewResponse: PreviewResponseSchema,
  TriggerResponse: TriggerResponseSchema,
  ResyncRequest: ResyncRequestSchema,
  ResyncResponse: ResyncResponseSchema,
  RunList: RunListSchema,
  RejectList: RejectListSchema,
  MetricList: MetricListSchema,
  ActionList: ActionListSchema,
  MetricSeriesQuery: MetricSeriesQuerySchema,
  ActionSeriesQuery: ActionSeriesQuerySchema,
  Series: SeriesSchema,
  PageQuery: PageQuerySchema,
  EnduserPage: EnduserPageSchema,
  CompanyPage: CompanyPageSchema,
  QueryRequest: QueryRequestSchema,
  QueryResponse: QueryResponseSchema,
  AuditQuery: AuditQuerySchema,
  AuditList: AuditListSchema,
  TokenList: TokenListSchema,
  TokenCreateRequest: TokenCreateRequestSchema,
  TokenCreated: TokenCreatedSchema,
  TokenResponse: TokenResponseSchema,
  TokenRejectList: TokenRejectListSchema,
  Health: HealthSchema,
} as const;
export type SchemaName = keyof typeof API_SCHEMAS;

/** Who may call a route: `public` needs no session. */
export type RouteRole = Role | 'public';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify-style path: `:param` segments. */
  path: string;
  summary: string;
  role: RouteRole;
  /** OpenAPI tag: the page of the UI it serves. */
  tag:
    'auth' | 'users' | 'integrations' | 'sections' | 'data' | 'console' | 'tokens' | 'operations';
  params?: SchemaName;
  query?: SchemaName;
  body?: SchemaName;
  /** The 2xx answer's schema; null for a non-JSON answer (`/metrics`, `/api/docs`). */
  response: SchemaName | null;
  /** The success status; default 200. */
  status?: number;
}

/**
 * Every route of the API, by operation id. The server registers exactly these (a test checks
 * that /api/docs lists each); the UI builds URLs from `path` (see {@link apiPath}).
 */
export const ROUTES = {
  login: {
    method: 'POST',
    path: '/api/auth/login',
    summary: 'Log in: sets the session cookie; answers the user and the CSRF token',
    role: 'public',
    tag: 'auth',
    body: 'LoginRequest',
    response: 'SessionResponse',
  },
  logout: {
    method: 'POST',
    path: '/api/auth/logout',
    summary: 'Log out: ends the session and clears the cookie',
    role: 'viewer',
    tag: 'auth',
    response: 'Ok',
  },
  me: {
    method: 'GET',
    path: '/api/auth/me',
    summary: 'The logged-in user and the CSRF token (401 without a session)',
    role: 'viewer',
    tag: 'auth',
    response: 'SessionResponse',
  },
  listUsers: {
    method: 'GET',
    path: '/api/users',
    summary: 'List users',
    role: 'superadmin',
    tag: 'users',
    response: 'UserList',
  },
  createUser: {
    method: 'POST',
    path: '/api/users',
    summary: 'Create a user',
    role: 'superadmin',
    tag: 'users',
    body: 'UserCreateRequest',
    response: 'UserResponse',
    status: 201,
  },
  updateUser: {
    method: 'PATCH',
    path: '/api/users/:id',
    summary: "Change a user's role or password (a new password ends their sessions)",
    role: 'superadmin',
    tag: 'users',
    params: 'IdParams',
    body: 'UserUpdateRequest',
    response: 'UserResponse',
  },
  deleteUser: {
    method: 'DELETE',
    path: '/api/users/:id',
    summary: 'Delete a user (not yourself, not the last superadmin)',
    role: 'superadmin',
    tag: 'users',
    params: 'IdParams',
    response: 'Ok',
  },
  listIntegrations: {
    method: 'GET',
    path: '/api/integrations',
    summary: 'Integrations with their sections and each section status, last and next run',
    role: 'viewer',
    tag: 'integrations',
    response: 'IntegrationList',
  },
  createIntegration: {
    method: 'POST',
    path: '/api/integrations',
    summary: 'Create an integration (the MySQL card)',
    role: 'admin',
    tag: 'integrations',
    body: 'IntegrationCreateRequest',
    response: 'IntegrationResponse',
    status: 201,
  },
  getIntegration: {
    method: 'GET',
    path: '/api/integrations/:name',
    summary: 'One integration with its sections and their status',
    role: 'viewer',
    tag: 'integrations',
    params: 'NameParams',
    response: 'IntegrationResponse',
  },
  updateIntegration: {
    method: 'PATCH',
    path: '/api/integrations/:name',
    summary: 'Change host, port, user, password, database, TLS or the on/off toggle',
    role: 'admin',
    tag: 'integrations',
    params: 'NameParams',
    body: 'IntegrationUpdateRequest',
    response: 'IntegrationResponse',
  },
  deleteIntegration: {
    method: 'DELETE',
    path: '/api/integrations/:name',
    summary: 'Delete an integration with its sections, runs and landed data',
    role: 'admin',
    tag: 'integrations',
    params: 'NameParams',
    response: 'Ok',
  },
  testIntegrationConnection: {
    method: 'POST',
    path: '/api/integrations/:name/test-connection',
    summary: 'Test the connection with these credentials; optionally save them when it works',
    role: 'admin',
    tag: 'integrations',
    params: 'NameParams',
    body: 'TestConnectionRequest',
    response: 'TestConnectionResponse',
  },
  testConnection: {
    method: 'POST',
    path: '/api/test-connection',
    summary: 'Test MySQL settings that are not saved yet',
    role: 'admin',
    tag: 'integrations',
    body: 'ConnectionTestRequest',
    response: 'TestConnectionResponse',
  },
  listTables: {
    method: 'GET',
    path: '/api/integrations/:name/tables',
    summary: "The database's tables and views",
    role: 'admin',
    tag: 'integrations',
    params: 'NameParams',
    response: 'TableList',
  },
  describeTable: {
    method: 'GET',
    path: '/api/integrations/:name/tables/:table',
    summary: 'Columns of a table, with key candidates (flagged when not indexed)',
    role: 'admin',
    tag: 'integrations',
    params: 'TableParams',
    response: 'TableDetail',
  },
  createSection: {
    method: 'POST',
    path: '/api/integrations/:name/sections',
    summary: 'Add a section, validated against the live schema exactly like `sluice apply`',
    role: 'admin',
    tag: 'sections',
    params: 'NameParams',
    body: 'SectionInput',
    response: 'SectionSaveResponse',
    status: 201,
  },
  previewSection: {
    method: 'POST',
    path: '/api/integrations/:name/sections/preview',
    summary: 'The first rows of the table mapped to records, and the rows that would be rejected',
    role: 'admin',
    tag: 'sections',
    params: 'NameParams',
    query: 'PreviewQuery',
    body: 'SectionInput',
    response: 'PreviewResponse',
  },
  runQuery: {
    method: 'POST',
    path: '/api/integrations/:name/query',
    summary:
      'The SQL console: one read-only statement, 10 s limit, 1000 rows at most; audited; MySQL errors as MySQL gives them',
    role: 'superadmin',
    tag: 'console',
    params: 'NameParams',
    body: 'QueryRequest',
    response: 'QueryResponse',
  },
  getSection: {
    method: 'GET',
    path: '/api/sections/:id',
    summary: 'One section with its status',
    role: 'viewer',
    tag: 'sections',
    params: 'IdParams',
    response: 'SectionResponse',
  },
  updateSection: {
    method: 'PUT',
    path: '/api/sections/:id',
    summary: 'Replace a section config (same validation as create); the name cannot change',
    role: 'admin',
    tag: 'sections',
    params: 'IdParams',
    body: 'SectionInput',
    response: 'SectionSaveResponse',
  },
  deleteSection: {
    method: 'DELETE',
    path: '/api/sections/:id',
    summary: 'Delete a section with its runs, rejects and landed data',
    role: 'admin',
    tag: 'sections',
    params: 'IdParams',
    response: 'Ok',
  },
  runSection: {
    method: 'POST',
    path: '/api/sections/:id/run',
    summary: 'Run the section now (queued until it is free)',
    role: 'admin',
    tag: 'sections',
    params: 'IdParams',
    response: 'TriggerResponse',
    status: 202,
  },
  resyncSection: {
    method: 'POST',
    path: '/api/sections/:id/resync',
    summary:
      'Re-fetch from the last sync point, a key, or the start, then run; nothing lands twice',
    role: 'admin',
    tag: 'sections',
    params: 'IdParams',
    body: 'ResyncRequest',
    response: 'ResyncResponse',
    status: 202,
  },
  listRuns: {
    method: 'GET',
    path: '/api/sections/:id/runs',
    summary: "The section's runs, newest first",
    role: 'viewer',
    tag: 'sections',
    params: 'IdParams',
    query: 'LimitQuery',
    response: 'RunList',
  },
  listRejects: {
    method: 'GET',
    path: '/api/runs/:id/rejects',
    summary: 'Rows a run rejected, with key and reason',
    role: 'viewer',
    tag: 'sections',
    params: 'IdParams',
    query: 'LimitQuery',
    response: 'RejectList',
  },
  listMetrics: {
    method: 'GET',
    path: '/api/data/metrics',
    summary: 'Every custom metric: points, objects, first and last date',
    role: 'viewer',
    tag: 'data',
    response: 'MetricList',
  },
  metricSeries: {
    method: 'GET',
    path: '/api/data/metrics/:dimensionId/series',
    summary: 'A metric per day: the sum of values, or the last value per object summed',
    role: 'viewer',
    tag: 'data',
    params: 'DimensionParams',
    query: 'MetricSeriesQuery',
    response: 'Series',
  },
  listActions: {
    method: 'GET',
    path: '/api/data/actions',
    summary: 'Every activity action: count, weighted count, endusers, first and last date',
    role: 'viewer',
    tag: 'data',
    response: 'ActionList',
  },
  actionSeries: {
    method: 'GET',
    path: '/api/data/actions/:action/series',
    summary: "An action's weighted count per day",
    role: 'viewer',
    tag: 'data',
    params: 'ActionParams',
    query: 'ActionSeriesQuery',
    response: 'Series',
  },
  listEndusers: {
    method: 'GET',
    path: '/api/data/endusers',
    summary: 'Endusers seen, with their activity counts',
    role: 'viewer',
    tag: 'data',
    query: 'PageQuery',
    response: 'EnduserPage',
  },
  listCompanies: {
    method: 'GET',
    path: '/api/data/companies',
    summary: 'Companies seen, with their activity and metric counts',
    role: 'viewer',
    tag: 'data',
    query: 'PageQuery',
    response: 'CompanyPage',
  },
  listAudit: {
    method: 'GET',
    path: '/api/audit',
    summary: 'The audit log: console queries and admin actions, newest first',
    role: 'superadmin',
    tag: 'console',
    query: 'AuditQuery',
    response: 'AuditList',
  },
  listTokens: {
    method: 'GET',
    path: '/api/tokens',
    summary: 'Tenant tokens of the ingest API, revoked ones included (never the token itself)',
    role: 'admin',
    tag: 'tokens',
    response: 'TokenList',
  },
  createToken: {
    method: 'POST',
    path: '/api/tokens',
    summary: 'Create a tenant token: the answer shows the token, once (only its hash is kept)',
    role: 'admin',
    tag: 'tokens',
    body: 'TokenCreateRequest',
    response: 'TokenCreated',
    status: 201,
  },
  revokeToken: {
    method: 'DELETE',
    path: '/api/tokens/:id',
    summary: 'Revoke a tenant token: it gets 401 from now on; what it pushed stays',
    role: 'admin',
    tag: 'tokens',
    params: 'IdParams',
    response: 'TokenResponse',
  },
  listTokenRejects: {
    method: 'GET',
    path: '/api/tokens/:id/rejects',
    summary: 'Items the token pushed that could not land, with their index and reason',
    role: 'admin',
    tag: 'tokens',
    params: 'IdParams',
    query: 'LimitQuery',
    response: 'TokenRejectList',
  },
  health: {
    method: 'GET',
    path: '/api/health',
    summary: 'Store reachable and scheduler running (503 when not)',
    role: 'public',
    tag: 'operations',
    response: 'Health',
  },
  docs: {
    method: 'GET',
    path: '/api/docs',
    summary: 'This OpenAPI 3.1 document',
    role: 'public',
    tag: 'operations',
    response: null,
  },
  metrics: {
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics (text format)',
    role: 'public',
    tag: 'operations',
    response: null,
  },
} as const satisfies Record<string, RouteSpec>;
export type RouteId = keyof typeof ROUTES;

/** Fills a route's `:param` segments (URL-encoded): `apiPath('getSection', { id: 3 })`. */
export function apiPath(route: RouteId, params: Record<string, string | number> = {}): string {
  return ROUTES[route].path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`apiPath(${route}): missing param ${name}`);
    return encodeURIComponent(String(value));
  });
}
