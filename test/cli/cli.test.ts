import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.js';
import { TEST_MYSQL, createTestDatabase, type TestDatabase } from '../helpers/mariadb.js';

let db: TestDatabase;
let work: string;

beforeAll(async () => {
  db = await createTestDatabase('sluice_cli');
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  await db.exec(`CREATE TABLE events (id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT, user_email VARCHAR(100), user_id VARCHAR(20),
    event_name VARCHAR(40), qty INT, created_at DATETIME, plan VARCHAR(10))`);
  await db.exec(`INSERT INTO events (user_email, user_id, event_name, qty, created_at, plan) VALUES
    ('a@x.io','u1','login',1,'2024-01-01 00:00:00','pro'), ('b@x.io','u2','click',2,'2024-01-02 00:00:00','free'),
    (NULL,NULL,'orphan',1,NULL,NULL), ('c@x.io','u3','login',NULL,'2024-01-03 00:00:00','pro')`);
  await db.exec(
    `CREATE TABLE usage_log (seq INT, metric VARCHAR(20), amount DECIMAL(10,2), company VARCHAR(20), day DATE)`,
  );
  await db.exec(
    `INSERT INTO usage_log VALUES (1,'seats',3,'c1','2024-01-01'), (2,'seats',4,'c1','2024-01-02')`,
  );
});
afterAll(async () => {
  await db.drop();
  await rm(work, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sluice(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['node', 'sluice', '--data-dir', dataDir, ...args],
    {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
    },
    { ...process.env, SLUICE_SECRET_KEY: 'cli-test-secret-key-0001', ...env },
  );
  return { code, stdout, stderr };
}

function config(
  overrides: { mysql?: Record<string, unknown>; sections?: Record<string, unknown>[] } = {},
) {
  return {
    integration: {
      name: 'product-db',
      mysql: {
        host: TEST_MYSQL.host,
        port: TEST_MYSQL.port,
        user: TEST_MYSQL.user,
        passwordEnv: 'TEST_MYSQL_PW',
        database: db.name,
        ...overrides.mysql,
      },
    },
    sections: overrides.sections ?? [
      {
        name: 'feature-clicks',
        dataType: 'activities',
        table: 'events',
        key: 'id',
        batchSize: 2,
        schedule: 'every 5m',
        mapping: {
          email: 'user_email',
          externalId: 'user_id',
          action: 'event_name',
          weight: 'qty',
          date: 'created_at',
        },
        info: ['plan'],
      },
      {
        name: 'seats',
        dataType: 'metrics',
        model: 'Company',
        table: 'usage_log',
        key: 'seq',
        mapping: { dimensionId: 'metric', value: 'amount', externalId: 'company', date: 'day' },
      },
    ],
  };
}

async function writeConfig(name: string, doc: unknown): Promise<string> {
  const file = join(work, name);
  await writeFile(file, stringify(doc));
  return file;
}

const env = { TEST_MYSQL_PW: TEST_MYSQL.password };

describe('sluice apply', () => {
  it('refuses invalid sections, naming section, field and column, and saves nothing', async () => {
    const dataDir = join(work, 'invalid');
    const file = await writeConfig(
      'invalid.yaml',
      config({
        sections: [
          {
            name: 'a',
            dataType: 'activities',
            table: 'events',
            key: 'id',
            mapping: { email: 'no_such_column', action: 'event_name' },
          },
          {
            name: 'b',
            dataType: 'activities',
            table: 'nope',
            key: 'id',
            mapping: { email: 'user_email' },
          },
          {
            name: 'c',
            dataType: 'activities',
            table: 'events',
            key: 'plan',
            mapping: { email: 'user_email', bogus: 'user_id' },
          },
        ],
      }),
    );
    const r = await sluice(dataDir, ['apply', '-f', file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'section "a": mapping.email: column "no_such_column" does not exist in table "events"',
    );
    expect(r.stderr).toContain('section "b": table: "nope" does not exist');
    expect(r.stderr).toContain('section "c": mapping target "bogus" is not a activities field');
    expect(r.stderr).toContain('nothing saved');
    const exported = await sluice(dataDir, ['export']);
    expect(exported.stdout).toBe('# nothing applied yet\n');
  });

  it('refuses a YAML file with unknown fields or a bad schedule before touching MySQL', async () => {
    const doc = config();
    (doc.sections[0] as Record<string, unknown>).batchsize = 10;
    (doc.sections[1] as Record<string, unknown>).schedule = 'every 7m';
    const r = await sluice(
      join(work, 'typo'),
      ['apply', '-f', await writeConfig('typo.yaml', doc), '--json'],
      env,
    );
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      errors: { section: string; field: string; message: string }[];
    };
    expect(out.ok).toBe(false);
    expect(out.errors.map((e) => [e.section, e.field])).toEqual([
      ['feature-clicks', '(section)'],
      ['seats', 'schedule'],
    ]);
    expect(out.errors[0]?.message).toContain('batchsize');
  });

  it('says which environment variable is missing', async () => {
    const r = await sluice(join(work, 'noenv'), [
      'apply',
      '-f',
      await writeConfig('ok.yaml', config()),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TEST_MYSQL_PW is not set');
  });

  it('refuses a Sluice variable with a bad value, naming it, before touching anything', async () => {
    const dataDir = join(work, 'badenv');
    const r = await sluice(dataDir, ['stats'], { SLUICE_STORE_WRITER: 'threads' });
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'sluice: environment: SLUICE_STORE_WRITER: must be one of thread, inline\n',
    });
    await expect(stat(dataDir)).rejects.toThrow();
  });
});

describe('a sync from the command line', () => {
  const dataDir = () => join(work, 'main');

  it('applies, warns about an unindexed key, syncs, and reports as JSON', async () => {
    const applied = await sluice(
      dataDir(),
      ['apply', '-f', await writeConfig('ok.yaml', config())],
      env,
    );
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('section feature-clicks: created');
    expect(applied.stderr).toContain('section "seats": key: column "seq" has no index');

    const synced = await sluice(dataDir(), ['sync', '--once', '--json'], env);
    expect(synced.code).toBe(0);
    const lines = synced.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        section: 'feature-clicks',
        status: 'succeeded',
        rowsRead: 4,
        landed: 3,
        rejected: 1,
        cursor: '4',
        durationMs: expect.any(Number),
      }),
      expect.objectContaining({
        section: 'seats',
        status: 'succeeded',
        rowsRead: 2,
        landed: 2,
        rejected: 0,
        cursor: '2',
      }),
    ]);

    const stats = JSON.parse((await sluice(dataDir(), ['stats', '--json'])).stdout) as Record<
      string,
      unknown
    >[];
    expect(stats.map((s) => [s.name, s.dataType, s.cursor, s.landed, s.rejected])).toEqual([
      ['feature-clicks', 'activities', '4', 3, 1],
      ['seats', 'metrics', '2', 2, 0],
    ]);
    expect(stats[0]?.lastRun).toMatchObject({ status: 'succeeded', keyFrom: '1', keyTo: '4' });

    const rejects = JSON.parse(
      (await sluice(dataDir(), ['rejects', '--section', 'feature-clicks', '--json'])).stdout,
    ) as Record<string, unknown>[];
    expect(rejects).toEqual([expect.objectContaining({ key: '3', code: 'missing_identity' })]);

    const logs = await sluice(dataDir(), ['logs', '--section', 'feature-clicks']);
    expect(logs.stdout).toMatch(/succeeded\s+4\s+3\s+1\s+1\.\.4/);
  });

  it('moves a cursor back with reset and lands nothing twice', async () => {
    const bad = await sluice(
      dataDir(),
      ['reset', '--section', 'feature-clicks', '--to', 'abc'],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to "abc" is not a non-negative integer');
    const stats = JSON.parse((await sluice(dataDir(), ['stats', '--json'])).stdout) as {
      cursor: string;
    }[];
    expect(stats[0]?.cursor).toBe('4');

    expect(
      (await sluice(dataDir(), ['reset', '--section', 'feature-clicks', '--to', '1'], env)).stdout,
    ).toContain('cursor moved from 4 to 1');
    const again = JSON.parse(
      (await sluice(dataDir(), ['sync', '--once', '--section', 'feature-clicks', '--json'], env))
        .stdout,
    ) as Record<string, unknown>;
    expect(again).toMatchObject({ rowsRead: 3, landed: 0, cursor: '4' });
    await sluice(dataDir(), ['reset', '--section', 'feature-clicks'], env);
    const full = JSON.parse(
      (await sluice(dataDir(), ['sync', '--once', '--section', 'feature-clicks', '--json'], env))
        .stdout,
    ) as Record<string, unknown>;
    expect(full).toMatchObject({ rowsRead: 4, landed: 0, cursor: '4' });
  });

  it('exports the applied YAML with the password env name and never the secret', async () => {
    const out = await sluice(dataDir(), ['export']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('passwordEnv: TEST_MYSQL_PW');
    expect(out.stdout).toContain('schedule: every 5m');
    const secretDir = join(work, 'secret');
    const file = await writeConfig(
      'secret.yaml',
      config({ mysql: { passwordEnv: undefined, password: TEST_MYSQL.password || 'pw-not-used' } }),
    );
    await sluice(secretDir, ['apply', '-f', file, '--dry-run']);
    const exported = await sluice(secretDir, ['export']);
    expect(exported.stdout).not.toContain('password:');
  });

  it('logs a failed run with a clear message when MySQL is unreachable, and exits non-zero', async () => {
    const dir = join(work, 'down');
    await sluice(dir, ['apply', '-f', await writeConfig('ok2.yaml', config())], env);
    const sqlite = new Database(join(dir, 'sluice.db'));
    sqlite.prepare('UPDATE integrations SET port = 3999').run();
    sqlite.close();
    const r = await sluice(dir, ['sync', '--once'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error [MYSQL_UNREACHABLE]: cannot reach MySQL at 127.0.0.1:3999');
    const logs = JSON.parse((await sluice(dir, ['logs', '--json'])).stdout) as {
      status: string;
      errorCode: string;
    }[];
    expect(logs.every((l) => l.status === 'failed' && l.errorCode === 'MYSQL_UNREACHABLE')).toBe(
      true,
    );
  });

  it('logs a failed run when MySQL refuses the password, and resumes once it is right', async () => {
    const dir = join(work, 'denied');
    expect(
      (await sluice(dir, ['apply', '-f', await writeConfig('ok3.yaml', config())], env)).code,
    ).toBe(0);
    const r = await sluice(dir, ['sync', '--once', '--section', 'seats'], {
      TEST_MYSQL_PW: 'not-the-password',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error [MYSQL_ACCESS_DENIED]');
    expect(r.stdout).toContain('check the user name and password');
    const ok = await sluice(dir, ['sync', '--once', '--section', 'seats', '--json'], env);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'succeeded', landed: 2, cursor: '2' });
  });

  it('prints help for every command', async () => {
    const r = await sluice(dataDir(), ['--help']);
    for (const cmd of ['apply', 'sync', 'stats', 'logs', 'rejects', 'reset', 'export'])
      expect(r.stdout).toContain(cmd);
  });
});

describe('a sync killed at any moment', () => {
  it('lands every row exactly once after kill -9 and rerun', async () => {
    const rows = 100_000;
    await db.exec(
      `CREATE TABLE crash_events (id INT PRIMARY KEY, email VARCHAR(40), action VARCHAR(20))`,
    );
    for (let start = 0; start < rows; start += 10_000) {
      const values = Array.from(
        { length: 10_000 },
        (_, i) => `(${start + i + 1}, 'u${(start + i) % 500}@x', 'a${i % 7}')`,
      );
      await db.exec(`INSERT INTO crash_events VALUES ${values.join(',')}`);
    }
    const dir = join(work, 'crash');
    const doc = config({
      sections: [
        {
          name: 'crash',
          dataType: 'activities',
          table: 'crash_events',
          key: 'id',
          batchSize: 500,
          mapping: { email: 'email', action: 'action' },
        },
      ],
    });
    expect(
      (await sluice(dir, ['apply', '-f', await writeConfig('crash.yaml', doc)], env)).code,
    ).toBe(0);
    const count = () => {
      const sqlite = new Database(join(dir, 'sluice.db'), { readonly: true });
      try {
        return sqlite
          .prepare('SELECT count(*) AS n, count(DISTINCT row_id) AS d FROM activities')
          .get() as { n: number; d: number };
      } finally {
        sqlite.close();
      }
    };
    const progress = () => {
      const sqlite = new Database(join(dir, 'sluice.db'), { readonly: true });
      try {
        const row = sqlite
          .prepare("SELECT rows_read AS r FROM runs WHERE status = 'running'")
          .get() as { r: number } | undefined;
        return row?.r ?? -1;
      } finally {
        sqlite.close();
      }
    };
    // Kill at different depths of the run: early, middle, late.
    for (const afterRows of [1_000, 20_000, 40_000]) {
      const child = spawn(
        process.execPath,
        ['bin/sluice.js', '--data-dir', dir, 'sync', '--once', '--no-progress'],
        {
          env: { ...process.env, ...env, SLUICE_SECRET_KEY: 'cli-test-secret-key-0001' },
          stdio: 'ignore',
        },
      );
      const exited = new Promise((r) => child.once('exit', r));
      let done = false;
      void exited.then(() => (done = true));
      while (!done && progress() < afterRows) await new Promise((r) => setTimeout(r, 5));
      expect(done).toBe(false);
      child.kill('SIGKILL');
      await exited;
      const now = count();
      expect(now.n).toBe(now.d);
      expect(now.n).toBeGreaterThan(0);
    }
    const final = await sluice(dir, ['sync', '--once', '--json'], env);
    expect(final.code).toBe(0);
    expect(count()).toEqual({ n: rows, d: rows });
    // Endusers and the data module's rollups count every row once, whatever the kills left.
    const sqlite = new Database(join(dir, 'sluice.db'), { readonly: true });
    try {
      const sums = sqlite
        .prepare(
          `SELECT (SELECT sum(activity_count) FROM endusers) AS endusers,
             (SELECT sum(count) FROM activity_daily) AS daily`,
        )
        .get();
      expect(sums).toEqual({ endusers: rows, daily: rows });
    } finally {
      sqlite.close();
    }
    const runs = JSON.parse((await sluice(dir, ['logs', '--json'])).stdout) as {
      status: string;
      errorCode: string | null;
    }[];
    expect(runs[0]?.status).toBe('succeeded');
    expect(runs.slice(1).map((r) => r.errorCode)).toEqual([
      'INTERRUPTED',
      'INTERRUPTED',
      'INTERRUPTED',
    ]);
  });
});
