/**
 * The run lifecycle of a section (lock, start, finish) as prepared better-sqlite3 statements:
 * every scheduled tick goes through these, even one that finds nothing new, so they skip Kysely's
 * query building (the same SQL in Kysely form stays in git history and runs on PostgreSQL).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { RunStatus } from '../core/types.js';
import type { IntegrationsTable } from './schema.js';

/** A run row joined with its section's name, as the statements return it. */
export interface RunRow {
  id: number;
  section_id: number;
  section: string;
  trigger: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  rows_read: number;
  landed: number;
  rejected: number;
  key_from: string | null;
  key_to: string | null;
  cursor: string | null;
  error: string | null;
  error_code: string | null;
}

type LockParams = [owner: string, host: string, pid: number, expiresAt: string, sectionId: number];

export class SqliteRunStatements {
  /** Takes the lock when free, expired, or already ours (a renewal): one atomic UPDATE. */
  readonly takeLock: BetterSqlite3.Statement<[...LockParams, now: string, owner: string]>;
  readonly heldLock: BetterSqlite3.Statement<
    [sectionId: number],
    { lock_owner: string | null; lock_host: string | null; lock_pid: number | null }
  >;
  /** Compare-and-set on a dead owner: of two processes stealing at once, one wins. */
  readonly stealLock: BetterSqlite3.Statement<[...LockParams, deadOwner: string]>;
  readonly releaseLock: BetterSqlite3.Statement<[sectionId: number, owner: string]>;
  readonly sectionCursor: BetterSqlite3.Statement<[sectionId: number], { cursor: string | null }>;
  readonly interrupt: BetterSqlite3.Statement<
    [finishedAt: string, error: string, sectionId: number]
  >;
  readonly insertRun: BetterSqlite3.Statement<
    [sectionId: number, trigger: string, startedAt: string, cursor: string | null]
  >;
  readonly finish: BetterSqlite3.Statement<
    [status: string, finishedAt: string, error: string | null, code: string | null, runId: number]
  >;
  readonly run: BetterSqlite3.Statement<[runId: number], RunRow>;
  /**
   * Rows read by the section's last succeeded run: two seeks of runs_section_status_idx (the
   * highest id of the section's succeeded runs is the last entry of their range).
   */
  readonly lastRowsRead: BetterSqlite3.Statement<[sectionId: number], { rows_read: number }>;
  /** The integration a run connects with, read on every tick too. */
  readonly integrationByName: BetterSqlite3.Statement<
    [name: string],
    Selectable<IntegrationsTable>
  >;

  constructor(sqlite: BetterSqlite3.Database) {
    this.takeLock = sqlite.prepare(
      `UPDATE sections SET lock_owner = ?, lock_host = ?, lock_pid = ?, lock_expires_at = ?
       WHERE id = ? AND (lock_owner IS NULL OR lock_expires_at < ? OR lock_owner = ?)`,
    );
    this.heldLock = sqlite.prepare(
      'SELECT lock_owner, lock_host, lock_pid FROM sections WHERE id = ?',
    );
    this.stealLock = sqlite.prepare(
      `UPDATE sections SET lock_owner = ?, lock_host = ?, lock_pid = ?, lock_expires_at = ?
       WHERE id = ? AND lock_owner = ?`,
    );
    this.releaseLock = sqlite.prepare(
      `UPDATE sections SET lock_owner = NULL, lock_host = NULL, lock_pid = NULL,
         lock_expires_at = NULL
       WHERE id = ? AND lock_owner = ?`,
    );
    this.sectionCursor = sqlite.prepare('SELECT cursor FROM sections WHERE id = ?');
    this.interrupt = sqlite.prepare(
      `UPDATE runs SET status = 'failed', finished_at = ?, error = ?, error_code = 'INTERRUPTED'
       WHERE section_id = ? AND status = 'running'`,
    );
    this.insertRun = sqlite.prepare(
      `INSERT INTO runs (section_id, trigger, status, started_at, rows_read, landed, rejected,
         cursor)
       VALUES (?, ?, 'running', ?, 0, 0, 0, ?)`,
    );
    this.finish = sqlite.prepare(
      `UPDATE runs SET status = ?, finished_at = ?, error = ?, error_code = ?,
         cursor = (SELECT sections.cursor FROM sections WHERE sections.id = runs.section_id)
       WHERE id = ?`,
    );
    this.run = sqlite.prepare(
      `SELECT runs.*, sections.name AS section
       FROM runs JOIN sections ON sections.id = runs.section_id
       WHERE runs.id = ?`,
    );
    this.lastRowsRead = sqlite.prepare(
      `SELECT rows_read FROM runs
       WHERE id = (SELECT max(id) FROM runs WHERE section_id = ? AND status = 'succeeded')`,
    );
    this.integrationByName = sqlite.prepare('SELECT * FROM integrations WHERE name = ?');
  }
}
