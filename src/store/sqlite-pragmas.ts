/**
 * Connection settings of the store, for every connection to its file (the store's own, the
 * writer thread's; the benchmark's raw write uses the same): WAL journal (readers do not block
 * the writer), synchronous=NORMAL (durable across process crashes; a power cut may lose the last
 * commits but never corrupts), busy_timeout 5000 ms (another connection writing makes us wait,
 * not fail), foreign keys on (deleting a section deletes its runs, rejects and data), and 8 MiB of
 * page cache (default 2 MiB) for the hot part of the landed tables' unique indexes: a batch of
 * integer keys inserts its text row ids into one stretch of the index. 32 MiB was no faster on the
 * benchmark and held 25 MiB more at the peak; pages beyond the cache come from the OS's.
 */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'busy_timeout = 5000',
  'foreign_keys = ON',
  'cache_size = -8192',
] as const;
