/**
 * Registers the routes of core/api.ts `ROUTES` on fastify: each one gets the setup gate, the
 * session and role check, the CSRF check on state-changing methods, and its params, query and
 * body parsed with the route's zod schemas before the handler runs. Errors become the API's error
 * body with a code of the catalogue (core/errors.ts).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  API_SCHEMAS,
  CSRF_HEADER,
  ROUTES,
  roleAtLeast,
  type ErrorBody,
  type FieldError,
  type RouteId,
  type SchemaName,
} from '../core/api.js';
import { ERROR_CATALOGUE, SluiceError, isSluiceError, type ErrorCode } from '../core/errors.js';
import type { ConfigIssue } from '../core/types.js';
import { readSession, sameSecret, type Auth } from './auth.js';
import type { ServerContext } from './context.js';

type Spec<R extends RouteId> = (typeof ROUTES)[R];
type Parsed<N> = N extends SchemaName ? z.output<(typeof API_SCHEMAS)[N]> : undefined;
type Part<R extends RouteId, K extends 'params' | 'query' | 'body'> =
  Spec<R> extends Record<K, infer N> ? Parsed<N> : undefined;
type Answer<R extends RouteId> = Spec<R>['response'] extends SchemaName
  ? z.input<(typeof API_SCHEMAS)[Spec<R>['response']]>
  : unknown;

/** What a handler gets: the parsed request parts and, on routes needing a role, who asks. */
export interface Call<R extends RouteId> {
  params: Part<R, 'params'>;
  query: Part<R, 'query'>;
  body: Part<R, 'body'>;
  auth: Spec<R>['role'] extends 'public' ? Auth | undefined : Auth;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type Handler<R extends RouteId> = (call: Call<R>) => Promise<Answer<R>>;

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes that answer before the first user exists. */
const BEFORE_SETUP = new Set<RouteId>(['health', 'docs', 'metrics']);

/** Registers one route of ROUTES. */
export function addRoute<R extends RouteId>(
  app: FastifyInstance,
  ctx: ServerContext,
  id: R,
  handler: Handler<R>,
): void {
  const spec: Spec<R> = ROUTES[id];
  const parts = spec as { params?: SchemaName; query?: SchemaName; body?: SchemaName };
  app.route({
    method: spec.method,
    url: spec.path,
    handler: async (request, reply) => {
      if (!BEFORE_SETUP.has(id)) await ctx.setup.check();
      let auth: Auth | undefined;
      if (spec.role !== 'public') {
        auth = await readSession(ctx.users, request);
        if (auth === undefined) {
          throw new SluiceError('AUTH_REQUIRED', 'log in first: no valid session');
        }
        if (STATE_CHANGING.has(request.method)) {
          const sent = request.headers[CSRF_HEADER];
          if (typeof sent !== 'string' || !sameSecret(sent, auth.csrfToken)) {
            throw new SluiceError(
              'CSRF_INVALID',
              `send the session's CSRF token (from login or /api/auth/me) in the ${CSRF_HEADER} header`,
            );
          }
        }
        if (!roleAtLeast(auth.user.role, spec.role)) {
          throw new SluiceError(
            'FORBIDDEN',
            `this needs the ${spec.role} role; ${auth.user.email} is ${auth.user.role}`,
          );
        }
      }
      const call = {
        params: parse(parts.params, request.params, 'params'),
        query: parse(parts.query, request.query, 'query'),
        body: parse(parts.body, request.body ?? {}, 'body'),
        auth,
        request,
        reply,
      } as Call<R>;
      const answer = await handler(call);
      // A handler may set its own status (health answers 503 when unwell).
      if (reply.statusCode === 200) reply.code((spec as { status?: number }).status ?? 200);
      return answer;
    },
  });
}

function parse(name: SchemaName | undefined, value: unknown, part: string): unknown {
  if (name === undefined) return undefined;
  const result = API_SCHEMAS[name].safeParse(value);
  if (result.success) return result.data;
  throw invalid(
    result.error.issues.map((i) => ({
      field: i.path.map(String).join('.') || part,
      // zod does not report the input by default: look at the value itself, so only a field
      // that is really absent "is required" and a wrong value keeps zod's message.
      message:
        i.code === 'invalid_type' && valueAt(value, i.path) === undefined
          ? 'is required'
          : i.message,
    })),
  );
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** 400 CONFIG_INVALID naming each field at fault. */
export function invalid(fields: FieldError[], code: ErrorCode = 'CONFIG_INVALID'): SluiceError {
  const message = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return new SluiceError(code, message || 'the request is invalid', { fields });
}

/**
 * Config issues (from parseConfig, planSection, applyConfig) as a 400: SECTION_INVALID when the
 * live schema refused something, else CONFIG_INVALID. Each field is relative to the body sent:
 * `integration.mysql.host` of the config document is `mysql.host` of an integration body.
 */
export function issuesError(issues: ConfigIssue[], stripPrefix = ''): SluiceError {
  const liveSchema = new Set([
    'table_missing',
    'column_missing',
    'key_type',
    'key_too_long',
    'lookback_invalid',
  ]);
  const code = issues.some((i) => liveSchema.has(i.code)) ? 'SECTION_INVALID' : 'CONFIG_INVALID';
  const fields: FieldError[] = issues.map((i) => {
    const field =
      stripPrefix !== '' && i.field.startsWith(stripPrefix)
        ? i.field.slice(stripPrefix.length)
        : i.field;
    return {
      field,
      message: i.message,
      ...(i.column !== undefined ? { column: i.column } : {}),
    };
  });
  return new SluiceError(code, issues.map((i) => i.message).join('; '), { fields, issues });
}

/** Turns any error into the API's error answer; unexpected ones are logged with their stack. */
export function errorHandler(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  let code: ErrorCode;
  let message: string;
  let fields: FieldError[] | undefined;
  if (isSluiceError(err)) {
    code = err.code;
    message = err.message;
    const details = err.details ?? {};
    if (Array.isArray(details.fields)) fields = details.fields as FieldError[];
    else if (typeof details.field === 'string') fields = [{ field: details.field, message }];
    if (typeof details.retryAfterSeconds === 'number') {
      void reply.header('retry-after', String(details.retryAfterSeconds));
    }
  } else if (isFastifyClientError(err)) {
    code = err.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
    message = err.message;
  } else {
    code = 'INTERNAL';
    message = 'internal error: the server log has the details';
  }
  const status = isFastifyClientError(err) && !isSluiceError(err) ? err.statusCode : 0;
  const httpStatus = status || ERROR_CATALOGUE[code].status;
  if (code === 'INTERNAL' || code === 'STORE_FAILED') {
    request.log.error({ err, code }, message);
  } else if (httpStatus >= 500) {
    // Expected conditions (MySQL down, setup not done): one line, no stack.
    request.log.warn({ code, error: message }, 'request failed');
  }
  const body: ErrorBody = { error: { code, message, ...(fields ? { fields } : {}) } };
  return reply.code(httpStatus).send(body);
}

function isFastifyClientError(err: unknown): err is FastifyError & { statusCode: number } {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}
