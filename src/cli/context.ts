import { resolve } from 'node:path';
import { SluiceError } from '../core/errors.js';
import type { MysqlConfig } from '../core/types.js';
import { Engine } from '../engine/engine.js';
import { createMysqlSource } from '../source/mysql-source.js';
import type { Source } from '../source/source.js';
import { openOutboxStore, openStore } from '../store/open-store.js';
import type { Store, StoredIntegration } from '../store/store.js';
import type { Env } from './env.js';

/** The composition root of the CLI: the store in the data folder and a MySQL connector. */
export interface Context {
  env: Env;
  dataDir: string;
  store: Store;
  connect(integration: StoredIntegration): Promise<Source>;
  engine(log?: (e: Record<string, unknown>) => void): Engine;
  close(): Promise<void>;
}

export async function openContext(env: Env, dataDirOption: string | undefined): Promise<Context> {
  const dataDir = resolve(dataDirOption ?? env.dataDir ?? '.sluice');
  const store = await openStore({
    dataDir,
    ...(env.secretKey !== undefined ? { secretKey: env.secretKey } : {}),
    ...(env.storeWriter !== undefined ? { writer: env.storeWriter } : {}),
  });
  const engines: Engine[] = [];
  const connect = async (integration: StoredIntegration) => {
    const password = await passwordFor(env, integration.mysql, () =>
      store.getIntegrationPassword(integration.name),
    );
    return createMysqlSource(integration.mysql, password);
  };
  return {
    env,
    dataDir,
    store,
    connect,
    engine(log) {
      const engine = new Engine({
        store,
        connect,
        outbox: openOutboxStore(store),
        env: (name) => env.get(name),
        ...(log ? { log } : {}),
      });
      engines.push(engine);
      return engine;
    },
    async close() {
      await Promise.all(engines.map((e) => e.close()));
      await store.close();
    },
  };
}

/** The MySQL password: from the named env variable, else the literal given or stored, else empty. */
export async function passwordFor(
  env: Env,
  mysql: Pick<MysqlConfig, 'passwordEnv' | 'password'>,
  stored: () => Promise<string | undefined>,
): Promise<string> {
  if (mysql.passwordEnv !== undefined) {
    const value = env.get(mysql.passwordEnv);
    if (value === undefined) {
      throw new SluiceError(
        'PASSWORD_MISSING',
        `passwordEnv: the environment variable ${mysql.passwordEnv} is not set`,
      );
    }
    return value;
  }
  if (mysql.password !== undefined) return mysql.password;
  return (await stored()) ?? '';
}
