/**
 * The Planhat-compatible ingest API, outside /api: a script written for Planhat's analytics
 * endpoints works against Sluice by changing the host.
 *
 * - `POST /analytics/:tenantToken`: one user activity (a JSON object).
 * - `POST /analytics/bulk/:tenantToken`: an array of activities (bulk aliases id, cId, count).
 * - `POST /dimensiondata/:tenantToken`: one custom metric point or an array of them.
 * - `GET /dimensiondata?cId|externalId&dimid&from&to&limit&offset`: the stored points; the token
 *   comes as `Authorization: Bearer <token>` or `?tenantToken=`.
 *
 * Unlike Planhat, every answer says what happened: `{ processed, errors: [{ index, reason }] }`
 * (200 whenever the body is JSON of the right shape, even when items are invalid); each invalid
 * item is kept as a reject of the token. Bodies may be up to 32 MB (the /api routes keep 1 MB).
 * Pushed items have no source key: each lands with a fresh row id, so a retried request lands
 * twice, as it would on Planhat.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DimensionDataQuerySchema, type IngestResponse } from '../../core/api.js';
import { SluiceError } from '../../core/errors.js';
import { parseActivity, parseMetric } from '../../core/ingest.js';
import type { ActivityRecord, MetricRecord, RejectRecord } from '../../core/types.js';
import type { TokenOrigin } from '../../store/token-store.js';
import { hashToken } from '../auth.js';
import type { ServerContext } from '../context.js';
import { invalid } from '../route.js';

/** Largest body of an ingest request, bytes: Planhat documents 32 MB. */
export const INGEST_BODY_LIMIT = 32 * 1024 * 1024;

/** The request URL with any tenant token masked, for logs. */
export function redactUrl(url: string): string {
  return url
    .replace(/^\/(analytics\/bulk|analytics|dimensiondata)\/[^/?#]+/, '/$1/<token>')
    .replace(/([?&]tenantToken=)[^&#]*/, '$1<token>');
}

type TokenParams = { tenantToken: string };

export function ingestRoutes(app: FastifyInstance, ctx: ServerContext): void {
  /** The token's pseudo-sections; 401 TOKEN_INVALID for an unknown or revoked token. */
  const authenticate = async (secret: string | undefined): Promise<TokenOrigin> => {
    if (secret === undefined || secret === '') {
      throw new SluiceError(
        'TOKEN_INVALID',
        'no tenant token: send it as Authorization: Bearer <token> or ?tenantToken=',
      );
    }
    const token = await ctx.tokens.findTokenByHash(hashToken(secret));
    if (token === undefined) throw new SluiceError('TOKEN_INVALID', 'unknown tenant token');
    if (token.revokedAt !== null) {
      throw new SluiceError(
        'TOKEN_INVALID',
        `tenant token "${token.name}" (${token.prefix}...) was revoked at ${token.revokedAt}`,
      );
    }
    await ctx.tokens.touchToken(token.id);
    return token;
  };

  const land = async (
    token: TokenOrigin,
    dataType: 'activities' | 'metrics',
    items: unknown[],
  ): Promise<IngestResponse> => {
    const now = new Date().toISOString();
    const records: (ActivityRecord | MetricRecord)[] = [];
    const rejects: RejectRecord[] = [];
    const errors: IngestResponse['errors'] = [];
    items.forEach((item, index) => {
      const parsed = dataType === 'activities' ? parseActivity(item, now) : parseMetric(item, now);
      // Pushed items have no source key: a fresh row id each (at-least-once, like Planhat).
      if (parsed.ok) records.push({ ...parsed.record, rowId: randomUUID(), key: String(index) });
      else {
        rejects.push({ ...parsed.reject, rowId: randomUUID(), key: String(index) });
        errors.push({ index, reason: parsed.reject.reason });
      }
    });
    const result = await ctx.store.landPushed({
      sectionId: dataType === 'activities' ? token.activitiesSectionId : token.metricsSectionId,
      dataType,
      records: records as ActivityRecord[] | MetricRecord[],
      rejects,
    });
    return { processed: result.landed, errors };
  };

  const options = { bodyLimit: INGEST_BODY_LIMIT };

  app.post<{ Params: TokenParams }>('/analytics/:tenantToken', options, async (request) => {
    const token = await authenticate(request.params.tenantToken);
    if (!isObject(request.body)) {
      throw badBody('the body must be one activity: a JSON object (arrays go to /analytics/bulk)');
    }
    return land(token, 'activities', [request.body]);
  });

  app.post<{ Params: TokenParams }>('/analytics/bulk/:tenantToken', options, async (request) => {
    const token = await authenticate(request.params.tenantToken);
    const body = request.body;
    if (!Array.isArray(body) && !isObject(body)) {
      throw badBody('the body must be a JSON array of activities');
    }
    return land(token, 'activities', Array.isArray(body) ? body : [body]);
  });

  app.post<{ Params: TokenParams }>('/dimensiondata/:tenantToken', options, async (request) => {
    const token = await authenticate(request.params.tenantToken);
    const body = request.body;
    if (!Array.isArray(body) && !isObject(body)) {
      throw badBody('the body must be a metric point (a JSON object) or an array of them');
    }
    return land(token, 'metrics', Array.isArray(body) ? body : [body]);
  });

  app.get('/dimensiondata', async (request) => {
    const parsed = DimensionDataQuerySchema.safeParse(request.query);
    if (!parsed.success) {
      throw invalid(
        parsed.error.issues.map((i) => ({
          field: i.path.map(String).join('.') || 'query',
          message: i.message,
        })),
        'BAD_REQUEST',
      );
    }
    await authenticate(bearer(request) ?? parsed.data.tenantToken);
    return ctx.data.dimensionData(parsed.data);
  });
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badBody(message: string): SluiceError {
  return new SluiceError('BAD_REQUEST', message);
}
