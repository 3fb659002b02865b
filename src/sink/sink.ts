/**
 * Where a section's records go besides (or instead of) the embedded store: the port the engine
 * delivers its outbox through. Two methods: how a batch becomes request bodies, and sending one.
 */
import type { ActivityRecord, DataType, MetricRecord } from '../core/types.js';

/** A request body: UTF-8 JSON in chunks, sent one after another (a body is never one block). */
export type Body = readonly Uint8Array[];

/**
 * A body as it is sent: its size (the request's Content-Length), and its chunks, read as they are
 * written (an outbox entry's come from the store a few at a time). Each chunk is the sender's to
 * free once written.
 */
export interface OutgoingBody {
  bytes: number;
  chunks(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/**
 * One batch's request bodies, built as its records are read: a part's records are encoded when
 * added, so only their JSON text lives until the batch commits.
 */
export interface BodyEncoder {
  /** Encodes the next records of the batch. */
  add(records: ActivityRecord[] | MetricRecord[]): void;
  /**
   * The chunks done with so far and not taken yet, by body (numbered from 0, in order), once
   * they come to `minBytes` or more (else none): a long batch hands them to the store while it
   * is read rather than hold them all until its commit. Each chunk is the taker's.
   */
  take(minBytes: number): { body: number; chunks: Uint8Array[] }[];
  /**
   * The batch's bodies, in order, each under the sink's size limit, each with the chunks not
   * taken (a body whose chunks were all taken is empty); call once.
   */
  finish(): Body[];
}

export interface Sink {
  /** An encoder for one batch of records of a kind. */
  encoder(kind: DataType): BodyEncoder;
  /**
   * Sends one body; resolves once accepted, else throws a {@link SinkDeliveryError} (or, when its
   * chunks could not be read, that error).
   */
  send(kind: DataType, body: OutgoingBody): Promise<void>;
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
