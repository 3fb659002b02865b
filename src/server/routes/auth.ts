import type { FastifyInstance } from 'fastify';
import { SluiceError } from '../../core/errors.js';
import { clearSessionCookie, startSession } from '../auth.js';
import type { ServerContext } from '../context.js';
import { dummyHash, verifyPassword } from '../passwords.js';
import { addRoute } from '../route.js';

/** Login (rate-limited per email and per address), logout, and who is logged in. */
export function authRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'login', async ({ body, request, reply }) => {
    const email = body.email.trim().toLowerCase();
    const wait = ctx.limiter.retryAfter(email, request.ip);
    if (wait > 0) {
      throw new SluiceError(
        'RATE_LIMITED',
        `too many failed logins: try again in ${wait} seconds`,
        { retryAfterSeconds: wait },
      );
    }
    const user = await ctx.users.findUserByEmail(email);
    // An unknown email costs a hash too, so timing does not tell which emails have accounts.
    const ok = await verifyPassword(body.password, user?.passwordHash ?? (await dummyHash()));
    if (user === undefined || !ok) {
      ctx.limiter.fail(email, request.ip);
      request.log.warn({ event: 'login_failed', email, ip: request.ip }, 'login failed');
      throw new SluiceError('LOGIN_FAILED', 'the email or the password is wrong');
    }
    ctx.limiter.succeed(email);
    await ctx.users.deleteExpiredSessions();
    await ctx.users.recordLogin(user.id);
    const { passwordHash: _hash, ...plain } = user;
    const fresh = { ...plain, lastLoginAt: new Date().toISOString() };
    const auth = await startSession(ctx.users, fresh, request, reply, ctx.sessionTtlMs);
    await ctx.audit(auth, {
      action: 'login',
      integration: null,
      detail: `login from ${request.ip}`,
      outcome: 'ok',
      result: null,
    });
    return { user: fresh, csrfToken: auth.csrfToken };
  });

  addRoute(app, ctx, 'logout', async ({ auth, request, reply }) => {
    await ctx.users.deleteSession(auth.tokenHash);
    clearSessionCookie(request, reply);
    return { ok: true as const };
  });

  addRoute(app, ctx, 'me', async ({ auth }) => ({ user: auth.user, csrfToken: auth.csrfToken }));
}
