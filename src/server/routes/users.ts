import type { FastifyInstance } from 'fastify';
import { SluiceError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';
import { hashPassword } from '../passwords.js';
import { addRoute } from '../route.js';

/** User management (superadmin). */
export function userRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'listUsers', async () => ({ users: await ctx.users.listUsers() }));

  addRoute(app, ctx, 'createUser', async ({ body, auth }) => {
    const user = await ctx.users.createUser({
      email: body.email,
      role: body.role,
      passwordHash: await hashPassword(body.password),
    });
    await ctx.audit(auth, {
      action: 'user.create',
      integration: null,
      detail: `created ${user.email} as ${user.role}`,
      outcome: 'ok',
      result: null,
    });
    return { user };
  });

  addRoute(app, ctx, 'updateUser', async ({ params, body, auth }) => {
    const user = await ctx.users.updateUser(params.id, {
      ...(body.role !== undefined ? { role: body.role } : {}),
      ...(body.password !== undefined ? { passwordHash: await hashPassword(body.password) } : {}),
    });
    const what = [
      body.role !== undefined ? `role ${body.role}` : '',
      body.password !== undefined ? 'password' : '',
    ].filter(Boolean);
    await ctx.audit(auth, {
      action: 'user.update',
      integration: null,
      detail: `changed ${what.join(' and ')} of ${user.email}`,
      outcome: 'ok',
      result: null,
    });
    return { user };
  });

  addRoute(app, ctx, 'deleteUser', async ({ params, auth }) => {
    if (params.id === auth.user.id) {
      throw new SluiceError('CONFLICT', 'you cannot delete yourself: ask another superadmin');
    }
    const user = await ctx.users.getUser(params.id);
    await ctx.users.deleteUser(params.id);
    await ctx.audit(auth, {
      action: 'user.delete',
      integration: null,
      detail: `deleted ${user?.email ?? `user ${params.id}`}`,
      outcome: 'ok',
      result: null,
    });
    return { ok: true as const };
  });
}
