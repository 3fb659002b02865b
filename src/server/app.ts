/**
 * The Sluice HTTP server as a fastify instance, built but not listening (`sluice serve` listens;
 * tests call `app.inject()`): the JSON API of core/api.ts under /api, Prometheus metrics at
 * /metrics, and the built web UI (`web/dist`) with an SPA fallback to its index.html.
 */
import { existsSync } from 'node:fs';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ErrorBody } from '../core/api.js';
import { createContext, type AppDeps, type ServerContext } from './context.js';
import { errorHandler } from './route.js';
import { authRoutes } from './routes/auth.js';
import { consoleRoutes } from './routes/console.js';
import { dataRoutes } from './routes/data.js';
import { ingestRoutes, redactUrl } from './routes/ingest.js';
import { integrationRoutes } from './routes/integrations.js';
import { operationRoutes } from './routes/operations.js';
import { sectionRoutes } from './routes/sections.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';

export type { AppDeps } from './context.js';

/**
 * Largest request body, bytes (a section config or an SQL statement fits many times over); the
 * ingest routes take up to 32 MB (INGEST_BODY_LIMIT).
 */
const BODY_LIMIT = 1024 * 1024;

// The UI is served from this origin only; Mantine injects its styles at run time (inline).
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " +
  "base-uri 'self'; form-action 'self'";

/** Builds the app; call `ready()` or `inject()` on it, or `listen()` to serve. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(typeof deps.logger === 'object'
      ? { loggerInstance: deps.logger }
      : { logger: deps.logger ?? false }),
    trustProxy: deps.trustProxy ?? false,
    bodyLimit: BODY_LIMIT,
    // One line per request is logged below (onResponse), not fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const ctx: ServerContext = createContext(deps);

  await app.register(fastifyCookie);
  app.setErrorHandler(errorHandler);

  app.addHook('onSend', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'same-origin');
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        // Ingest URLs carry the tenant token: never log it.
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  authRoutes(app, ctx);
  userRoutes(app, ctx);
  integrationRoutes(app, ctx);
  sectionRoutes(app, ctx);
  dataRoutes(app, ctx);
  consoleRoutes(app, ctx);
  tokenRoutes(app, ctx);
  operationRoutes(app, ctx);
  ingestRoutes(app, ctx);

  const webDir = deps.webDir !== undefined && existsSync(deps.webDir) ? deps.webDir : undefined;
  if (webDir !== undefined) {
    await app.register(fastifyStatic, { root: webDir, wildcard: false, index: ['index.html'] });
  }
  app.setNotFoundHandler(async (request, reply) => {
    const api = request.url === '/api' || request.url.startsWith('/api/');
    if (!api && webDir !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
      // A client-side route (/integrations/x, /data, ...): the UI's router takes it from here.
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    const body: ErrorBody = {
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      },
    };
    return reply.code(404).send(body);
  });
  return app;
}
