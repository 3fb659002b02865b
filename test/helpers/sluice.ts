import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/core/config.js';
import type { SluiceConfig } from '../../src/core/types.js';
import { applyConfig } from '../../src/engine/config-ops.js';
import { Engine, type SectionResult } from '../../src/engine/engine.js';
import { createMysqlSource } from '../../src/source/mysql-source.js';
import type { Source } from '../../src/source/source.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { TEST_MYSQL, type TestDatabase } from './mariadb.js';
import { THREAD_WRITER } from './built.js';

export interface Harness {
  dataDir: string;
  store: Store;
  engine: Engine;
  source: Source;
  /** Validates and applies sections (given as in the YAML file) for the test database. */
  apply(sections: Record<string, unknown>[]): Promise<void>;
  /** Runs one section by name until caught up. */
  sync(section: string): Promise<SectionResult>;
  /** Opens a fresh engine on the same store, as a restarted process would. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function testConfig(db: TestDatabase, sections: Record<string, unknown>[]): SluiceConfig {
  const parsed = parseConfig({
    integration: {
      name: 'test-db',
      mysql: {
        host: TEST_MYSQL.host,
        port: TEST_MYSQL.port,
        user: TEST_MYSQL.user,
        password: TEST_MYSQL.password,
        database: db.name,
      },
    },
    sections,
  });
  if (!parsed.ok) throw new Error(parsed.issues.map((i) => i.message).join('\n'));
  return parsed.config;
}

/** A store in a fresh temp data folder and an engine reading the test database. */
export async function createHarness(db: TestDatabase): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-test-'));
  const store = await openStore({
    dataDir,
    secretKey: 'test-secret-key-0123456789',
    ...THREAD_WRITER,
  });
  const connect = () =>
    createMysqlSource({ ...TEST_MYSQL, database: db.name }, TEST_MYSQL.password);
  const source = await connect();
  const newEngine = () => new Engine({ store, connect, retryDelayMs: 10, readAttempts: 2 });
  const h: Harness = {
    dataDir,
    store,
    source,
    engine: newEngine(),
    async apply(sections) {
      const outcome = await applyConfig(store, source, testConfig(db, sections));
      if (!outcome.ok) throw new Error(outcome.errors.map((e) => e.message).join('\n'));
    },
    async sync(name) {
      const [result] = await h.engine.runAll({ section: name });
      if (!result) throw new Error(`section ${name} did not run`);
      return result;
    },
    async restart() {
      await h.engine.close();
      h.engine = newEngine();
    },
    async close() {
      await h.engine.close();
      await source.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}
