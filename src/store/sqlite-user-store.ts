/**
 * The UserStore on the SQLite store's Kysely instance (its single connection: Kysely serialises
 * this port's queries with the store's own transactions and batch commits).
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditEntry, Role, User } from '../core/api.js';
import { SluiceError } from '../core/errors.js';
import type { Database, UsersTable } from './schema.js';
import { guard, writeImmediate } from './sqlite-helpers.js';
import type {
  NewAuditEntry,
  NewSession,
  SessionWithUser,
  UserStore,
  UserWithHash,
} from './user-store.js';

function nowIso(): string {
  return new Date().toISOString();
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLoginAt: row.last_login_at,
  };
}

/** Opens the UserStore on the Kysely instance of an open SQLite store (see open-store.ts). */
export function openSqliteUserStore(db: Kysely<Database>): UserStore {
  return new SqliteUserStore(db);
}

class SqliteUserStore implements UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async countUsers(): Promise<number> {
    return guard('countUsers', async () => {
      const row = await this.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  async listUsers(): Promise<User[]> {
    return guard('listUsers', async () => {
      const rows = await this.db.selectFrom('users').selectAll().orderBy('email').execute();
      return rows.map(toUser);
    });
  }

  async getUser(id: number): Promise<User | undefined> {
    return guard('getUser', async () => {
      const row = await this.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toUser(row);
    });
  }

  async findUserByEmail(email: string): Promise<UserWithHash | undefined> {
    return guard('findUserByEmail', async () => {
      const row = await this.db
        .selectFrom('users')
        .selectAll()
        .where('email', '=', email.trim().toLowerCase())
        .executeTakeFirst();
      return row && { ...toUser(row), passwordHash: row.password_hash };
    });
  }

  async createUser(user: { email: string; role: Role; passwordHash: string }): Promise<User> {
    const email = user.email.trim().toLowerCase();
    return guard('createUser', () =>
      writeImmediate(this.db, async (trx) => {
        const taken = await trx
          .selectFrom('users')
          .select('id')
          .where('email', '=', email)
          .executeTakeFirst();
        if (taken) {
          throw new SluiceError('CONFLICT', `a user with email ${email} exists`, {
            field: 'email',
          });
        }
        const now = nowIso();
        const row = await trx
          .insertInto('users')
          .values({
            email,
            role: user.role,
            password_hash: user.passwordHash,
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toUser(row);
      }),
    );
  }

  async updateUser(id: number, change: { role?: Role; passwordHash?: string }): Promise<User> {
    return guard('updateUser', () =>
      writeImmediate(this.db, async (trx) => {
        const row = await trx
          .selectFrom('users')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirst();
        if (!row) throw new SluiceError('NOT_FOUND', `user ${id} does not exist`, { userId: id });
        if (change.role !== undefined && change.role !== 'superadmin' && row.role === 'superadmin')
          await this.#keepOneSuperadmin(trx, id, 'lose the superadmin role');
        const updated = await trx
          .updateTable('users')
          .set({
            ...(change.role !== undefined ? { role: change.role } : {}),
            ...(change.passwordHash !== undefined ? { password_hash: change.passwordHash } : {}),
            updated_at: nowIso(),
          })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow();
        // A new password ends the sessions opened with the old one (a role is read per request).
        if (change.passwordHash !== undefined) {
          await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
        }
        return toUser(updated);
      }),
    );
  }

  async deleteUser(id: number): Promise<void> {
    return guard('deleteUser', () =>
      writeImmediate(this.db, async (trx) => {
        const row = await trx
          .selectFrom('users')
          .select('role')
          .where('id', '=', id)
          .executeTakeFirst();
        if (!row) throw new SluiceError('NOT_FOUND', `user ${id} does not exist`, { userId: id });
        if (row.role === 'superadmin') await this.#keepOneSuperadmin(trx, id, 'be deleted');
        await trx.deleteFrom('users').where('id', '=', id).execute();
      }),
    );
  }

  async #keepOneSuperadmin(trx: Kysely<Database>, id: number, what: string): Promise<void> {
    const others = await trx
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'superadmin')
      .where('id', '!=', id)
      .executeTakeFirstOrThrow();
    if (Number(others.n) === 0) {
      throw new SluiceError(
        'CONFLICT',
        `the last superadmin cannot ${what}: make another user superadmin first`,
        { field: 'role' },
      );
    }
  }

  async recordLogin(userId: number): Promise<void> {
    return guard('recordLogin', async () => {
      await this.db
        .updateTable('users')
        .set({ last_login_at: nowIso() })
        .where('id', '=', userId)
        .execute();
    });
  }

  async createSession(session: NewSession): Promise<void> {
    return guard('createSession', async () => {
      const now = nowIso();
      await this.db
        .insertInto('sessions')
        .values({
          token_hash: session.tokenHash,
          user_id: session.userId,
          csrf_token: session.csrfToken,
          created_at: now,
          expires_at: session.expiresAt,
          last_seen_at: now,
          ip: session.ip,
          user_agent: session.userAgent,
        })
        .execute();
    });
  }

  async getSession(tokenHash: string): Promise<SessionWithUser | undefined> {
    return guard('getSession', async () => {
      const row = await this.db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .selectAll('users')
        .select(['sessions.token_hash', 'sessions.csrf_token', 'sessions.expires_at'])
        .where('sessions.token_hash', '=', tokenHash)
        .where('sessions.expires_at', '>', nowIso())
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        tokenHash: row.token_hash,
        csrfToken: row.csrf_token,
        expiresAt: row.expires_at,
        user: toUser(row),
      };
    });
  }

  async deleteSession(tokenHash: string): Promise<void> {
    return guard('deleteSession', async () => {
      await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
    });
  }

  async deleteExpiredSessions(): Promise<number> {
    return guard('deleteExpiredSessions', async () => {
      const res = await this.db
        .deleteFrom('sessions')
        .where('expires_at', '<=', nowIso())
        .executeTakeFirst();
      return Number(res.numDeletedRows);
    });
  }

  async audit(entry: NewAuditEntry): Promise<void> {
    return guard('audit', async () => {
      await this.db
        .insertInto('audit_log')
        .values({
          at: nowIso(),
          user_id: entry.userId,
          email: entry.email,
          action: entry.action,
          integration: entry.integration,
          detail: entry.detail,
          outcome: entry.outcome,
          result: entry.result,
        })
        .execute();
    });
  }

  async listAudit(filter: {
    limit: number;
    offset: number;
    action?: string;
  }): Promise<{ total: number; entries: AuditEntry[] }> {
    return guard('listAudit', async () => {
      let query = this.db.selectFrom('audit_log');
      if (filter.action !== undefined) query = query.where('action', '=', filter.action);
      const total = await query
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const rows = await query
        .selectAll()
        .orderBy('id', 'desc')
        .limit(filter.limit)
        .offset(filter.offset)
        .execute();
      return {
        total: Number(total.n),
        entries: rows.map((r) => ({
          id: r.id,
          at: r.at,
          userId: r.user_id,
          email: r.email,
          action: r.action,
          integration: r.integration,
          detail: r.detail,
          outcome: r.outcome,
          result: r.result,
        })),
      };
    });
  }
}
