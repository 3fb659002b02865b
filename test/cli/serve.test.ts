import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openContext } from '../../src/cli/context.js';
import { readEnv } from '../../src/cli/env.js';
import { main } from '../../src/cli/main.js';
import { serve } from '../../src/cli/serve.js';
import type { Input } from '../../src/cli/server-commands.js';

const ENV = { ...process.env, SLUICE_SECRET_KEY: 'serve-test-secret-key-01' };
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-serve-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function input(stdin: string, isTTY = false): Input {
  return {
    isTTY,
    readAll: async () => stdin,
    promptHidden: async () => stdin,
  };
}

async function sluice(dataDir: string, args: string[], stdin = '', isTTY = false) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['node', 'sluice', '--data-dir', dataDir, ...args],
    { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) },
    ENV,
    input(stdin, isTTY),
  );
  return { code, stdout, stderr };
}

describe('sluice user', () => {
  it('adds users with a password from stdin or the prompt, lists them, and never takes a default password', async () => {
    const dir = join(work, 'users');
    const add = await sluice(
      dir,
      ['user', 'add', '--email', 'Root@X.io', '--role', 'superadmin', '--password-stdin'],
      'a long enough password\n',
    );
    expect(add).toMatchObject({ code: 0, stdout: 'user root@x.io created (superadmin)\n' });
    const prompted = await sluice(
      dir,
      ['user', 'add', '--email', 'v@x.io', '--role', 'viewer'],
      'typed at the prompt',
      true,
    );
    expect(prompted.code).toBe(0);

    const noTerminal = await sluice(dir, ['user', 'add', '--email', 'n@x.io', '--role', 'admin']);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('--password-stdin');
    const short = await sluice(
      dir,
      ['user', 'add', '--email', 's@x.io', '--role', 'admin', '--password-stdin'],
      'short\n',
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 12 characters');
    const badRole = await sluice(
      dir,
      ['user', 'add', '--email', 'b@x.io', '--role', 'owner', '--password-stdin'],
      'a long enough password\n',
    );
    expect(badRole.code).toBe(2);
    const dup = await sluice(
      dir,
      ['user', 'add', '--email', 'root@x.io', '--role', 'admin', '--password-stdin'],
      'a long enough password\n',
    );
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('exists');

    const list = await sluice(dir, ['user', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ email: 'root@x.io', role: 'superadmin', lastLoginAt: null }),
      expect.objectContaining({ email: 'v@x.io', role: 'viewer' }),
    ]);
    const set = await sluice(dir, ['user', 'set', '--email', 'v@x.io', '--role', 'admin']);
    expect(set).toMatchObject({ code: 0, stdout: 'user v@x.io updated (admin)\n' });
    const table = await sluice(dir, ['user', 'list']);
    expect(table.stdout).toMatch(/v@x\.io\s+admin/);
    const del = await sluice(dir, ['user', 'delete', '--email', 'root@x.io']);
    expect(del.code).toBe(2);
    expect(del.stderr).toContain('last superadmin');
  });
});

describe('sluice serve', () => {
  it('serves the API on a port, explains how to create the first user, and stops on its signal', async () => {
    const dir = join(work, 'serve');
    const ctx = await openContext(readEnv(ENV), dir);
    const stop = new AbortController();
    const lines: string[] = [];
    const serving = serve(
      ctx,
      {
        port: 0,
        host: '127.0.0.1',
        timeZone: 'Europe/Stockholm',
        trustProxy: false,
        version: 'test',
      },
      stop.signal,
      (line) => lines.push(line),
      pino({ level: 'silent' }),
    );
    let failed: unknown;
    serving.catch((err: unknown) => (failed = err));
    const started = Date.now();
    while (!lines.some((l) => l.includes('sluice user add')) && failed === undefined) {
      if (Date.now() - started > 10_000)
        throw new Error(`serve did not start: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (failed !== undefined) throw failed;
    const url = /http:\/\/\S+\//.exec(lines.join('\n'))?.[0];
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(lines.join('\n')).toContain('sluice user add --email');

      const health = await fetch(new URL('/api/health', url));
      expect(await health.json()).toMatchObject({
        ok: true,
        scheduler: 'running',
        setupDone: false,
        timeZone: 'Europe/Stockholm',
      });
      const me = await fetch(new URL('/api/auth/me', url));
      expect(me.status).toBe(503);

      // The first user, created by the CLI meanwhile, opens the API without a restart.
      const add = await sluice(
        dir,
        ['user', 'add', '--email', 'first@x.io', '--role', 'superadmin', '--password-stdin'],
        'first user password\n',
      );
      expect(add.code).toBe(0);
      const login = await fetch(new URL('/api/auth/login', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'first@x.io', password: 'first user password' }),
      });
      expect(login.status).toBe(200);
      expect(login.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    } finally {
      stop.abort();
      await serving;
      await ctx.close();
    }
    await expect(fetch(new URL('/api/health', url))).rejects.toThrow();
  });
});
