import type { ActivityRecord, DataType, MetricRecord } from '../core/types.js';
import { SinkDeliveryError, type Sink } from './sink.js';

/** Planhat's documented limit on a request body: 32 MB. */
export const PLANHAT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface PlanhatSinkOptions {
  /** http(s) base URL without a trailing slash, e.g. https://analytics.planhat.com. */
  baseUrl: string;
  /** The tenant token (a path segment of every request). */
  token: string;
  /** Largest request body in bytes; default {@link PLANHAT_MAX_BODY_BYTES} less 64 KiB of headroom. */
  maxBodyBytes?: number;
  /** Time limit of one request, ms; default 60000. */
  timeoutMs?: number;
}

/** One user activity as Planhat's bulk analytics endpoint documents it. */
export interface PlanhatActivity {
  email?: string;
  externalId?: string;
  name?: string;
  companyExternalId?: string;
  action?: string;
  weight: number;
  date: string;
  info?: Record<string, unknown>;
}

/** One custom metric point as Planhat's dimensiondata endpoint documents it. */
export interface PlanhatMetric {
  dimensionId: string;
  value: number;
  externalId: string;
  model: string;
  date: string;
}

/**
 * Delivers to a Planhat-compatible endpoint: activities to `POST {baseUrl}/analytics/bulk/{token}`,
 * metrics to `POST {baseUrl}/dimensiondata/{token}`, each body a JSON array under the size limit.
 */
export class PlanhatSink implements Sink {
  private readonly maxBodyBytes: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: PlanhatSinkOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? PLANHAT_MAX_BODY_BYTES - 64 * 1024;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** The URL a kind of body goes to, with the token shown as `***` (for logs). */
  redactedUrl(kind: DataType): string {
    return this.url(kind, '***');
  }

  encode(kind: DataType, records: ActivityRecord[] | MetricRecord[]): string[] {
    const items =
      kind === 'activities'
        ? (records as ActivityRecord[]).map(toPlanhatActivity)
        : (records as MetricRecord[]).map(toPlanhatMetric);
    const bodies: string[] = [];
    let parts: string[] = [];
    let bytes = 2; // the brackets
    for (const item of items) {
      const text = JSON.stringify(item);
      const size = Buffer.byteLength(text) + 1; // and its comma
      // An item alone over the limit still goes alone: the endpoint's 413 then stops the section.
      if (parts.length > 0 && bytes + size > this.maxBodyBytes) {
        bodies.push(`[${parts.join(',')}]`);
        parts = [];
        bytes = 2;
      }
      parts.push(text);
      bytes += size;
    }
    if (parts.length > 0) bodies.push(`[${parts.join(',')}]`);
    return bodies;
  }

  async send(kind: DataType, body: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url(kind, encodeURIComponent(this.options.token)), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      const why = typeof cause?.code === 'string' ? cause.code : (err as Error).message;
      throw new SinkDeliveryError(`network error: ${why}`, true, undefined, undefined, {
        cause: err,
      });
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    const retryable = res.status === 429 || res.status >= 500;
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    throw new SinkDeliveryError(
      `HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ''}`,
      retryable,
      res.status,
      retryAfter,
    );
  }

  private url(kind: DataType, token: string): string {
    const path = kind === 'activities' ? 'analytics/bulk' : 'dimensiondata';
    return `${this.options.baseUrl}/${path}/${token}`;
  }
}

/** An activity record in Planhat's field names; absent targets stay absent. */
export function toPlanhatActivity(r: ActivityRecord): PlanhatActivity {
  const item: PlanhatActivity = { weight: r.weight, date: r.date };
  if (r.email !== undefined) item.email = r.email;
  if (r.externalId !== undefined) item.externalId = r.externalId;
  if (r.name !== undefined) item.name = r.name;
  if (r.companyExternalId !== undefined) item.companyExternalId = r.companyExternalId;
  if (r.action !== undefined) item.action = r.action;
  if (r.info !== undefined) item.info = JSON.parse(r.info) as Record<string, unknown>;
  return item;
}

/** A metric record in Planhat's field names (Planhat spells the enduser model `EndUser`). */
export function toPlanhatMetric(r: MetricRecord): PlanhatMetric {
  return {
    dimensionId: r.dimensionId,
    value: r.value,
    externalId: r.externalId,
    model: r.model === 'Enduser' ? 'EndUser' : r.model,
    date: r.date,
  };
}

/** Retry-After in ms: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
