/**
 * The browser's client for the Sluice API: same-origin JSON over `/api`, typed by the contract in
 * src/core/api.ts (the zod schemas the server validates with), the CSRF token on every
 * state-changing call, and errors parsed into `ApiError` with the fields at fault.
 */
import type { z } from 'zod';
import {
  API_SCHEMAS,
  CSRF_HEADER,
  ErrorBodySchema,
  ROUTES,
  apiPath,
  type FieldError,
  type RouteId,
  type RouteSpec,
  type SchemaName,
} from '../../src/core/api';

/** A failed call: the server's `{ error: { code, message, fields } }`, or a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Field path (`mysql.host`, `mapping.email`, `batchSize`) -> message: the first per field. */
  readonly fields: Record<string, string>;

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

let csrfToken: string | undefined;

/** Remembers the token login or `/api/auth/me` handed out; sent as `x-csrf-token`. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

let onUnauthorized: (() => void) | undefined;

/** Called when a call answers 401 (the session expired), so the app can show the login page. */
export function setUnauthorizedHandler(handler: (() => void) | undefined): void {
  onUnauthorized = handler;
}

type Routes = typeof ROUTES;
type Schemas = typeof API_SCHEMAS;

/** `:name` segments of a route's path. */
type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** The parsed 2xx answer of a route. */
export type ResponseOf<R extends RouteId> = Routes[R]['response'] extends SchemaName
  ? z.output<Schemas[Routes[R]['response']]>
  : unknown;
/** The JSON body a route takes, as written (before defaults). */
export type BodyOf<R extends RouteId> = Routes[R] extends { body: infer B extends SchemaName }
  ? z.input<Schemas[B]>
  : never;
/** The query a route takes; every field may be left out (the schema fills defaults). */
export type QueryOf<R extends RouteId> = Routes[R] extends { query: infer Q extends SchemaName }
  ? Partial<z.input<Schemas[Q]>>
  : never;

type ParamsArg<R extends RouteId> = [PathParams<Routes[R]['path']>] extends [never]
  ? { params?: undefined }
  : { params: Record<PathParams<Routes[R]['path']>, string | number> };
type BodyArg<R extends RouteId> = [BodyOf<R>] extends [never]
  ? { body?: undefined }
  : { body: BodyOf<R> };
type QueryArg<R extends RouteId> = [QueryOf<R>] extends [never]
  ? { query?: undefined }
  : { query?: QueryOf<R> };

/** Arguments of {@link call}: the route's path params, body and query, each typed by the contract. */
export type CallArgs<R extends RouteId> = ParamsArg<R> &
  BodyArg<R> &
  QueryArg<R> & { signal?: AbortSignal };

function withQuery(path: string, query: Record<string, unknown> | undefined): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * A message as shown beside its field: without the `section "x": ` and `integration.mysql.host: `
 * prefixes that name the field (useful in a log line, noise next to the field itself).
 */
function besideField(field: string, message: string): string {
  const m = /^(?:section "[^"]*": )?([\w.[\]]+): (.+)$/s.exec(message);
  if (m && (m[1] === field || m[1]?.endsWith(`.${field}`))) return m[2] ?? message;
  return message.replace(/^section "[^"]*": /, '');
}

/** Field errors of the contract: a list of `{ field, message }` (an object is tolerated too). */
function parseFields(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const i = item as Partial<FieldError> | null;
      if (i && typeof i.field === 'string' && !(i.field in out)) {
        out[i.field] = besideField(i.field, String(i.message));
      }
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k] = String(v);
  }
  return out;
}

function zodFields(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = issue.path.map(String).join('.') || 'body';
    if (!(field in out)) out[field] = issue.message;
  }
  return out;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (parsed.success) {
    const e = parsed.data.error;
    return new ApiError(res.status, e.code, e.message, parseFields(e.fields));
  }
  if (res.status === 429) {
    return new ApiError(429, 'RATE_LIMITED', 'Too many attempts. Wait a minute and try again.');
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `${res.status} ${res.statusText}`.trim());
}

/**
 * Calls one route of the contract. The body is checked with the route's request schema first
 * (a bad field is reported beside it without a round trip) and the answer is parsed with the
 * response schema (a server that drifted from the contract fails loudly, not subtly).
 */
export async function call<R extends RouteId>(
  routeId: R,
  args: CallArgs<R>,
): Promise<ResponseOf<R>> {
  const spec: RouteSpec = ROUTES[routeId];
  const path = withQuery(
    apiPath(routeId, (args.params ?? {}) as Record<string, string | number>),
    args.query as Record<string, unknown> | undefined,
  );
  const body: unknown = args.body;
  if (spec.body && body !== undefined) {
    const checked = API_SCHEMAS[spec.body].safeParse(body);
    if (!checked.success) {
      const fields = zodFields(checked.error);
      const first = Object.entries(fields)[0];
      throw new ApiError(
        400,
        'CONFIG_INVALID',
        first ? `${first[0]}: ${first[1]}` : 'invalid input',
        fields,
      );
    }
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (spec.method !== 'GET' && csrfToken) headers[CSRF_HEADER] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method: spec.method,
      headers,
      credentials: 'same-origin',
      // Sent as the user wrote it: the server applies the defaults.
      body: body === undefined ? null : JSON.stringify(body),
      signal: args.signal ?? null,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The Sluice server cannot be reached. Is it running?');
  }
  if (!res.ok) {
    const error = await toApiError(res);
    if (res.status === 401 && routeId !== 'login' && routeId !== 'me') onUnauthorized?.();
    throw error;
  }
  const text = res.status === 204 ? '' : await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!spec.response) return json as ResponseOf<R>;
  const parsed = API_SCHEMAS[spec.response].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(
      res.status,
      'CONTRACT_MISMATCH',
      `The server's answer to ${spec.method} ${spec.path} does not match the API contract` +
        (issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : ''),
    );
  }
  return parsed.data as ResponseOf<R>;
}

/** The message to show for any error thrown by a call. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Field errors of an ApiError, or none. */
export function fieldErrors(err: unknown): Record<string, string> {
  return err instanceof ApiError ? err.fields : {};
}
