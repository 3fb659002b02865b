import type { FastifyInstance } from 'fastify';
import type { Health } from '../../core/api.js';
import type { ServerContext } from '../context.js';
import { LagCache, renderMetrics } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import { addRoute } from '../route.js';

/** Health, the OpenAPI document and Prometheus metrics: public, answered before setup too. */
export function operationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const version = ctx.deps.version ?? '0.0.0';
  let docs: Record<string, unknown> | undefined;
  const lagCache = new LagCache(ctx, ctx.deps.lagTtlMs ?? 60_000, (event) =>
    app.log.warn(event, 'metrics: cursor lag unknown'),
  );

  addRoute(app, ctx, 'health', async ({ reply }) => {
    let store: Health['store'] = 'ok';
    let setupDone = false;
    try {
      setupDone = await ctx.setup.done();
    } catch {
      store = 'error';
    }
    const running = ctx.deps.schedulerRunning?.() ?? true;
    const health: Health = {
      ok: store === 'ok' && running,
      store,
      scheduler: running ? 'running' : 'stopped',
      setupDone,
      version,
      timeZone: ctx.deps.timeZone ?? 'UTC',
    };
    if (!health.ok) reply.code(503);
    return health;
  });

  addRoute(app, ctx, 'docs', async () => {
    docs ??= openApiDocument(version);
    return docs;
  });

  addRoute(app, ctx, 'metrics', async ({ reply }) => {
    const text = await renderMetrics(ctx, lagCache);
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    return text;
  });
}
