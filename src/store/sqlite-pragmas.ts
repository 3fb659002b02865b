/**
 * Connection settings of the store, for every connection to its file (the store's own, the
 * writer thread's; the benchmark's raw write uses the same): WAL journal (readers do not block
 * the writer), synchronous=NORMAL (durable across process crashes; a power cut may lose the last
 * commits but never corrupts), busy_timeout 5000 ms (another connection writing makes us wait,
 * not fail), foreign keys on (deleting a section deletes its runs, rejects and data), and a 2 MiB
 * page cache per connection (SQLite's default, written out): a batch of integer keys inserts its
 * text row ids into one stretch of the landed tables' unique indexes, and pages beyond the cache
 * come from the OS's. 8 MiB was no faster on the benchmark and held 6 MiB more at the peak (two
 * connections), 32 MiB held 25 MiB more.
 */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'busy_timeout = 5000',
  'foreign_keys = ON',
  'cache_size = -2048',
] as const;

/**
 * The writer thread's connection checkpoints the WAL only past this many pages (16 MiB at 4 KiB):
 * the store's own connection checkpoints it as batches land (see CHECKPOINT_ROWS in
 * sqlite-store.ts). SQLite's default, 1,000 pages, had the writer copy the WAL into the database
 * and fsync both after every second or third batch, on the thread that is the sync's slower side:
 * 0.6-0.7 s of a million-row sync's 4.5 s. Not left to the store's connection alone: its copies
 * run while the writer commits the next batch, so the WAL is rarely all copied when the writer
 * begins one, which is when SQLite starts the WAL over; at 16,000 pages it grew to 64 MiB. The
 * writer's own checkpoint then finds most frames copied already.
 */
export const WRITER_WAL_AUTOCHECKPOINT = 4_000;
