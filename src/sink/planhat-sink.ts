import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { release } from '../core/bytes.js';
import { isSluiceError, SluiceError } from '../core/errors.js';
import type { ActivityRecord, DataType, MetricRecord } from '../core/types.js';
import {
  SinkDeliveryError,
  type Body,
  type BodyEncoder,
  type OutgoingBody,
  type Sink,
} from './sink.js';

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

  encoder(kind: DataType): BodyEncoder {
    const max = this.maxBodyBytes;
    const bodies: JsonArrayBody[] = [];
    let body: JsonArrayBody | undefined;
    /** The first body with chunks not taken yet. */
    let untaken = 0;
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
            body.finish();
            body = undefined;
          }
          if (body === undefined) bodies.push((body = new JsonArrayBody()));
          body.push(text, size);
        }
      },
      take: (minBytes) => {
        let ready = 0;
        for (let i = untaken; i < bodies.length; i++)
          ready += (bodies[i] as JsonArrayBody).doneBytes;
        if (ready === 0 || ready < minBytes) return [];
        const taken: { body: number; chunks: Uint8Array[] }[] = [];
        for (let i = untaken; i < bodies.length; i++) {
          const chunks = (bodies[i] as JsonArrayBody).takeDone();
          if (chunks.length > 0) taken.push({ body: i, chunks });
        }
        // Bodies before the open one are finished: nothing of them is left to take.
        untaken = Math.max(untaken, bodies.length - 1);
        return taken;
      },
      finish: () => {
        body?.finish();
        body = undefined;
        return bodies.map((b) => b.takeDone());
      },
    };
  }

  /** The request bodies of one batch of records (see {@link encoder}). */
  encode(kind: DataType, records: ActivityRecord[] | MetricRecord[]): Body[] {
    const encoder = this.encoder(kind);
    encoder.add(records);
    return encoder.finish();
  }

  /**
   * POSTs one body with node:http(s) rather than fetch: fetch copies a body it is given (the
   * Fetch standard's "extract a body"), 2 to 32 MB a request that the heap then holds until it
   * is collected, where `http` writes the chunks as they are.
   */
  async send(kind: DataType, body: OutgoingBody): Promise<void> {
    const url = new URL(this.url(kind, encodeURIComponent(this.options.token)));
    let answer: Answer;
    try {
      answer = await post(url, body, this.timeoutMs);
    } catch (err) {
      // The body could not be read (from the store): not the endpoint's doing, not retried here.
      if (isSluiceError(err)) throw err;
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

/**
 * POSTs JSON bytes; rejects on a network error, a connection closed mid-answer, the time limit, or
 * a body whose chunks could not be read (that error, the request abandoned).
 */
function post(url: URL, body: OutgoingBody, timeoutMs: number): Promise<Answer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.bytes },
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
    writeBody(req, body).catch((err: unknown) => {
      reject(err);
      req.destroy();
    });
  });
}

/**
 * Writes a body's chunks as they are read, waiting whenever the socket has enough queued, and
 * frees each once the socket has written it: a body of 32 MB never waits in memory whole.
 */
async function writeBody(req: ClientRequest, body: OutgoingBody): Promise<void> {
  let written = 0;
  for await (const chunk of body.chunks()) {
    if (req.destroyed) return;
    written += chunk.byteLength;
    if (written > body.bytes) break;
    const more = req.write(chunk, (err) => {
      // Not before: the socket reads the chunk's memory until it calls back.
      if (err == null) release([chunk]);
    });
    if (!more) await drained(req);
  }
  if (req.destroyed) return;
  if (written !== body.bytes) {
    throw new SluiceError(
      'STORE_FAILED',
      `a request body of ${body.bytes} bytes came to ${written > body.bytes ? 'more' : written}`,
    );
  }
  req.end();
}

/** Resolves once the request can take more, or once it is done with (errored, closed). */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/**
 * A JSON array written item by item into chunks of BODY_CHUNK bytes outside the JS heap. As
 * strings, a batch's body lived in V8's old generation until a full collection (about 90 MiB of
 * them at the peak of a million-row sync); as one buffer, it was a large block of malloc's each
 * time it was built, written and read back, which glibc then kept in its arenas.
 */
class JsonArrayBody {
  readonly #chunks: Uint8Array[] = [];
  #chunk: Buffer;
  #used = 0;
  /** Bytes in the chunks done with. */
  #done = 0;
  /** Items written. */
  count = 0;

  constructor() {
    this.#chunk = newChunk();
    this.#put(OPEN, 1);
  }

  /** The body's size once closed, in bytes. */
  get bytes(): number {
    return this.#done + this.#used + 1;
  }

  /** Appends an item (`text` is JSON, `size` its UTF-8 length). */
  push(text: string, size: number): void {
    if (this.count > 0) this.#put(COMMA, 1);
    if (size <= this.#chunk.length - this.#used) {
      this.#used += this.#chunk.write(text, this.#used);
    } else {
      this.#put(Buffer.from(text), size);
    }
    this.count++;
  }

  /** Closes the array: every chunk is then done with (the last one a view of what it used). */
  finish(): void {
    this.#put(CLOSE, 1);
    this.#chunks.push(this.#chunk.subarray(0, this.#used));
    this.#done += this.#used;
    this.#used = 0;
  }

  /** Bytes of the chunks done with and not taken. */
  get doneBytes(): number {
    let bytes = 0;
    for (const chunk of this.#chunks) bytes += chunk.byteLength;
    return bytes;
  }

  /** The chunks done with and not taken yet, in order: the caller's from now on. */
  takeDone(): Uint8Array[] {
    return this.#chunks.splice(0);
  }

  /** Copies `bytes` (its first `size`) in, across as many chunks as it takes. */
  #put(bytes: Uint8Array, size: number): void {
    let from = 0;
    while (from < size) {
      if (this.#used === this.#chunk.length) {
        this.#chunks.push(this.#chunk);
        this.#done += this.#used;
        this.#chunk = newChunk();
        this.#used = 0;
      }
      const n = Math.min(size - from, this.#chunk.length - this.#used);
      this.#chunk.set(bytes.subarray(from, from + n), this.#used);
      this.#used += n;
      from += n;
    }
  }
}

/**
 * A body's chunk: 64 KiB, under glibc's threshold for mapping a block of its own (128 KiB), so
 * malloc reuses the same memory for every chunk, and over Buffer's shared pool (8 KiB), so a chunk
 * may move to the store's writer thread (see core/bytes.ts).
 */
const BODY_CHUNK = 64 * 1024;
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

function newChunk(): Buffer {
  return Buffer.allocUnsafeSlow(BODY_CHUNK);
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
