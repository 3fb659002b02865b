/**
 * `sluice sync` without --once: the scheduler in the foreground, in a real child process (the
 * built `bin/sluice.js`, as `npm test` builds it first), stopped by real signals.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';

let db: TestDatabase;
let work: string;
const env = { TEST_MYSQL_PW: TEST_MYSQL.password, SLUICE_SECRET_KEY: 'cli-test-secret-key-0001' };

beforeAll(async () => {
  db = await createTestDatabase('sluice_fg');
  work = await mkdtemp(join(tmpdir(), 'sluice-fg-'));
  await db.exec(
    `CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100), action VARCHAR(50))`,
  );
  await db.exec(
    "INSERT INTO events (email, action) VALUES ('a@x.io', 'login'), ('b@x.io', 'click'), ('c@x.io', 'login')",
  );
});
afterAll(async () => {
  await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function sluice(dataDir: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['node', 'sluice', '--data-dir', dataDir, ...args],
    { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) },
    { ...process.env, ...env },
  );
  return { code, stdout, stderr };
}

/** Starts `sluice sync` in a child process; resolves lines as they come. */
function foreground(dataDir: string, args: string[] = []) {
  const child = spawn(process.execPath, ['bin/sluice.js', '--data-dir', dataDir, 'sync', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    exited,
    out: () => stdout,
    err: () => stderr,
    async waitFor(what: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!what.test(stream === 'stdout' ? stdout : stderr)) {
        if (Date.now() > deadline)
          throw new Error(`no ${String(what)} on ${stream}; stdout: ${stdout}; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

describe('sluice sync (scheduler in the foreground)', () => {
  it('runs sections on their schedule, one line per run, until SIGTERM or SIGINT', async () => {
    const dir = join(work, 'data');
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
        },
        sections: [
          {
            name: 'clicks',
            dataType: 'activities',
            table: 'events',
            key: 'id',
            schedule: 'every 1h',
            mapping: { email: 'email', action: 'action' },
          },
        ],
      }),
    );
    expect((await sluice(dir, ['apply', '-f', file])).code).toBe(0);

    // A section the scheduler has never seen runs at once.
    const first = foreground(dir, ['--json']);
    await first.waitFor(/"section":"clicks"/);
    await first.waitFor(/scheduling 1 of 1 section\(s\), next run at /, 'stderr');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const line = JSON.parse(first.out().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({
      integration: 'product-db',
      section: 'clicks',
      status: 'succeeded',
      landed: 3,
      cursor: '3',
      trigger: 'schedule',
    });
    expect(first.err()).toContain('SIGTERM: stopping after the batches in progress');

    const sqlite = new Database(join(dir, 'sluice.db'), { readonly: true });
    const saved = sqlite
      .prepare('SELECT schedule, next_run_at, failures FROM section_schedules')
      .all();
    sqlite.close();
    expect(saved).toEqual([
      {
        schedule: 'every 1h',
        next_run_at: expect.stringMatching(/T\d\d:00:00\.000Z$/),
        failures: 0,
      },
    ]);

    // Restarted before its next tick: it waits, and Ctrl-C stops it cleanly.
    const second = foreground(dir);
    await second.waitFor(/scheduling 1 of 1 section\(s\)/, 'stderr');
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    expect(second.out()).toBe('');
  });

  it('names a section it cannot find, and schedules nothing', async () => {
    const r = await sluice(join(work, 'empty'), ['sync', '--section', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no section named "nope"');
  });
});
