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
  rejected_total: Generated<number>;
  lock_owner: string | null;
  lock_host: string | null;
  lock_pid: number | null;
  lock_expires_at: string | null;
  created_at: string;
  /** Changes only when applyConfig changes the section's config (not on cursor moves). */
  updated_at: string;
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
}

export interface CompaniesTable {
  id: Generated<number>;
  external_id: string;
  first_seen: string;
  last_seen: string;
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
}
