import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  /** True until the first answer arrives. */
  loading: boolean;
  /** True while any load, including a reload, is under way. */
  fetching: boolean;
  reload: () => Promise<void>;
  /** Replace the data locally (after a mutation that returned the new value). */
  setData: (data: T) => void;
}

/**
 * Loads something from the API and keeps it: reloads when `key` changes, keeps the previous
 * data while reloading (no flashing), and ignores answers that arrive after a newer request.
 * `pollMs` reloads in the background (status of running sections).
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  pollMs?: number,
): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; key?: string }>({});
  const [fetching, setFetching] = useState(false);
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);

  const run = useCallback(async (k: string, signal: AbortSignal) => {
    const mine = ++seq.current;
    setFetching(true);
    try {
      const data = await loadRef.current(signal);
      if (mine === seq.current) setState({ data, key: k });
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') return;
      if (mine === seq.current) setState((s) => ({ ...s, error, key: k }));
    } finally {
      if (mine === seq.current) setFetching(false);
    }
  }, []);

  useEffect(() => {
    const ctrl = new AbortController();
    void run(key, ctrl.signal);
    return () => ctrl.abort();
  }, [key, run]);

  useEffect(() => {
    if (!pollMs) return;
    const ctrl = new AbortController();
    const id = window.setInterval(() => {
      if (document.visibilityState === 'visible') void run(key, ctrl.signal);
    }, pollMs);
    return () => {
      window.clearInterval(id);
      ctrl.abort();
    };
  }, [key, pollMs, run]);

  const reload = useCallback(() => run(key, new AbortController().signal), [key, run]);
  const setData = useCallback((data: T) => setState({ data, key }), [key]);

  return {
    data: state.data,
    error: state.error,
    loading: state.data === undefined && state.error === undefined,
    fetching,
    reload,
    setData,
  };
}
