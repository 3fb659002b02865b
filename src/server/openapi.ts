/**
 * The OpenAPI 3.1 document of the API, generated from core/api.ts: paths from `ROUTES`,
 * components from `API_SCHEMAS` through zod's own JSON Schema output (OpenAPI 3.1 schemas are
 * JSON Schema 2020-12). Nothing here is written by hand, so it cannot drift from what the server
 * validates.
 */
import { z } from 'zod';
import {
  API_SCHEMAS,
  CSRF_HEADER,
  ROUTES,
  SESSION_COOKIE,
  type RouteSpec,
  type SchemaName,
} from '../core/api.js';
import { ERROR_CATALOGUE } from '../core/errors.js';

type Json = Record<string, unknown>;

function jsonSchema(name: SchemaName, io: 'input' | 'output'): Json {
  const schema = z.toJSONSchema(API_SCHEMAS[name], {
    io,
    target: 'draft-2020-12',
    // z.unknown() values and the like have no stricter form: they stay open.
    unrepresentable: 'any',
  }) as Json;
  delete schema.$schema;
  return schema;
}

/** The names used as request parts (their input form is documented) and as answers (output). */
function schemaRoles(): Map<SchemaName, 'input' | 'output'> {
  const roles = new Map<SchemaName, 'input' | 'output'>();
  for (const spec of Object.values(ROUTES) as RouteSpec[]) {
    for (const name of [spec.params, spec.query, spec.body]) if (name) roles.set(name, 'input');
    if (spec.response) roles.set(spec.response, 'output');
  }
  roles.set('ErrorBody', 'output');
  return roles;
}

function parameters(name: SchemaName | undefined, where: 'path' | 'query'): Json[] {
  if (name === undefined) return [];
  const schema = jsonSchema(name, 'input');
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([param, s]) => ({
    name: param,
    in: where,
    required: where === 'path' || required.has(param),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });

/** Error answers a route can give, by status, with the catalogue codes behind each. */
function errorResponses(spec: RouteSpec): Json {
  const statuses = new Set<number>([500]);
  if (spec.params || spec.query || spec.body) statuses.add(400);
  if (spec.role !== 'public') [401, 403, 503].forEach((s) => statuses.add(s));
  if (spec.params) statuses.add(404);
  if (spec.path.includes('/integrations/') || spec.path.startsWith('/api/test-connection')) {
    [502, 504].forEach((s) => statuses.add(s));
  }
  if (spec.method !== 'GET') statuses.add(409);
  if (spec.path === '/api/auth/login') [401, 429].forEach((s) => statuses.add(s));
  const out: Json = {};
  for (const status of [...statuses].sort()) {
    const codes = Object.entries(ERROR_CATALOGUE)
      .filter(([, e]) => e.status === status)
      .map(([code]) => code);
    out[String(status)] = {
      description: `Error: ${codes.join(', ')} (docs/errors.md)`,
      content: { 'application/json': { schema: ref('ErrorBody') } },
    };
  }
  return out;
}

/** Builds the OpenAPI 3.1 document served at /api/docs. */
export function openApiDocument(version: string): Json {
  const roles = schemaRoles();
  const schemas: Json = {};
  for (const name of Object.keys(API_SCHEMAS) as SchemaName[]) {
    schemas[name] = jsonSchema(name, roles.get(name) ?? 'output');
  }
  const paths: Record<string, Record<string, Json>> = {};
  for (const [operationId, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    const path = spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const success: Json =
      spec.response === null
        ? {
            description: 'OK',
            content:
              operationId === 'metrics'
                ? { 'text/plain': { schema: { type: 'string' } } }
                : { 'application/json': { schema: { type: 'object' } } },
          }
        : {
            description: 'OK',
            content: { 'application/json': { schema: ref(spec.response) } },
          };
    const operation: Json = {
      operationId,
      summary: spec.summary,
      description: `Role: ${spec.role}.`,
      tags: [spec.tag],
      parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')],
      responses: { [String(spec.status ?? 200)]: success, ...errorResponses(spec) },
      security:
        spec.role === 'public'
          ? []
          : spec.method === 'GET'
            ? [{ session: [] }]
            : [{ session: [], csrf: [] }],
    };
    if (spec.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: ref(spec.body) } },
      };
    }
    (paths[path] ??= {})[spec.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice API',
      version,
      description:
        'Integrations, sections, runs and landed data of a Sluice server. Log in with POST ' +
        '/api/auth/login (sets the session cookie), then send the returned csrfToken in the ' +
        `${CSRF_HEADER} header on every POST, PUT, PATCH and DELETE. Errors answer ` +
        '{ error: { code, message, fields? } } with a code of docs/errors.md.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER },
      },
    },
    tags: [
      { name: 'auth' },
      { name: 'users' },
      { name: 'integrations' },
      { name: 'sections' },
      { name: 'data' },
      { name: 'console' },
      { name: 'tokens' },
      { name: 'operations' },
    ],
  };
}
