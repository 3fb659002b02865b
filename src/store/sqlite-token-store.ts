/**
 * The TokenStore on the SQLite store's Kysely instance (its single connection: Kysely serialises
 * this port's queries with the store's own transactions and batch commits).
 */
import type { Kysely, Selectable } from 'kysely';
import type { ApiToken, TokenReject } from '../core/api.js';
import { SluiceError } from '../core/errors.js';
import type { ApiTokensTable, Database } from './schema.js';
import { guard, writeImmediate } from './sqlite-helpers.js';
import {
  INGEST_INTEGRATION,
  type NewToken,
  type TokenOrigin,
  type TokenStore,
} from './token-store.js';

function nowIso(): string {
  return new Date().toISOString();
}

function toToken(row: Selectable<ApiTokensTable>): ApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

/** Opens the TokenStore on the Kysely instance of an open SQLite store (see open-store.ts). */
export function openSqliteTokenStore(db: Kysely<Database>): TokenStore {
  return new SqliteTokenStore(db);
}

class SqliteTokenStore implements TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createToken(token: NewToken): Promise<TokenOrigin> {
    return guard('createToken', () =>
      writeImmediate(this.db, async (trx) => {
        const taken = await trx
          .selectFrom('api_tokens')
          .select('id')
          .where('name', '=', token.name)
          .executeTakeFirst();
        if (taken !== undefined) {
          throw new SluiceError('CONFLICT', `a token named "${token.name}" exists already`, {
            field: 'name',
          });
        }
        const now = nowIso();
        const row = await trx
          .insertInto('api_tokens')
          .values({
            name: token.name,
            prefix: token.prefix,
            token_hash: token.tokenHash,
            created_at: now,
            created_by: token.createdBy,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const integrationId = await this.#ingestIntegration(trx, now);
        const sectionIds: number[] = [];
        for (const dataType of ['activities', 'metrics'] as const) {
          const section = await trx
            .insertInto('sections')
            .values({
              integration_id: integrationId,
              // Token names use letters, digits, space, `.`, `-`, `_`: no `:`, so never clash.
              name: `${token.name}:${dataType}`,
              data_type: dataType,
              direction: 'off',
              table_name: '',
              key_column: '',
              batch_size: 0,
              schedule: '',
              model: null,
              mapping: '{}',
              info: '[]',
              lookback: null,
              cursor: null,
              lock_owner: null,
              lock_host: null,
              lock_pid: null,
              lock_expires_at: null,
              created_at: now,
              updated_at: now,
              token_id: row.id,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          sectionIds.push(section.id);
        }
        return {
          ...toToken(row),
          activitiesSectionId: sectionIds[0] as number,
          metricsSectionId: sectionIds[1] as number,
        };
      }),
    );
  }

  /** The hidden integration of the pseudo-sections, created with the first token. */
  async #ingestIntegration(trx: Kysely<Database>, now: string): Promise<number> {
    const found = await trx
      .selectFrom('integrations')
      .select('id')
      .where('name', '=', INGEST_INTEGRATION)
      .executeTakeFirst();
    if (found !== undefined) return found.id;
    const row = await trx
      .insertInto('integrations')
      .values({
        name: INGEST_INTEGRATION,
        host: '',
        port: 0,
        user_name: '',
        database_name: '',
        password_env: null,
        password_enc: null,
        ssl_mode: null,
        ssl_ca: null,
        enabled: 0,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async listTokens(): Promise<ApiToken[]> {
    return guard('listTokens', async () => {
      const rows = await this.db
        .selectFrom('api_tokens')
        .selectAll()
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toToken);
    });
  }

  async getToken(id: number): Promise<ApiToken | undefined> {
    return guard('getToken', async () => {
      const row = await this.db
        .selectFrom('api_tokens')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toToken(row);
    });
  }

  async findTokenByName(name: string): Promise<ApiToken | undefined> {
    return guard('findTokenByName', async () => {
      const row = await this.db
        .selectFrom('api_tokens')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row && toToken(row);
    });
  }

  async findTokenByHash(tokenHash: string): Promise<TokenOrigin | undefined> {
    return guard('findTokenByHash', async () => {
      const row = await this.db
        .selectFrom('api_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const sections = await this.db
        .selectFrom('sections')
        .select(['id', 'data_type'])
        .where('token_id', '=', row.id)
        .execute();
      const activities = sections.find((s) => s.data_type === 'activities');
      const metrics = sections.find((s) => s.data_type === 'metrics');
      if (activities === undefined || metrics === undefined) {
        throw new SluiceError('STORE_FAILED', `token ${row.name} has lost its sections`);
      }
      return {
        ...toToken(row),
        activitiesSectionId: activities.id,
        metricsSectionId: metrics.id,
      };
    });
  }

  async revokeToken(id: number): Promise<ApiToken> {
    return guard('revokeToken', async () => {
      await this.db
        .updateTable('api_tokens')
        .set({ revoked_at: nowIso() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      const token = await this.getToken(id);
      if (token === undefined) throw new SluiceError('NOT_FOUND', `token ${id} does not exist`);
      return token;
    });
  }

  async touchToken(id: number): Promise<void> {
    return guard('touchToken', async () => {
      await this.db
        .updateTable('api_tokens')
        .set({ last_used_at: nowIso() })
        .where('id', '=', id)
        .execute();
    });
  }

  async listTokenRejects(id: number, limit: number): Promise<TokenReject[]> {
    return guard('listTokenRejects', async () => {
      const rows = await this.db
        .selectFrom('rejects')
        .innerJoin('sections', 'sections.id', 'rejects.section_id')
        .select([
          'rejects.id',
          'sections.data_type',
          'rejects.source_key',
          'rejects.field',
          'rejects.code',
          'rejects.reason',
          'rejects.input',
          'rejects.created_at',
        ])
        .where('sections.token_id', '=', id)
        .orderBy('rejects.id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        dataType: r.data_type,
        index: Number(r.source_key),
        field: r.field,
        code: r.code,
        reason: r.reason,
        input: r.input,
        createdAt: r.created_at,
      }));
    });
  }
}
