import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ActivityRecord, DataType, MetricRecord } from '../core/types.js';
import { SinkDeliveryError, type BodyEncoder, type Sink } from './sink.js';

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
  /** The room a new body starts with, in bytes: a little more than the last body took. */
  private bodyHint = 64 * 1024;

  constructor(private readonly options: PlanhatSinkOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? PLANHAT_MAX_BODY_BYTES - 64 * 1024;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** The URL a kind of body goes to, with the token shown as `***` (for logs). */
  redactedUrl(kind: DataType): string {
    return this.url(kind, '***');
  }

  encoder(kind: DataType): BodyEncoder {
    const max = this.maxBodyBytes;
    const bodies: Uint8Array[] = [];
    let body: JsonArrayBody | undefined;
    return {
      add: (records) => {
        for (const record of records) {
          const text = JSON.stringify(
            kind === 'activities'
              ? toPlanhatActivity(record as ActivityRecord)
              : toPlanhatMetric(record as MetricRecord),
          );
          const size = Buffer.byteLength(text);
          // An item alone over the limit still goes alone: the endpoint's 413 then stops the section.
          if (body !== undefined && body.count > 0 && body.bytes + size + 1 > max) {
            bodies.push(body.finish());
            body = undefined;
          }
          // Sized as the last body was: a batch's bodies are alike, and growing one copies it.
          body ??= new JsonArrayBody(Math.min(max, this.bodyHint));
          body.push(text, size);
        }
      },
      finish: () => {
        if (body !== undefined) {
          this.bodyHint = Math.max(64 * 1024, Math.ceil(body.bytes * 1.1));
          bodies.push(body.finish());
        }
        body = undefined;
        return bodies;
      },
    };
  }

  /** The request bodies of one batch of records (see {@link encoder}). */
  encode(kind: DataType, records: ActivityRecord[] | MetricRecord[]): Uint8Array[] {
    const encoder = this.encoder(kind);
    encoder.add(records);
    return encoder.finish();
  }

  /**
   * POSTs one body with node:http(s) rather than fetch: fetch copies a body it is given (the
   * Fetch standard's "extract a body"), 2 to 32 MB a request that the heap then holds until it
   * is collected, where `http` writes the bytes as they are.
   */
  async send(kind: DataType, body: string | Uint8Array): Promise<void> {
    const url = new URL(this.url(kind, encodeURIComponent(this.options.token)));
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    let answer: Answer;
    try {
      answer = await post(url, bytes, this.timeoutMs);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.name === 'AbortError' ? `no answer within ${this.timeoutMs} ms` : (e.code ?? e.message);
      throw new SinkDeliveryError(`network error: ${why}`, true, undefined, undefined, {
        cause: err,
      });
    }
    const { status, text } = answer;
    if (status >= 200 && status < 300) return;
    const retryable = status === 429 || status >= 500;
    throw new SinkDeliveryError(
      `HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ''}`,
      retryable,
      status,
      parseRetryAfter(answer.retryAfter),
    );
  }

  private url(kind: DataType, token: string): string {
    const path = kind === 'activities' ? 'analytics/bulk' : 'dimensiondata';
    return `${this.options.baseUrl}/${path}/${token}`;
  }
}

/** What an endpoint answered: the status, the start of its text, and its Retry-After. */
interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** POSTs JSON bytes; rejects on a network error, a connection closed mid-answer, or the time limit. */
function post(url: URL, bytes: Uint8Array, timeoutMs: number): Promise<Answer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': bytes.byteLength },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // Only the start of an answer is shown (in errors); the rest is read and dropped.
          if (text.length < 1024) text += chunk;
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) {
            reject(
              Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' }),
            );
            return;
          }
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, text, retryAfter: retryAfter ?? null });
        });
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/**
 * A JSON array written item by item into one buffer outside the JS heap: a batch's request body
 * as strings would live in V8's old generation until a full collection (about 90 MiB of them
 * at the peak of a million-row sync), where a buffer is handed to the store's writer thread.
 */
class JsonArrayBody {
  #buf: Buffer;
  #length = 1;
  /** Items written. */
  count = 0;

  constructor(capacity: number) {
    // Never from Buffer's shared pool: the body's memory may be moved to another thread.
    this.#buf = Buffer.allocUnsafeSlow(Math.max(capacity, 16));
    this.#buf[0] = 0x5b; // [
  }

  /** The body's size once closed, in bytes. */
  get bytes(): number {
    return this.#length + 1;
  }

  /** Appends an item (`text` is JSON, `size` its UTF-8 length). */
  push(text: string, size: number): void {
    this.#reserve(size + 2);
    if (this.count > 0) this.#buf[this.#length++] = 0x2c; // ,
    this.#length += this.#buf.write(text, this.#length);
    this.count++;
  }

  /** Closes the array: the body, a view of the buffer. */
  finish(): Uint8Array {
    this.#reserve(1);
    this.#buf[this.#length++] = 0x5d; // ]
    return this.#buf.subarray(0, this.#length);
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buf.length) return;
    let capacity = this.#buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = Buffer.allocUnsafeSlow(capacity);
    this.#buf.copy(next, 0, 0, this.#length);
    this.#buf = next;
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
