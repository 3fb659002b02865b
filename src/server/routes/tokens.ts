import type { FastifyInstance } from 'fastify';
import { SluiceError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';
import { addRoute } from '../route.js';
import { createTenantToken } from '../tenant-tokens.js';

/** Tenant tokens of the ingest API (admin): list, create (shown once), revoke, rejects. */
export function tokenRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'listTokens', async () => ({ tokens: await ctx.tokens.listTokens() }));

  addRoute(app, ctx, 'createToken', async ({ body, auth }) => {
    const created = await createTenantToken(ctx.tokens, body.name, auth.user.email);
    await ctx.audit(auth, {
      action: 'token.create',
      integration: null,
      detail: `created tenant token ${created.token.name} (${created.token.prefix}...)`,
      outcome: 'ok',
      result: null,
    });
    return created;
  });

  addRoute(app, ctx, 'revokeToken', async ({ params, auth }) => {
    const token = await ctx.tokens.revokeToken(params.id);
    await ctx.audit(auth, {
      action: 'token.revoke',
      integration: null,
      detail: `revoked tenant token ${token.name} (${token.prefix}...)`,
      outcome: 'ok',
      result: null,
    });
    return { token };
  });

  addRoute(app, ctx, 'listTokenRejects', async ({ params, query }) => {
    if ((await ctx.tokens.getToken(params.id)) === undefined) {
      throw new SluiceError('NOT_FOUND', `token ${params.id} does not exist`);
    }
    return { rejects: await ctx.tokens.listTokenRejects(params.id, query.limit) };
  });
}
