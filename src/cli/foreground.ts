import { SluiceError } from '../core/errors.js';
import type { SectionResult } from '../engine/engine.js';
import { createInProcessScheduler } from '../scheduler/inprocess-scheduler.js';
import { openScheduleStore } from '../store/open-store.js';
import type { Context } from './context.js';

/** How often the foreground scheduler re-reads the config another process may have applied, ms. */
const REFRESH_EVERY_MS = 30_000;

export interface ForegroundOptions {
  section?: string;
  integration?: string;
  json?: boolean;
}

interface Out {
  stdout(s: string): void;
  stderr(s: string): void;
}

/**
 * `sluice sync` without `--once`: the in-process scheduler in the foreground until SIGINT or
 * SIGTERM, one line (or JSON object) per finished run on stdout. The first signal stops it
 * gracefully (running sections stop after the batch they are landing); a second one exits at once.
 */
export async function syncForeground(
  ctx: Context,
  options: ForegroundOptions,
  out: Out,
  line: (r: SectionResult) => string,
): Promise<void> {
  const scheduler = createInProcessScheduler({
    store: ctx.store,
    scheduleStore: openScheduleStore(ctx.store),
    engine: ctx.engine(),
    timeZone: ctx.env.timeZone,
    include: (s) =>
      (options.integration === undefined || s.integration === options.integration) &&
      (options.section === undefined || s.name === options.section),
    log: (e) => {
      if (e.event === 'backoff') {
        out.stderr(
          `${String(e.integration)}/${String(e.section)}: ${String(e.failures)} failed run(s) in a row; next attempt at ${String(e.nextRunAt)}\n`,
        );
      } else if (e.event === 'alert_failed') {
        out.stderr(
          `warning: ${String(e.alert)} alert for ${String(e.section)} not delivered to ${String(e.webhook)}: ${String(e.error)}\n`,
        );
      } else if (e.level === 'error') {
        out.stderr(`error: ${JSON.stringify(e)}\n`);
      }
    },
    onRun: (r, trigger) => {
      const at = new Date().toISOString();
      if (options.json) {
        const { warnings: _w, ...rest } = r;
        out.stdout(`${JSON.stringify({ ...rest, trigger, finishedAt: at })}\n`);
      } else out.stdout(`${at} ${line(r)}\n`);
    },
  });
  await scheduler.start();
  const sections = scheduler.status();
  if (options.section !== undefined && sections.length === 0) {
    await scheduler.stop();
    throw new SluiceError(
      'NOT_FOUND',
      `no section named "${options.section}"${options.integration ? ` in integration "${options.integration}"` : ''}`,
    );
  }
  const on = sections.filter((s) => s.state !== 'off');
  const next = on
    .map((s) => s.nextRunAt)
    .filter((t): t is string => t !== null)
    .sort()[0];
  // The handlers go in before the line announcing the scheduler is ready: whoever reads that line
  // (a person, a supervisor, a test) may send a signal at once, and one arriving in between would
  // kill the process instead of stopping it after the batches in progress.
  const stopped = new Promise<void>((resolve) => {
    // Keeps the process alive (the scheduler's own timer is unref'd) and picks up `sluice apply`.
    const keepAlive = setInterval(() => {
      scheduler.refresh().catch((err: unknown) => {
        out.stderr(`error: cannot re-read the config: ${(err as Error).message}\n`);
      });
    }, REFRESH_EVERY_MS);
    const onSignal = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      out.stderr(`${signal}: stopping after the batches in progress (again to exit at once)\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  out.stderr(
    `scheduling ${on.length} of ${sections.length} section(s)${next !== undefined ? `, next run at ${next}` : ''} (daily schedules in ${ctx.env.timeZone}); Ctrl-C stops after the batch in progress\n`,
  );
  await stopped;
  await scheduler.stop();
}
