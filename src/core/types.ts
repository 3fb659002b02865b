/** The domain vocabulary of Sluice (see DESIGN.md). Pure types: no I/O, no imports from other folders. */

export const DATA_TYPES = ['activities', 'metrics'] as const;
/** User roles, least to most allowed (see core/api.ts). */
export const ROLES = ['viewer', 'admin', 'superadmin'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export const DIRECTIONS = ['receive', 'off'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const MODELS = ['Company', 'Enduser', 'Project', 'Asset'] as const;
export type Model = (typeof MODELS)[number];

/** TLS options for the MySQL connection. `required`: encrypt, do not verify; `verify-ca`: verify against `ca`. */
export interface TlsConfig {
  mode: 'required' | 'verify-ca';
  /** Path to a PEM file with the CA certificate(s); required for `verify-ca`. */
  ca?: string;
}

export interface MysqlConfig {
  host: string;
  /** TCP port; default 3306. */
  port: number;
  user: string;
  /** Name of the environment variable holding the password (kept in config, the secret is not). */
  passwordEnv?: string;
  /** A literal password; stored encrypted, never exported. */
  password?: string;
  database: string;
  ssl?: TlsConfig;
}

/** Where an integration's alerts go; its sections use this webhook unless they name their own. */
export interface IntegrationAlerts {
  /** http(s) URL that receives one JSON POST per alert. */
  webhook?: string;
}

/** A section's alerts: its own webhook (overrides the integration's) and a reject threshold. */
export interface SectionAlerts {
  /** http(s) URL that receives one JSON POST per alert; default: the integration's webhook. */
  webhook?: string;
  /** Alert when one run rejects more rows than this (a count, >= 0); unset: no reject alert. */
  rejectThreshold?: number;
}

export interface IntegrationConfig {
  name: string;
  mysql: MysqlConfig;
  /** The integration toggle; a section syncs only when its integration is enabled. Default true. */
  enabled: boolean;
  /** Absent when no alert is configured. */
  alerts?: IntegrationAlerts;
}

export const SINK_TYPES = ['store', 'planhat', 'both'] as const;
/** Where a section's records go: the embedded store (default), a Planhat-compatible endpoint, or both. */
export type SinkType = (typeof SINK_TYPES)[number];

/** Planhat's analytics host: the default base URL of a planhat sink. */
export const PLANHAT_BASE_URL = 'https://analytics.planhat.com';

/** A Planhat-compatible endpoint: `POST {baseUrl}/analytics/bulk/{token}` and `/dimensiondata/{token}`. */
export interface PlanhatSinkConfig {
  /** http(s) URL without a trailing slash; default {@link PLANHAT_BASE_URL}. */
  baseUrl: string;
  /** Name of the environment variable holding the tenant token. */
  tokenEnv?: string;
  /** A literal tenant token; stored encrypted, never exported or returned. */
  token?: string;
}

export interface SinkConfig {
  type: SinkType;
  /** Present when type is `planhat` or `both`. */
  planhat?: PlanhatSinkConfig;
}

export interface SectionConfig {
  name: string;
  dataType: DataType;
  direction: Direction;
  table: string;
  key: string;
  /** Rows per keyset query and per commit; default 10000, at most 100000. */
  batchSize: number;
  /** `every 5m|10m|30m|1h` or `daily at HH:00`. */
  schedule: string;
  /** Metrics only: the model the points land on. */
  model?: Model;
  /** Target field -> source column. */
  mapping: Record<string, string>;
  /** Activities only: extra source columns copied into the activity's `info` object. */
  info: string[];
  /** Re-read window behind the cursor: a count of key units (numeric keys) or a duration like `10m` (temporal keys). */
  lookback?: string;
  /** Absent when no alert is configured. */
  alerts?: SectionAlerts;
  /** Absent: the embedded store. An integration's `sink` is copied to sections without their own. */
  sink?: SinkConfig;
}

export interface SluiceConfig {
  integration: IntegrationConfig;
  sections: SectionConfig[];
}

/** How a key column's values compare and are bound in SQL. */
export type KeyKind = 'signed' | 'unsigned' | 'decimal' | 'date' | 'datetime' | 'string';

/** A column of a source table, as the MySQL information schema describes it. */
export interface ColumnInfo {
  name: string;
  /** Lower-case base type: `bigint`, `varchar`, `datetime`, ... */
  dataType: string;
  /** Full type: `bigint(20) unsigned`, `decimal(20,4)`, `varchar(64)`, ... */
  columnType: string;
  nullable: boolean;
  /** Characters, for string types. */
  maxLength: number | null;
  numericPrecision: number | null;
  numericScale: number | null;
  /** Fractional-second digits of temporal types. */
  datetimePrecision: number | null;
}

export interface IndexInfo {
  name: string;
  unique: boolean;
  columns: string[];
}

export interface TableInfo {
  name: string;
  kind: 'table' | 'view';
  columns: ColumnInfo[];
  /** Empty when the table has none (and always for views). */
  primaryKey: string[];
  indexes: IndexInfo[];
}

/** A problem found in config or against the live schema; names the section, field and column at fault. */
export interface ConfigIssue {
  code: string;
  section?: string;
  field: string;
  column?: string;
  message: string;
}

/**
 * What the engine needs to read a section: derived from the section and the live schema by
 * `planSection` (core/plan.ts). `columns` is the exact select list; rows arrive as arrays in that order.
 */
export interface ReadPlan {
  table: string;
  key: string;
  keyKind: KeyKind;
  /** Digits after the point for decimal keys, fractional-second digits for datetime keys. */
  keyScale: number;
  /** True when no two rows can share a key value (single-column primary or unique key, NOT NULL). */
  keyUnique: boolean;
  /** Columns that identify a row (primary key, else a NOT NULL unique key); empty: identify by content. */
  identity: string[];
  /** How the identity column compares, when the identity is one orderable column (pages big tie groups); else null. */
  identityKind: KeyKind | null;
  /** Select list, deduplicated; the key column is always at index 0. */
  columns: string[];
}

/** One source row as read: values in `ReadPlan.columns` order (strings for big numbers, decimals and dates). */
export type SourceRow = unknown[];

/** A user activity ready to land. Absent targets are `undefined`, never empty strings. */
export interface ActivityRecord {
  /** Identity of the source row within its section (see ReadPlan.identity). */
  rowId: string;
  /** The key value as MySQL prints it. */
  key: string;
  email?: string;
  externalId?: string;
  name?: string;
  companyExternalId?: string;
  action?: string;
  /** Multiplies the count of the activity; default 1. */
  weight: number;
  /** UTC ISO-8601. */
  date: string;
  /** JSON object text, when the section copies `info` columns. */
  info?: string;
}

/** A custom metric point ready to land. */
export interface MetricRecord {
  rowId: string;
  key: string;
  model: Model;
  externalId: string;
  dimensionId: string;
  value: number;
  /** UTC ISO-8601. */
  date: string;
}

export type LandedRecord = ActivityRecord | MetricRecord;

/** A source row that cannot become a record: kept with its key and the reason. */
export interface RejectRecord {
  rowId: string;
  key: string;
  /** The mapped target at fault (`email`, `value`, ...) or `row`. */
  field: string;
  /** The source column at fault, when there is one. */
  column?: string;
  code: RejectCode;
  reason: string;
  /** The offending input, as text (truncated to 200 characters). */
  input?: string;
}

export type RejectCode =
  | 'missing_identity'
  | 'missing_value'
  | 'not_a_number'
  | 'not_finite'
  | 'bad_date'
  | 'too_long'
  | 'bad_type'
  /** A pushed metric's model is not Company, Enduser, Project or Asset (ingest API). */
  | 'bad_model';

export type RunStatus = 'running' | 'succeeded' | 'failed';

/** The log line of one run of a section. */
export interface RunRecord {
  id: number;
  sectionId: number;
  section: string;
  trigger: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  rowsRead: number;
  landed: number;
  rejected: number;
  /** First and last key read in this run, as MySQL prints them. */
  keyFrom: string | null;
  keyTo: string | null;
  /** The cursor when the run ended. */
  cursor: string | null;
  error: string | null;
  errorCode: string | null;
}
