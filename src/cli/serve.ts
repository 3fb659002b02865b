/**
 * `sluice serve`: the composition root of the server. Opens the store (and the user, data and
 * schedule ports on it), an Engine, the in-process scheduler and the HTTP app; listens; prints
 * the URL; on SIGINT or SIGTERM stops accepting requests, lets running sections finish the batch
 * they are landing, and closes everything.
 */
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { SluiceError } from '../core/errors.js';
import { createInProcessScheduler } from '../scheduler/inprocess-scheduler.js';
import { buildApp } from '../server/app.js';
import { SETUP_MESSAGE } from '../server/context.js';
import { openDataQueries, openScheduleStore, openUserStore } from '../store/open-store.js';
import { passwordFor, type Context } from './context.js';

export interface ServeOptions {
  /** Default 8080; 0 picks a free port (the printed URL shows it). */
  port: number;
  /** Default 127.0.0.1 (this machine only); 0.0.0.0 to serve the network. */
  host: string;
  /** IANA zone of `daily at HH:00` schedules; default SLUICE_TIME_ZONE, else UTC. */
  timeZone?: string;
  /** Trust X-Forwarded-* from a reverse proxy (https detection for Secure cookies). */
  trustProxy: boolean;
  version: string;
}

/** The built web UI, next to dist/ (or src/) in the package: `<package>/web/dist`. */
export const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Routes the engine's and scheduler's structured events to the JSON log. */
function eventLogger(logger: Logger): (event: Record<string, unknown>) => void {
  return ({ level, ...event }) => {
    const text = typeof event.event === 'string' ? event.event : 'event';
    if (level === 'error') logger.error(event, text);
    else if (level === 'warn') logger.warn(event, text);
    else logger.info(event, text);
  };
}

/**
 * Serves until `signal` aborts (the CLI wires SIGINT and SIGTERM to it); resolves once shut down.
 * `say` prints the human lines (URL, first-user hint) to stderr: stdout carries the JSON log.
 */
export async function serve(
  ctx: Context,
  options: ServeOptions,
  signal: AbortSignal,
  say: (line: string) => void,
  logger: Logger = pino({ level: 'info', base: { service: 'sluice' } }),
): Promise<void> {
  const log = eventLogger(logger);
  const users = openUserStore(ctx.store);
  const engine = ctx.engine(log);
  const timeZone = options.timeZone ?? ctx.env.timeZone ?? 'UTC';
  const scheduler = createInProcessScheduler({
    store: ctx.store,
    scheduleStore: openScheduleStore(ctx.store),
    engine,
    timeZone,
    log,
  });
  let schedulerRunning = false;
  const app = await buildApp({
    store: ctx.store,
    users,
    data: openDataQueries(ctx.store),
    scheduler,
    passwordFor: (integration) =>
      passwordFor(ctx.env, integration.mysql, () =>
        ctx.store.getIntegrationPassword(integration.name),
      ),
    schedulerRunning: () => schedulerRunning,
    version: options.version,
    timeZone,
    webDir: WEB_DIR,
    logger,
    trustProxy: options.trustProxy,
  });
  await scheduler.start();
  schedulerRunning = true;
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    await scheduler.stop();
    const message = err instanceof Error ? err.message : String(err);
    throw new SluiceError(
      'CONFIG_INVALID',
      `cannot listen on ${options.host}:${options.port}: ${message}`,
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const shown = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
  say(`Sluice is serving on ${url} (data folder ${ctx.dataDir}); Ctrl-C stops it.`);
  if ((await users.countUsers()) === 0) say(SETUP_MESSAGE);

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  say('Stopping: waiting for running sections to land their current batch...');
  await app.close();
  await scheduler.stop();
  schedulerRunning = false;
  logger.info({ event: 'stopped' }, 'stopped');
}
