import type { FastifyInstance } from 'fastify';
import { NO_ACTION } from '../../core/api.js';
import type { ServerContext } from '../context.js';
import { addRoute } from '../route.js';

/** The data module: metrics, actions, endusers and companies, from the store's rollups. */
export function dataRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'listMetrics', async () => ({ metrics: await ctx.data.metrics() }));

  addRoute(app, ctx, 'metricSeries', async ({ params, query }) => ({
    points: await ctx.data.metricSeries(params.dimensionId, query),
  }));

  addRoute(app, ctx, 'listActions', async () => ({ actions: await ctx.data.actions() }));

  addRoute(app, ctx, 'actionSeries', async ({ params, query }) => ({
    points: await ctx.data.actionSeries(params.action === NO_ACTION ? null : params.action, query),
  }));

  addRoute(app, ctx, 'listEndusers', async ({ query }) => ctx.data.endusers(query));

  addRoute(app, ctx, 'listCompanies', async ({ query }) => ctx.data.companies(query));
}
