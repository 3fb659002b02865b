import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';
import {
  receiverRows,
  receiverToken,
  removeReceiver,
  startReceiver,
  type Receiver,
} from '../helpers/receiver.js';

let db: TestDatabase;
let work: string;
let receiver: Receiver;

beforeAll(async () => {
  db = await createTestDatabase('sluice_sinkcli');
  work = await mkdtemp(join(tmpdir(), 'sluice-sinkcli-'));
  receiver = await startReceiver();
  await db.exec(
    `CREATE TABLE usage_log (seq INT PRIMARY KEY, metric VARCHAR(20), amount DECIMAL(10,2), company VARCHAR(20), day DATE)`,
  );
  await db.exec(
    `INSERT INTO usage_log VALUES (1,'seats',3,'c1','2024-01-01'), (2,'seats',4,'c1','2024-01-02'), (3,'seats',5,'c2','2024-01-02')`,
  );
});
afterAll(async () => {
  await receiver.stop();
  await removeReceiver(receiver);
  await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function sluice(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['node', 'sluice', '--data-dir', join(work, 'data'), ...args],
    { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) },
    { ...process.env, SLUICE_SECRET_KEY: 'cli-test-secret-key-0001', ...env },
  );
  return { code, stdout, stderr };
}

describe('sluice with a Planhat sink', () => {
  it('sync --once delivers the outbox before it exits; export names the token variable, never a token', async () => {
    const { secret } = await receiverToken(receiver, 'cli');
    const file = join(work, 'sluice.yaml');
    await writeFile(
      file,
      stringify({
        integration: {
          name: 'product-db',
          mysql: {
            host: TEST_MYSQL.host,
            port: TEST_MYSQL.port,
            user: TEST_MYSQL.user,
            passwordEnv: 'TEST_MYSQL_PW',
            database: db.name,
          },
          sink: { type: 'planhat', planhat: { baseUrl: receiver.baseUrl, tokenEnv: 'PH_TOKEN' } },
        },
        sections: [
          {
            name: 'seats',
            dataType: 'metrics',
            table: 'usage_log',
            key: 'seq',
            batchSize: 2,
            mapping: { dimensionId: 'metric', value: 'amount', externalId: 'company', date: 'day' },
          },
        ],
      }),
    );
    const env = { TEST_MYSQL_PW: TEST_MYSQL.password, PH_TOKEN: secret };
    const applied = await sluice(['apply', '-f', file], env);
    expect(applied.code, applied.stderr).toBe(0);

    const synced = await sluice(['sync', '--once', '--json'], env);
    expect(synced.code, synced.stderr + synced.stdout).toBe(0);
    const points = receiverRows<{ external_id: string; value: number }>(
      receiver,
      'SELECT external_id, value FROM metric_points ORDER BY id',
    );
    expect(points).toEqual([
      { external_id: 'c1', value: 3 },
      { external_id: 'c1', value: 4 },
      { external_id: 'c2', value: 5 },
    ]);

    const exported = await sluice(['export'], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('tokenEnv: PH_TOKEN');
    expect(exported.stdout).not.toContain(secret);

    // Without the variable the run fails and says which one is missing.
    const missing = await sluice(['sync', '--once', '--json'], {
      TEST_MYSQL_PW: TEST_MYSQL.password,
      PH_TOKEN: '',
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toContain(
      'sink.planhat.tokenEnv: the environment variable PH_TOKEN is not set',
    );
  });
});
