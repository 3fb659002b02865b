/**
 * The writer thread as `npm run build` compiled it: a worker thread cannot run the TypeScript
 * sources, so tests that open the store from sources point it here to commit batches the way the
 * built CLI and server do. `npm test` builds before it runs the tests.
 */
export const BUILT_WRITER_THREAD = new URL(
  '../../dist/store/sqlite-writer-thread.js',
  import.meta.url,
);

/** Store options that commit batches in the built writer thread. */
export const THREAD_WRITER = { writer: 'thread', writerThreadUrl: BUILT_WRITER_THREAD } as const;
