/**
 * Flattened records packed for the trip to the writer thread: one buffer holding every string of
 * a part joined (one byte a character when each fits in Latin-1, else UTF-16), then per value its
 * length, then the numbers. The buffer moves to the writer rather than being copied, waits there
 * off the heap, and goes to a spill file as it is (see BatchParts), so the writer neither decodes a
 * part on arrival nor encodes it for the file. (Per million rows, the receiving thread's time
 * against thousands of small strings: 0.36 s -> 0.13 s in a micro-benchmark, with the text as one
 * string; in bytes the writer also leaves the text's decoding to the commit.)
 */
import type { FlatRecords } from './sqlite-batch-writer.js';

/** How a part's bytes are laid out. */
export interface PackedShape {
  textBytes: number;
  /** Whether the text is Latin-1, one byte a character; else UTF-16LE, which keeps any string. */
  latin1: boolean;
  /**
   * Values of the part, each with a length: a string's, in UTF-16 code units, or NULL_VALUE, or
   * NUMBER_VALUE.
   */
  values: number;
  /** Of those, numbers (a Float64 for every value was a third of a part's bytes). */
  numbers: number;
}

export interface PackedRecords extends PackedShape {
  /**
   * The text (textBytes of it), then from the next 8-byte boundary `values` Int32 lengths, then
   * from the next `numbers` Float64s. Its own ArrayBuffer, starting at offset 0.
   */
  bytes: Uint8Array;
}

const NULL_VALUE = -1;
const NUMBER_VALUE = -2;

/**
 * A code unit past Latin-1 (a lone surrogate too): the text is then UTF-16. On a string V8 holds
 * one byte a character, which most are, the test returns at once.
 */
const WIDE = /[\u0100-\uffff]/;

/** Each section of a part starts on 8 bytes, so it reads as a typed array in place. */
function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** Where the section holding the numbers starts. */
export function numbersAt(part: PackedShape): number {
  return pad8(part.textBytes) + pad8(part.values * 4);
}

/** Bytes of a part of this shape. */
export function packedBytes(part: PackedShape): number {
  return numbersAt(part) + part.numbers * 8;
}

/** Where a part's lengths and numbers gather before they are copied into its buffer. */
let lengthsScratch = new Int32Array(0);
let numbersScratch = new Float64Array(0);

export function packRecords(values: FlatRecords): PackedRecords {
  if (lengthsScratch.length < values.length) {
    lengthsScratch = new Int32Array(values.length);
    numbersScratch = new Float64Array(values.length);
  }
  let numbers = 0;
  const strings: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') {
      strings.push(v);
      lengthsScratch[i] = v.length;
    } else if (typeof v === 'number') {
      lengthsScratch[i] = NUMBER_VALUE;
      numbersScratch[numbers++] = v;
    } else lengthsScratch[i] = NULL_VALUE;
  }
  const text = strings.join('');
  const latin1 = !WIDE.test(text);
  const shape = {
    textBytes: text.length * (latin1 ? 1 : 2),
    latin1,
    values: values.length,
    numbers,
  };
  // Not from Buffer's pool (a slice of it could not move), and not zeroed: every byte is written.
  const bytes = Buffer.allocUnsafeSlow(packedBytes(shape));
  bytes.write(text, 0, shape.textBytes, latin1 ? 'latin1' : 'utf16le');
  const lengthsAt = pad8(shape.textBytes);
  bytes.fill(0, shape.textBytes, lengthsAt);
  new Int32Array(bytes.buffer, lengthsAt, values.length).set(
    lengthsScratch.subarray(0, values.length),
  );
  const at = numbersAt(shape);
  bytes.fill(0, lengthsAt + values.length * 4, at);
  new Float64Array(bytes.buffer, at, numbers).set(numbersScratch.subarray(0, numbers));
  return { bytes, ...shape };
}

/** The buffer a packed part can hand over rather than copy (postMessage's transfer list). */
export function transferablesOf(packed: PackedRecords): ArrayBuffer[] {
  return [packed.bytes.buffer as ArrayBuffer];
}

/** The values of a part of this shape from its bytes (its own, or a copy read from a file). */
export function unpackRecords(packed: PackedShape, bytes: Uint8Array): FlatRecords {
  const { textBytes, values: count } = packed;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, textBytes).toString(
    packed.latin1 ? 'latin1' : 'utf16le',
  );
  const lengths = new Int32Array(bytes.buffer, bytes.byteOffset + pad8(textBytes), count);
  const numbers = new Float64Array(
    bytes.buffer,
    bytes.byteOffset + numbersAt(packed),
    packed.numbers,
  );
  const values: FlatRecords = [];
  let at = 0;
  let k = 0;
  for (let i = 0; i < count; i++) {
    const n = lengths[i] as number;
    if (n >= 0) {
      values.push(text.slice(at, at + n));
      at += n;
    } else values.push(n === NULL_VALUE ? null : (numbers[k++] as number));
  }
  return values;
}
