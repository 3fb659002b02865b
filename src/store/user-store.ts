/**
 * Users, login sessions and the audit log: a small port beside the Store, living in the same
 * database (on SQLite it shares the store's connection; closing the store closes it).
 */
import type { AuditEntry, Role, User } from '../core/api.js';

/** A user with the hash of their password (never leaves the server). */
export interface UserWithHash extends User {
  passwordHash: string;
}

export interface NewSession {
  /** SHA-256 (hex) of the cookie's token; the token itself is never stored. */
  tokenHash: string;
  userId: number;
  csrfToken: string;
  /** ISO-8601 UTC. */
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

export interface SessionWithUser {
  tokenHash: string;
  csrfToken: string;
  expiresAt: string;
  user: User;
}

/** What an audited action records; `at` is set by the store. */
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'>;

export interface UserStore {
  countUsers(): Promise<number>;
  listUsers(): Promise<User[]>;
  getUser(id: number): Promise<User | undefined>;
  /** By email, case-insensitively. */
  findUserByEmail(email: string): Promise<UserWithHash | undefined>;
  /** Throws SluiceError CONFLICT when the email is taken. */
  createUser(user: { email: string; role: Role; passwordHash: string }): Promise<User>;
  /**
   * Changes role and/or password hash. A new password ends the user's sessions. Throws NOT_FOUND,
   * or CONFLICT when the change would leave no superadmin.
   */
  updateUser(id: number, change: { role?: Role; passwordHash?: string }): Promise<User>;
  /** Throws NOT_FOUND, or CONFLICT when it would delete the last superadmin. */
  deleteUser(id: number): Promise<void>;
  recordLogin(userId: number): Promise<void>;

  createSession(session: NewSession): Promise<void>;
  /** The session and its user, when it exists and has not expired. */
  getSession(tokenHash: string): Promise<SessionWithUser | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Removes expired sessions; returns how many. */
  deleteExpiredSessions(): Promise<number>;

  audit(entry: NewAuditEntry): Promise<void>;
  /** Newest first. */
  listAudit(filter: {
    limit: number;
    offset: number;
    action?: string;
  }): Promise<{ total: number; entries: AuditEntry[] }>;
}
