/**
 * The outbox of sections that deliver to a Planhat sink: batches committed with their cursor
 * (Store.commitBatch with `outbox`), delivered in id order per section, each removed once
 * accepted. A small port beside the Store, in the same database (on SQLite it shares the store's
 * connection).
 */
import type { DataType } from '../core/types.js';

/** One queued request body. */
export interface OutboxEntry {
  id: number;
  sectionId: number;
  runId: number;
  kind: DataType;
  /** The JSON request body's size in bytes. */
  bytes: number;
  /**
   * The JSON request body, as sent: its UTF-8 chunks in order, read from the store a few at a time
   * as they are taken (a body may be 32 MB), afresh on every call. Each chunk is the caller's.
   */
  body(): AsyncIterable<Uint8Array>;
  createdAt: string;
  attempts: number;
  deliveredAt: string | null;
  lastError: string | null;
}

export interface OutboxStore {
  /** The oldest undelivered entries of a section, in id (delivery) order. */
  pending(sectionId: number, limit: number): Promise<OutboxEntry[]>;
  /** Counts a delivery attempt that failed, with its error. */
  recordFailure(id: number, error: string): Promise<void>;
  /** Removes an entry the endpoint accepted: the outbox holds what is still to deliver, no more. */
  delivered(id: number): Promise<void>;
  /** The decrypted literal tenant token of the section's sink, when one is stored. */
  sinkToken(sectionId: number): Promise<string | undefined>;
}
