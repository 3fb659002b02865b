/**
 * Where a section's records go besides (or instead of) the embedded store: the port the engine
 * delivers its outbox through. Two methods: how a batch becomes request bodies, and sending one.
 */
import type { ActivityRecord, DataType, MetricRecord } from '../core/types.js';

export interface Sink {
  /** Request bodies (JSON text) for one batch of records, in order, each under the sink's size limit. */
  encode(kind: DataType, records: ActivityRecord[] | MetricRecord[]): string[];
  /** Sends one body; resolves once accepted, else throws a {@link SinkDeliveryError}. */
  send(kind: DataType, body: string): Promise<void>;
}

/** A failed delivery: `retryable` for network errors, 429 and 5xx; anything else stops the section. */
export class SinkDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The HTTP status, when there was an answer. */
    readonly status?: number,
    /** What a 429 or 503 asked for in Retry-After, in ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SinkDeliveryError';
  }
}
