/**
 * Connection settings of the store, for every connection to its file (the store's own, the
 * writer thread's; the benchmark's raw write uses the same): WAL journal (readers do not block
 * the writer), synchronous=NORMAL (durable across process crashes; a power cut may lose the last
 * commits but never corrupts), busy_timeout 5000 ms (another connection writing makes us wait,
 * not fail), foreign keys on (deleting a section deletes its runs, rejects and data), and 32 MiB of
 * page cache (default 2 MiB), which keeps the hot part of the landed tables' unique indexes in
 * memory: text row ids of integer keys do not insert in B-tree order.
 */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'busy_timeout = 5000',
  'foreign_keys = ON',
  'cache_size = -32768',
] as const;
