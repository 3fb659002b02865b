import type { FastifyInstance } from 'fastify';
import { QUERY_ROW_CAP, QUERY_TIMEOUT_MS } from '../../core/api.js';
import { SluiceError, isSluiceError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';
import { addRoute } from '../route.js';

/**
 * The super-admin SQL console. Read-only is enforced by MySQL itself (a read-only session and
 * transaction, see Source.query); every query, run or refused, is written to the audit log first
 * thing after it ends.
 */
export function consoleRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'runQuery', async ({ params, body, auth }) => {
    const integration = await ctx.integration(params.name);
    const audit = (outcome: 'ok' | 'error', result: string) =>
      ctx.audit(auth, {
        action: 'query',
        integration: integration.name,
        detail: body.sql,
        outcome,
        result,
      });
    try {
      const result = await ctx.withIntegration(integration.name, (source) =>
        source.query(body.sql, { timeoutMs: QUERY_TIMEOUT_MS, rowCap: QUERY_ROW_CAP }),
      );
      await audit(
        'ok',
        `${result.rows.length} row(s)${result.truncated ? ` (cut at ${QUERY_ROW_CAP})` : ''} in ${result.durationMs} ms`,
      );
      return result;
    } catch (err) {
      const e = isSluiceError(err)
        ? err
        : new SluiceError('INTERNAL', err instanceof Error ? err.message : String(err));
      await audit('error', e.message);
      // What MySQL refused is the user's to fix: 400, with MySQL's message as MySQL gives it.
      if (e.code === 'MYSQL_QUERY_FAILED' || e.code === 'MYSQL_TABLE_MISSING') {
        const mysqlMessage = e.details?.mysqlMessage;
        throw new SluiceError(
          'QUERY_REJECTED',
          typeof mysqlMessage === 'string' ? mysqlMessage : e.message,
          { field: 'sql', ...(e.details ?? {}) },
        );
      }
      throw e;
    }
  });

  addRoute(app, ctx, 'listAudit', async ({ query }) =>
    ctx.users.listAudit({
      limit: query.limit,
      offset: query.offset,
      ...(query.action !== undefined ? { action: query.action } : {}),
    }),
  );
}
