/**
 * Large byte buffers handed from one owner to the next (the chunks of a Planhat sink's request
 * bodies: the engine encodes them, the store's writer thread writes them, delivery reads them
 * back). V8 frees a buffer's memory only when it collects the buffer's wrapper, and a thread that
 * allocates little collects rarely: the writer thread held up to 64 MiB of written bodies that
 * way, and the main thread as much of delivered ones. Their last owner releases them instead.
 */
import { MessageChannel } from 'node:worker_threads';

/** A typed array's memory as bytes (the same memory, not a copy). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Whether a view's memory may be moved to another thread or released: its ArrayBuffer is larger
 * than Buffer's shared pool. (A small Buffer may be a slice of that pool, shared with others:
 * moving it would empty them.) A smaller view is copied where it goes, which costs nothing much.
 */
export function movable(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength > Buffer.poolSize;
}

/** The distinct ArrayBuffers of the movable views, for a postMessage transfer list. */
export function movableBuffers(views: readonly Uint8Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) if (movable(view)) buffers.add(view.buffer as ArrayBuffer);
  return [...buffers];
}

/**
 * Frees the memory of the movable views now: each ArrayBuffer is moved into a message that is
 * dropped, which frees it, and every view of it is left empty. Only for memory that nothing else
 * holds a view of. (`ArrayBuffer.prototype.transfer`, which would say this plainly, needs a newer
 * V8 than Node 20's.)
 */
export function release(views: readonly Uint8Array[]): void {
  const buffers = movableBuffers(views);
  if (buffers.length === 0) return;
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(null, buffers);
  } catch {
    // Already moved (detached): nothing left to free.
  } finally {
    port1.close();
    port2.close();
  }
}
