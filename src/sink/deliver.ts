import { SluiceError } from '../core/errors.js';
import type { OutboxStore } from '../store/outbox-store.js';
import { SinkDeliveryError, type Sink } from './sink.js';

export interface DeliveryOptions {
  /** First retry delay, ms, doubled per attempt with jitter; default 500. */
  baseDelayMs?: number;
  /** Largest delay between attempts, ms; default 30000. Retry-After is honoured up to the max wait. */
  maxDelayMs?: number;
  /** How long one call keeps retrying before giving up (SINK_UNAVAILABLE), ms; default 600000. */
  maxWaitMs?: number;
  /** Called for every delivery attempt (the engine's log). */
  log?: (event: Record<string, unknown>) => void;
  /** The endpoint for logs, token redacted. */
  target?: string;
  /** Aborting (shutdown, integration turned off) stops retrying: SINK_UNAVAILABLE, outbox kept. */
  signal?: AbortSignal;
}

/**
 * Delivers a section's outbox in id order, one body in flight at a time: each leaves the outbox
 * only after the endpoint accepted it, so a crash resends at most that one body and skips none.
 * Retries network errors, 429 and 5xx with exponential backoff and full jitter (at least what
 * Retry-After asks); a 4xx other than 429 throws SINK_REJECTED and leaves the entry queued.
 * Returns how many bodies were delivered.
 */
export async function deliverOutbox(
  outbox: OutboxStore,
  sink: Sink,
  sectionId: number,
  options: DeliveryOptions = {},
): Promise<number> {
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const maxWaitMs = options.maxWaitMs ?? 600_000;
  const started = Date.now();
  let delivered = 0;
  for (;;) {
    // A page of entries at a time: their bodies are read from the store as they are sent.
    const entries = await outbox.pending(sectionId, 16);
    if (entries.length === 0) return delivered;
    for (const entry of entries) {
      for (let attempt = 1; ; attempt++) {
        const t0 = Date.now();
        try {
          await sink.send(entry.kind, { bytes: entry.bytes, chunks: entry.body });
          await outbox.delivered(entry.id);
          options.log?.({
            level: 'info',
            event: 'sink_delivery',
            outboxId: entry.id,
            kind: entry.kind,
            target: options.target,
            attempt,
            status: 'delivered',
            bytes: entry.bytes,
            ms: Date.now() - t0,
          });
          delivered++;
          break;
        } catch (err) {
          if (!(err instanceof SinkDeliveryError)) throw err;
          await outbox.recordFailure(entry.id, err.message);
          const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) * Math.random();
          const delay = Math.max(backoff, err.retryAfterMs ?? 0);
          const giveUp =
            !err.retryable ||
            options.signal?.aborted === true ||
            Date.now() - started + delay > maxWaitMs;
          options.log?.({
            level: err.retryable && !giveUp ? 'warn' : 'error',
            event: 'sink_delivery',
            outboxId: entry.id,
            kind: entry.kind,
            target: options.target,
            attempt,
            status: err.retryable ? 'retry' : 'rejected',
            httpStatus: err.status,
            error: err.message,
            ...(err.retryable && !giveUp ? { retryInMs: Math.round(delay) } : {}),
          });
          if (!err.retryable) {
            throw new SluiceError(
              'SINK_REJECTED',
              `the sink ${options.target ?? 'endpoint'} rejected outbox entry ${entry.id} (${entry.kind}): ${err.message}; the outbox is kept: fix the token or data and run the section again`,
              { outboxId: entry.id, status: err.status ?? null },
            );
          }
          if (giveUp) {
            throw new SluiceError(
              'SINK_UNAVAILABLE',
              `the sink ${options.target ?? 'endpoint'} is unavailable after ${attempt} attempt(s) on outbox entry ${entry.id}${options.signal?.aborted === true ? ' (the run was stopped)' : ''}: ${err.message}; the outbox is kept for the next run`,
              { outboxId: entry.id, status: err.status ?? null },
            );
          }
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    }
  }
}
