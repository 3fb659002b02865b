/**
 * Kysely table types of the Sluice store. Column names are snake_case; dates are ISO-8601 UTC
 * text (`new Date().toISOString()`), so they sort as text and read the same on every dialect;
 * booleans are integers 0/1. See migrations.ts for constraints and indexes.
 */
import type { Generated } from 'kysely';
import type { DataType, Direction, Model, RejectCode, RunStatus } from '../core/types.js';

export interface IntegrationsTable {
  id: Generated<number>;
  /** Unique. */
  name: string;
  host: string;
  port: number;
  user_name: string;
  database_name: string;
  /** Name of the environment variable holding the password. */
  password_env: string | null;
  /** A literal password encrypted by the SecretBox (`v1:...`). */
  password_enc: string | null;
  ssl_mode: 'required' | 'verify-ca' | null;
  ssl_ca: string | null;
  /** 0 or 1. */
  enabled: number;
  created_at: string;
  /** Changes only when applyConfig changes the integration. */
  updated_at: string;
  /** Alert webhook URL of the integration's sections (0003_scheduler). */
  alert_webhook: Generated<string | null>;
}

export interface SectionsTable {
  id: Generated<number>;
  integration_id: number;
  /** Unique within the integration. */
  name: string;
  data_type: DataType;
  direction: Direction;
  table_name: string;
  key_column: string;
  batch_size: number;
  schedule: string;
  model: Model | null;
  /** JSON object: target field -> source column. */
  mapping: string;
  /** JSON array of source column names. */
  info: string;
  lookback: string | null;
  /** The last key landed, exactly as MySQL prints it. */
  cursor: string | null;
  landed_total: Generated<number>;
  /** Highest id landed in the section's data table, and the highest folded into the aggregates. */
  landed_id: Generated<number>;
  folded_id: Generated<number>;
  rejected_total: Generated<number>;
  lock_owner: string | null;
  lock_host: string | null;
  lock_pid: number | null;
  lock_expires_at: string | null;
  created_at: string;
  /** Changes only when applyConfig changes the section's config (not on cursor moves). */
  updated_at: string;
  /** Alert webhook URL overriding the integration's (0003_scheduler). */
  alert_webhook: Generated<string | null>;
  /** Alert when a run rejects more rows than this (0003_scheduler). */
  reject_threshold: Generated<number | null>;
  /** JSON `{ type, baseUrl, tokenEnv?, tokenEnc? }` of a planhat/both sink; null: the store alone. */
  sink: Generated<string | null>;
  /** The tenant token whose pushed data this pseudo-section holds; null for MySQL sections (0006_ingest). */
  token_id: Generated<number | null>;
}

export interface RunsTable {
  id: Generated<number>;
  section_id: number;
  trigger: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  rows_read: Generated<number>;
  landed: Generated<number>;
  rejected: Generated<number>;
  key_from: string | null;
  key_to: string | null;
  cursor: string | null;
  error: string | null;
  error_code: string | null;
}

export interface RejectsTable {
  id: Generated<number>;
  section_id: number;
  run_id: number;
  /** Unique within the section. */
  row_id: string;
  source_key: string;
  field: string;
  source_column: string | null;
  code: RejectCode;
  reason: string;
  input: string | null;
  created_at: string;
}

export interface ActivitiesTable {
  id: Generated<number>;
  /** Null for data pushed without a section. */
  section_id: number | null;
  row_id: string;
  email: string | null;
  external_id: string | null;
  name: string | null;
  company_external_id: string | null;
  action: string | null;
  weight: number;
  date: string;
  /** JSON object text. */
  info: string | null;
  landed_at: string;
}

export interface MetricPointsTable {
  id: Generated<number>;
  section_id: number | null;
  row_id: string;
  model: Model;
  external_id: string;
  dimension_id: string;
  value: number;
  date: string;
  landed_at: string;
}

export interface EndusersTable {
  id: Generated<number>;
  /** `x:<externalId>` when the enduser has one, else `e:<email>`; unique. */
  ident: string;
  external_id: string | null;
  email: string | null;
  name: string | null;
  company_external_id: string | null;
  /** Earliest activity/point date seen. */
  first_seen: string;
  /** Latest activity/point date seen. */
  last_seen: string;
  /** Activities landed for this enduser, and their weights summed (0002_server). */
  activity_count: Generated<number>;
  activity_weight: Generated<number>;
  /** Metric points landed on this enduser (model Enduser). */
  metric_points: Generated<number>;
}

export interface CompaniesTable {
  id: Generated<number>;
  external_id: string;
  first_seen: string;
  last_seen: string;
  /** Activities naming this company, and their weights summed (0002_server). */
  activity_count: Generated<number>;
  activity_weight: Generated<number>;
  /** Metric points landed on this company (model Company). */
  metric_points: Generated<number>;
}

/** A Sluice user (0002_server). */
export interface UsersTable {
  id: Generated<number>;
  /** Lower-case; unique. */
  email: string;
  role: 'viewer' | 'admin' | 'superadmin';
  /** `scrypt$N$r$p$<salt b64>$<hash b64>`. */
  password_hash: string;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

/** A login session (0002_server). */
export interface SessionsTable {
  /** SHA-256 (hex) of the session cookie's token. */
  token_hash: string;
  user_id: number;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
}

/** One audited action: a console query or an admin change (0002_server). */
export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  user_id: number | null;
  email: string;
  action: string;
  integration: string | null;
  detail: string;
  outcome: 'ok' | 'error';
  result: string | null;
}

/** Activities per action, day and section (0002_server); action `''` when unmapped. */
export interface ActivityDailyTable {
  action: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  section_id: number;
  count: number;
  weight_sum: number;
  first_date: string;
  last_date: string;
}

/** Metric points per model, dimension, day, object and section (0002_server). */
export interface MetricDailyTable {
  model: Model;
  dimension_id: string;
  day: string;
  external_id: string;
  section_id: number;
  value_sum: number;
  count: number;
  first_date: string;
  last_date: string;
  /** Value of the day's latest point (ties: the last landed). */
  last_value: number;
}

/** Which enduser did which action, per section (0002_server): presence only. */
export interface EnduserActionsTable {
  action: string;
  /** endusers.ident. */
  ident: string;
  section_id: number;
}

/**
 * What the in-process scheduler keeps of a section across restarts (0003_scheduler). One row per
 * section that has been scheduled; deleted with its section.
 */
export interface SectionSchedulesTable {
  section_id: number;
  /** The schedule text `next_run_at` was computed for: a changed schedule recomputes it. */
  schedule: string;
  /** When the section is due; null while it is off. */
  next_run_at: string | null;
  /** When the last finished run started. */
  last_run_at: string | null;
  /** Consecutive failed runs. */
  failures: number;
  last_error: string | null;
  /** Start of the current run of failures (its `section_failing` alert went out); null when healthy. */
  failing_since: string | null;
  updated_at: string;
}

/** A tenant token of the ingest API (0006_ingest). */
export interface ApiTokensTable {
  id: Generated<number>;
  /** Unique, also after revocation. */
  name: string;
  /** The token's first characters, for display. */
  prefix: string;
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  /** Email of the user who created it, or `cli`. */
  created_by: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** The store's database, as Kysely sees it. */
export interface Database {
  integrations: IntegrationsTable;
  sections: SectionsTable;
  runs: RunsTable;
  rejects: RejectsTable;
  activities: ActivitiesTable;
  metric_points: MetricPointsTable;
  endusers: EndusersTable;
  companies: CompaniesTable;
  users: UsersTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  activity_daily: ActivityDailyTable;
  metric_daily: MetricDailyTable;
  enduser_actions: EnduserActionsTable;
  section_schedules: SectionSchedulesTable;
  api_tokens: ApiTokensTable;
  outbox: OutboxTable;
  outbox_chunks: OutboxChunksTable;
}

/** Mapped batches waiting for delivery to a section's Planhat sink. */
export interface OutboxTable {
  id: Generated<number>;
  section_id: number;
  run_id: number;
  /** `activities` (bulk analytics) or `metrics` (dimensiondata). */
  kind: DataType;
  /**
   * The JSON request body of an entry queued before bodies were chunks (TEXT, or a BLOB of
   * UTF-8); empty when `chunks` is not 0.
   */
  body: string | Uint8Array;
  /** How many rows of outbox_chunks hold the body (0: `body` does). */
  chunks: Generated<number>;
  created_at: string;
  attempts: Generated<number>;
  /** Always NULL: an entry leaves once delivered (migration 0010 removed those kept before). */
  delivered_at: string | null;
  last_error: string | null;
}

/** A piece of an outbox entry's body: the entry's chunks, by `seq` from 0, make its body. */
export interface OutboxChunksTable {
  entry_id: number;
  seq: number;
  bytes: Uint8Array;
}
