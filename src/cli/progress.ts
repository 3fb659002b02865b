import type { Progress } from '../engine/engine.js';
import { count } from './format.js';

/**
 * Progress of a long sync on stderr: a bar on a terminal (rows, rows/s, how far through the key
 * range), plain lines every few seconds otherwise, nothing in quiet mode. cli-progress is loaded
 * for a bar only (16 ms of every other command's start).
 */
export async function progressReporter(mode: 'bar' | 'lines' | 'off'): Promise<{
  onProgress?: (p: Progress) => void;
  stop(): void;
}> {
  if (mode === 'off') return { stop() {} };
  if (mode === 'lines') {
    let last = Date.now();
    return {
      onProgress(p) {
        if (Date.now() - last < 5000) return;
        last = Date.now();
        const pct = p.fraction === null ? '' : ` (${Math.round(p.fraction * 100)}% of key range)`;
        process.stderr.write(
          `${p.section}: ${count(p.rowsRead)} rows read, ${count(Math.round(p.rowsPerSec))} rows/s, cursor ${p.cursor}${pct}\n`,
        );
      },
      stop() {},
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: '{section} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | cursor {cursor}',
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let current = '';
  return {
    onProgress(p) {
      if (started && p.section !== current) {
        bar.stop();
        started = false;
      }
      current = p.section;
      const payload = {
        section: p.section,
        rows: count(p.rowsRead),
        rate: count(Math.round(p.rowsPerSec)),
        cursor: p.cursor ?? '-',
      };
      const value = Math.round((p.fraction ?? 0) * 1000);
      if (!started) {
        bar.start(1000, value, payload);
        started = true;
      } else bar.update(value, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
