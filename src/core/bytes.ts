/**
 * Large byte buffers handed from one owner to the next (the chunks of a Planhat sink's request
 * bodies: the engine encodes them, the store's writer thread writes them, delivery reads them
 * back). V8 frees a buffer's memory only when it collects the buffer's wrapper, and a thread that
 * allocates little collects rarely: the writer thread held up to 64 MiB of written bodies that
 * way, and the main thread as much of delivered ones. Their last owner releases them instead.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

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
 * Where released buffers go: a closed port, so a message posted to it is dropped at once, its
 * transferred buffers freed with it. (Only the other end closed, the messages waited in its queue
 * until the close reached it, on a later turn of the event loop.) One per thread, made on first
 * use. A channel made and closed for each release cost 35-50 µs a call, and its ports' memory
 * waited for a collection: 5,000 releases held 70 MiB more, and a sink with `both` at 100,000
 * rows a batch, which releases each chunk it spills, peaked at 151-177 MiB instead of 140.
 */
let drop: MessagePort | undefined;

function dropPort(): MessagePort {
  if (drop === undefined) {
    const { port1, port2 } = new MessageChannel();
    port1.close();
    port2.close();
    drop = port1;
  }
  return drop;
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
  try {
    dropPort().postMessage(null, buffers);
  } catch {
    // Already moved (detached): nothing left to free.
  }
}
