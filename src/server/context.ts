/**
 * What the server is built from (the ports and the composition root's choices) and the few
 * pieces of state the routes share: the setup gate, the login limiter, MySQL access, the audit.
 */
import type { FastifyBaseLogger } from 'fastify';
import { SluiceError } from '../core/errors.js';
import type { MysqlConfig } from '../core/types.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { createMysqlSource } from '../source/mysql-source.js';
import type { Source } from '../source/source.js';
import type { DataQueries } from '../store/data-queries.js';
import { openTokenStore } from '../store/open-store.js';
import type { Store, StoredIntegration } from '../store/store.js';
import type { TokenStore } from '../store/token-store.js';
import type { NewAuditEntry, UserStore } from '../store/user-store.js';
import { DEFAULT_LOGIN_LIMITS, DEFAULT_SESSION_TTL_MS, LoginLimiter, type Auth } from './auth.js';
import type { LoginLimits } from './auth.js';

/** The dependencies of {@link buildApp} (app.ts). */
export interface AppDeps {
  store: Store;
  users: UserStore;
  data: DataQueries;
  /** Tenant tokens of the ingest API; default: the ones in `store`'s database. */
  tokens?: TokenStore;
  scheduler: Scheduler;
  /** The MySQL password of a stored integration (its passwordEnv, else the stored one, else ''). */
  passwordFor(integration: StoredIntegration): Promise<string>;
  /** Opens MySQL; default createMysqlSource with a 5 s connect timeout. */
  openSource?(mysql: MysqlConfig, password: string): Promise<Source>;
  /** Whether the scheduler is running, for /api/health; default: always. */
  schedulerRunning?(): boolean;
  /** Shown by /api/health and /api/docs. */
  version?: string;
  /** The scheduler's time zone for `daily at HH:00` (IANA name), shown by /api/health; default UTC. */
  timeZone?: string;
  /** The built web UI (`web/dist`); served with an SPA fallback when the folder exists. */
  webDir?: string;
  /** A pino logger (JSON lines; `sluice serve` logs to stdout), true for fastify's own, false for none (default). */
  logger?: FastifyBaseLogger | boolean;
  /** Trust X-Forwarded-* from a reverse proxy (https detection for Secure cookies). */
  trustProxy?: boolean;
  loginLimits?: Partial<LoginLimits>;
  /** Session lifetime, ms; default 12 hours. */
  sessionTtlMs?: number;
  /** How long /metrics keeps each cursor's lag before asking MySQL again, ms; default 60000. */
  lagTtlMs?: number;
}

/** The message of SETUP_REQUIRED, also printed by `sluice serve`. */
export const SETUP_MESSAGE =
  'No user exists yet. Create the first one (a superadmin) on the server with:\n' +
  '  sluice user add --email you@example.com --role superadmin\n' +
  'It asks for the password (or reads it from stdin with --password-stdin); then reload this page.';

/** Answers SETUP_REQUIRED until a user exists; asks the store again on each request until then. */
export class SetupGate {
  #done = false;
  constructor(private readonly users: UserStore) {}

  async done(): Promise<boolean> {
    if (!this.#done) this.#done = (await this.users.countUsers()) > 0;
    return this.#done;
  }

  async check(): Promise<void> {
    if (!(await this.done())) throw new SluiceError('SETUP_REQUIRED', SETUP_MESSAGE);
  }
}

export interface ServerContext {
  deps: AppDeps;
  store: Store;
  users: UserStore;
  data: DataQueries;
  tokens: TokenStore;
  scheduler: Scheduler;
  setup: SetupGate;
  limiter: LoginLimiter;
  sessionTtlMs: number;
  /** Opens MySQL for a stored integration with its stored credentials. */
  connect(integration: StoredIntegration): Promise<Source>;
  openSource(mysql: MysqlConfig, password: string): Promise<Source>;
  /** Runs `fn` on a fresh connection to a stored integration (404 when it does not exist). */
  withIntegration<T>(
    name: string,
    fn: (source: Source, integration: StoredIntegration) => Promise<T>,
  ): Promise<T>;
  integration(name: string): Promise<StoredIntegration>;
  /**
   * Writes an audit entry for `auth`'s user. A failure fails the request (an action that cannot
   * be audited is not answered as done).
   */
  audit(auth: Auth, entry: Omit<NewAuditEntry, 'userId' | 'email'>): Promise<void>;
}

export function createContext(deps: AppDeps): ServerContext {
  const openSource =
    deps.openSource ??
    ((mysql: MysqlConfig, password: string) =>
      createMysqlSource(mysql, password, { connectTimeoutMs: 5000 }));
  const integration = async (name: string) => {
    const found = await deps.store.getIntegration(name);
    if (!found) throw new SluiceError('NOT_FOUND', `no integration named "${name}"`);
    return found;
  };
  const connect = async (i: StoredIntegration) => openSource(i.mysql, await deps.passwordFor(i));
  return {
    deps,
    store: deps.store,
    users: deps.users,
    data: deps.data,
    tokens: deps.tokens ?? openTokenStore(deps.store),
    scheduler: deps.scheduler,
    setup: new SetupGate(deps.users),
    limiter: new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, ...deps.loginLimits }),
    sessionTtlMs: deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    connect,
    openSource,
    integration,
    async withIntegration(name, fn) {
      const found = await integration(name);
      const source = await connect(found);
      try {
        return await fn(source, found);
      } finally {
        await source.close().catch(() => undefined);
      }
    },
    async audit(auth, entry) {
      await deps.users.audit({ ...entry, userId: auth.user.id, email: auth.user.email });
    },
  };
}
