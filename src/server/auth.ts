/**
 * Sessions, CSRF and login rate limits. A session is a random 256-bit token in an HttpOnly,
 * SameSite=Strict cookie (Secure when the request came over https); the store keeps only its
 * SHA-256, with a CSRF token that state-changing requests must echo in the `x-csrf-token` header
 * (the cookie alone proves nothing a cross-site form could not send).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE, type User } from '../core/api.js';
import type { UserStore } from '../store/user-store.js';

/** Default session lifetime: 12 hours, in ms. */
export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;

/** Who made a request, once its session cookie checked out. */
export interface Auth {
  user: User;
  csrfToken: string;
  tokenHash: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison of two strings (false when lengths differ). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The session a request's cookie names, if it exists and has not expired. */
export async function readSession(
  users: UserStore,
  request: FastifyRequest,
): Promise<Auth | undefined> {
  const token = request.cookies[SESSION_COOKIE];
  if (token === undefined || token === '') return undefined;
  const tokenHash = hashToken(token);
  const session = await users.getSession(tokenHash);
  return session && { user: session.user, csrfToken: session.csrfToken, tokenHash };
}

/** Creates a session for `user`, sets its cookie, and returns it. */
export async function startSession(
  users: UserStore,
  user: User,
  request: FastifyRequest,
  reply: FastifyReply,
  ttlMs: number,
): Promise<Auth> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const tokenHash = hashToken(token);
  await users.createSession({
    tokenHash,
    userId: user.id,
    csrfToken,
    expiresAt: new Date(Date.now() + ttlMs).toISOString(),
    ip: request.ip,
    userAgent: request.headers['user-agent']?.slice(0, 300) ?? null,
  });
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    // Behind a TLS-terminating proxy, request.protocol says https when trustProxy is set.
    secure: request.protocol === 'https',
    path: '/',
    maxAge: Math.floor(ttlMs / 1000),
  });
  return { user, csrfToken, tokenHash };
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: '/',
  });
}

/** Limits of failed logins; defaults: 5 per email and 20 per client address in 15 minutes. */
export interface LoginLimits {
  perEmail: number;
  perAddress: number;
  /** The sliding window, ms. */
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perEmail: 5,
  perAddress: 20,
  windowMs: 15 * 60_000,
};

/** Most keys remembered; past it the oldest are forgotten (bounds memory under a flood). */
const MAX_KEYS = 10_000;

/**
 * Failed-login counters per email and per client address, in memory (one server process; a
 * restart forgets them, which only ever lets a few more attempts through).
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {}

  /** Seconds until another attempt is allowed for this email or address; 0 when allowed now. */
  retryAfter(email: string, address: string, now = Date.now()): number {
    const wait = (key: string, max: number) => {
      const times = this.#recent(key, now);
      if (times.length < max) return 0;
      const oldest = times[times.length - max] ?? now;
      return Math.max(1, Math.ceil((oldest + this.limits.windowMs - now) / 1000));
    };
    return Math.max(
      wait(`e:${email}`, this.limits.perEmail),
      wait(`a:${address}`, this.limits.perAddress),
    );
  }

  fail(email: string, address: string, now = Date.now()): void {
    for (const key of [`e:${email}`, `a:${address}`]) {
      const times = this.#recent(key, now);
      times.push(now);
      this.#failures.delete(key);
      this.#failures.set(key, times);
    }
    while (this.#failures.size > MAX_KEYS) {
      const oldest = this.#failures.keys().next().value;
      if (oldest === undefined) break;
      this.#failures.delete(oldest);
    }
  }

  /** A successful login clears the email's failures (not the address's). */
  succeed(email: string): void {
    this.#failures.delete(`e:${email}`);
  }

  #recent(key: string, now: number): number[] {
    const times = (this.#failures.get(key) ?? []).filter((t) => t > now - this.limits.windowMs);
    if (times.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, times);
    return times;
  }
}
