/**
 * A table of rows keyed by a string, held in typed arrays rather than as JS objects: the keys
 * and other strings as code units in one buffer (see Chars), the numbers in another, and an
 * open-addressing index of its own. It holds the endusers and companies a section's landed
 * records mention until their fold (see pending.ts).
 *
 * Why not a Map of objects: a table of 300,000 distinct endusers kept a pending enduser alive for
 * a few batches each, so each one (an object, two boxed doubles, a Map entry and four strings,
 * about 500 bytes) was promoted to V8's old generation, which grew to three times what was live:
 * 385 MiB for a 3-million-row sync. Here an enduser costs about 150 bytes outside the JS heap,
 * nothing for the garbage collector to trace or promote, and the fold hands the buffers to the
 * writer thread without copying them.
 */

import { bytesOf, release } from '../core/bytes.js';

/** Numbers kept per row, at `row * NUMS + ...`. */
export const FIRST = 0;
export const LAST = 1;
export const ACTIVITIES = 2;
export const WEIGHT = 3;
export const POINTS = 4;
export const NUMS = 5;

/** An enduser's string fields (its key is its ident: `x:<external id>`, else `e:<email>`). */
export const EMAIL = 1;
export const NAME = 2;
export const COMPANY = 3;
export const ENDUSER_FIELDS = 4;

/** A table as handed to the writer: the buffers (transferable), their lengths, and the key order. */
export interface PackedTable {
  rows: number;
  /** String fields per row, the key first. */
  fields: number;
  /** UTF-16 code units of every string, `length` of them used (see Chars). */
  chars: Chars;
  length: number;
  /** Per row and field: the string's start in `chars` and its length (-1: null). */
  spans: Int32Array;
  /** Per row: NUMS numbers (see FIRST .. POINTS). */
  nums: Float64Array;
  /** Per row: a bit mask of the caller's (the actions of an enduser). */
  bits: Int32Array;
  /** Row numbers in the order of their keys (UTF-16 code units compared, as JS strings are). */
  order: Int32Array;
  /**
   * The table's index, of no use to the writer: it travels along so that its memory is freed
   * there, soon, rather than with the table object, which lived long enough to be promoted and
   * waits for the main thread's next full collection.
   */
  index: [Int32Array, Int32Array, Int32Array];
}

/**
 * Code units, one byte each while none is past 0xFF (most idents, emails and names: half the
 * memory), two bytes from the first that is.
 */
export type Chars = Uint8Array | Uint16Array;

const NULL_SPAN = -1;
/** Hash slots per row of capacity, at least: at most half the slots are ever used. */
const SLOTS_PER_ROW = 2;

export class SeenTable {
  rows = 0;
  /** Whether the last call to {@link row} added its row. */
  added = false;
  #capacity: number;
  /** The capacity of the first allocation. */
  #initial = 0;
  #chars: Chars;
  #wide: boolean;
  #length = 0;
  #spans: Int32Array;
  #nums: Float64Array;
  #bits: Int32Array;
  #links: Int32Array;
  /** Per row: its key's hash (for probing and growing the index without rehashing keys). */
  #hashes: Int32Array;
  /** Open addressing, linear probing: row + 1, 0 for an empty slot. */
  #slots: Int32Array;
  #packed = false;

  constructor(
    /** String fields per row, the key first. */
    readonly fields: number,
    /** Rows held before the buffers grow (each time to twice as many). */
    capacity = 256,
    /**
     * A packed table of as many fields, done with (the writer sent it back): its buffers are
     * taken over rather than new ones allocated.
     */
    reuse?: PackedTable,
  ) {
    if (reuse !== undefined && reuse.fields === fields) {
      const [hashes, slots, links] = reuse.index;
      this.#capacity = reuse.bits.length;
      this.#chars = reuse.chars;
      this.#wide = reuse.chars instanceof Uint16Array;
      this.#spans = reuse.spans;
      this.#nums = reuse.nums;
      this.#bits = reuse.bits;
      this.#links = links;
      this.#hashes = hashes;
      this.#slots = slots.fill(0);
      return;
    }
    // Allocated with the first row: a caught-up run makes an empty table too (each costs the
    // idle tick about 0.03 ms when allocated up front).
    this.#initial = capacity;
    this.#capacity = 0;
    this.#chars = new Uint8Array(0);
    this.#wide = false;
    this.#spans = new Int32Array(0);
    this.#nums = new Float64Array(0);
    this.#bits = new Int32Array(0);
    this.#links = new Int32Array(0);
    this.#hashes = new Int32Array(0);
    this.#slots = new Int32Array(slotsFor(0));
  }

  /** The numbers of every row (the array is replaced as the table grows: read it after `row`). */
  get nums(): Float64Array {
    return this.#nums;
  }

  /** Per row: a bit mask of the caller's, packed with the table. */
  get bits(): Int32Array {
    return this.#bits;
  }

  /** Per row: a number of the caller's (a row of another table, say), not packed. */
  get links(): Int32Array {
    return this.#links;
  }

  /**
   * Bytes its rows use of the buffers (what they hold in memory: pages never written to are
   * not), the index counted at its load limit.
   */
  get bytes(): number {
    const perRow = this.fields * 8 + NUMS * 8 + 3 * 4 + SLOTS_PER_ROW * 4;
    return this.rows * perRow + this.#length * (this.#wide ? 2 : 1);
  }

  /**
   * The row keyed `prefix + key` (neither concatenated: the key is hashed and compared in two
   * parts), added with its other fields null and its numbers 0 when new (then `added` is true).
   */
  row(prefix: string, key: string): number {
    if (this.#packed) throw new Error('SeenTable: row() after pack()');
    const hash = hashOf(prefix, key);
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const found = slots[s] as number;
      if (found === 0) break;
      const r = found - 1;
      if (this.#hashes[r] === hash && this.#keyIs(r, prefix, key)) {
        this.added = false;
        return r;
      }
    }
    if (this.rows === this.#capacity) this.#grow();
    const r = this.rows++;
    this.#hashes[r] = hash;
    this.#place(r, hash);
    const spans = this.#spans;
    const at = r * this.fields * 2;
    spans[at] = this.#append(prefix, key);
    spans[at + 1] = prefix.length + key.length;
    for (let f = 1; f < this.fields; f++) spans[at + f * 2 + 1] = NULL_SPAN;
    // Buffers taken over hold an earlier table's rows.
    this.#nums.fill(0, r * NUMS, (r + 1) * NUMS);
    this.#bits[r] = 0;
    this.#links[r] = 0;
    this.added = true;
    return r;
  }

  /** Whether the key of `row` is `key` (no prefix). */
  keyIs(row: number, key: string): boolean {
    return this.#keyIs(row, '', key);
  }

  /** Whether string field `field` of `row` is null. */
  isNull(row: number, field: number): boolean {
    return this.#spans[(row * this.fields + field) * 2 + 1] === NULL_SPAN;
  }

  /** Sets string field `field` (not the key) of `row`. */
  set(row: number, field: number, value: string): void {
    const at = (row * this.fields + field) * 2;
    this.#spans[at] = this.#append('', value);
    this.#spans[at + 1] = value.length;
  }

  /** Field `field` of `row` as a string, or null. */
  get(row: number, field: number): string | null {
    return readField(this.#chars, this.#spans, this.fields, row, field, 0);
  }

  /**
   * The table's buffers, with its rows in key order; the table takes no rows after (the buffers
   * may be transferred to another thread).
   */
  pack(): PackedTable {
    this.#packed = true;
    const { rows, fields } = this;
    const chars = this.#chars;
    const spans = this.#spans;
    const order = new Int32Array(rows);
    for (let r = 0; r < rows; r++) order[r] = r;
    order.sort((a, b) => {
      const i = a * fields * 2;
      const j = b * fields * 2;
      return compareChars(
        chars,
        spans[i] as number,
        spans[i + 1] as number,
        spans[j] as number,
        spans[j + 1] as number,
      );
    });
    return {
      rows,
      fields,
      chars,
      length: this.#length,
      spans,
      nums: this.#nums,
      bits: this.#bits,
      order,
      index: [this.#hashes, this.#slots, this.#links],
    };
  }

  #keyIs(r: number, prefix: string, key: string): boolean {
    const at = r * this.fields * 2;
    const start = this.#spans[at] as number;
    if (this.#spans[at + 1] !== prefix.length + key.length) return false;
    return (
      charsAre(this.#chars, start, prefix) && charsAre(this.#chars, start + prefix.length, key)
    );
  }

  /** Appends `a + b` to the characters; returns where it starts. */
  #append(a: string, b: string): number {
    const start = this.#length;
    const end = start + a.length + b.length;
    if (end > this.#chars.length) {
      this.#chars = this.#copy(Math.max(end, this.#chars.length * 2, this.#initial * 32), start);
    }
    this.#put(b, this.#put(a, start));
    this.#length = end;
    return start;
  }

  /** Writes `text` at `at`; returns where it ends. */
  #put(text: string, at: number): number {
    let chars = this.#chars;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0xff && !this.#wide) {
        this.#wide = true;
        chars = this.#chars = this.#copy(chars.length, at);
      }
      chars[at++] = c;
    }
    return at;
  }

  /** The characters' first `used` in a new buffer of `length` (two bytes each once wide). */
  #copy(length: number, used: number): Chars {
    const chars = this.#wide ? new Uint16Array(length) : new Uint8Array(length);
    chars.set(this.#chars.subarray(0, used));
    letGo(this.#chars);
    return chars;
  }

  #place(r: number, hash: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = hash & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = r + 1;
  }

  #grow(): void {
    const capacity = Math.max(this.#capacity * 2, this.#initial, 16);
    const grow = <T extends Int32Array | Float64Array>(
      old: T,
      make: (n: number) => T,
      n: number,
    ) => {
      const next = make(n);
      next.set(old);
      letGo(old);
      return next;
    };
    this.#spans = grow(this.#spans, (n) => new Int32Array(n), capacity * this.fields * 2);
    this.#nums = grow(this.#nums, (n) => new Float64Array(n), capacity * NUMS);
    this.#bits = grow(this.#bits, (n) => new Int32Array(n), capacity);
    this.#links = grow(this.#links, (n) => new Int32Array(n), capacity);
    this.#hashes = grow(this.#hashes, (n) => new Int32Array(n), capacity);
    this.#capacity = capacity;
    letGo(this.#slots);
    this.#slots = new Int32Array(slotsFor(capacity));
    for (let r = 0; r < this.rows; r++) this.#place(r, this.#hashes[r] as number);
  }
}

/**
 * Frees a buffer the table has just outgrown (its rows copied to a larger one), rather than when
 * the collector comes to its wrapper: the main thread's old generation is collected rarely, and
 * the outgrown buffers of a table of 100,000 endusers (its characters alone 8 MiB) lifted the
 * peak of a 3-million-row sync by about 15 MiB. Nothing else holds a view of them (the `nums`,
 * `bits` and `links` getters are read anew after each `row`).
 */
function letGo(buffer: Int32Array | Float64Array | Chars): void {
  release([bytesOf(buffer)]);
}

/** Index slots for `capacity` rows: a power of two, at least twice as many (probing masks). */
function slotsFor(capacity: number): number {
  let slots = 16;
  while (slots < capacity * SLOTS_PER_ROW) slots *= 2;
  return slots;
}

/** FNV-1a over the UTF-16 code units of `a + b`, then mixed (linear probing wants the low bits spread). */
function hashOf(a: string, b: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), 0x01000193);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/** Compares two runs of code units as JS compares strings. */
function compareChars(chars: Chars, a: number, al: number, b: number, bl: number): number {
  const n = Math.min(al, bl);
  for (let i = 0; i < n; i++) {
    const d = (chars[a + i] as number) - (chars[b + i] as number);
    if (d !== 0) return d;
  }
  return al - bl;
}

/** Code units `from` to `to` as a string, exactly (lone surrogates included, unlike a TextDecoder). */
export function charsToString(chars: Chars, from: number, to: number): string {
  const CHUNK = 4096;
  if (to - from <= CHUNK) {
    return String.fromCharCode.apply(null, chars.subarray(from, to) as unknown as number[]);
  }
  const pieces: string[] = [];
  for (let at = from; at < to; at += CHUNK) {
    const end = Math.min(at + CHUNK, to);
    pieces.push(String.fromCharCode.apply(null, chars.subarray(at, end) as unknown as number[]));
  }
  return pieces.join('');
}

/** A packed table's strings, read back in the writer. */
export class PackedStrings {
  constructor(readonly table: PackedTable) {}

  /** Field `field` of `row` from its `from`th code unit on, or null. */
  get(row: number, field: number, from = 0): string | null {
    const { chars, spans, fields } = this.table;
    return readField(chars, spans, fields, row, field, from);
  }

  /** Whether the key of `row` starts with `prefix`. */
  startsWith(row: number, prefix: string): boolean {
    const { chars, spans, fields } = this.table;
    const at = row * fields * 2;
    return (
      (spans[at + 1] as number) >= prefix.length && charsAre(chars, spans[at] as number, prefix)
    );
  }
}

/** Field `field` of `row` (`fields` to a row) from its `from`th code unit on, or null. */
function readField(
  chars: Chars,
  spans: Int32Array,
  fields: number,
  row: number,
  field: number,
  from: number,
): string | null {
  const at = (row * fields + field) * 2;
  const length = spans[at + 1] as number;
  if (length === NULL_SPAN) return null;
  const start = spans[at] as number;
  return charsToString(chars, start + from, start + length);
}

/** Whether the code units from `at` on are those of `text`. */
function charsAre(chars: Chars, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (chars[at + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Why the tables of the endusers and companies seen are handed back and forth rather than made
 * anew for each fold: a table's buffers (megabytes each) were freed only when the writer thread's
 * garbage collector came to them, after a few more folds had allocated theirs, and glibc's malloc
 * then served the next ones from the main heap, which kept growing (120 MiB over a 3-million-row
 * sync). Two sets, one filling while the writer folds the other, and no allocation after.
 */
export class TablePool {
  readonly #spare = new Map<number, PackedTable>();

  /** A table of `fields` string fields, on spare buffers when there are some. */
  table(fields: number, capacity: number): SeenTable {
    const spare = this.#spare.get(fields);
    this.#spare.delete(fields);
    return new SeenTable(fields, capacity, spare);
  }

  /** Lets go of the spare buffers. */
  clear(): void {
    this.#spare.clear();
  }

  /** Keeps the buffers of tables done with (one table of each width; the rest are let go). */
  recycle(tables: readonly PackedTable[]): void {
    for (const t of tables) {
      // Buffers transferred away are detached (byteLength 0): nothing to keep.
      if (t.bits.length > 0 && !this.#spare.has(t.fields)) this.#spare.set(t.fields, t);
    }
  }
}

/** The buffers of a packed table (postMessage's transfer list). */
export function tableTransferables(t: PackedTable): ArrayBuffer[] {
  return [t.chars, t.spans, t.nums, t.bits, t.order, ...t.index].map(
    (a) => a.buffer as ArrayBuffer,
  );
}
