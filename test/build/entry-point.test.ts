import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

describe('how Sluice is started', () => {
  it("keeps bin/sluice.js's first line free of flags, which BusyBox's env could not split", async () => {
    const source = await readFile(join(ROOT, 'bin/sluice.js'), 'utf8');
    expect(source.split('\n', 1)[0]).toBe('#!/usr/bin/env node');
    // Run by its first line, as npx runs it.
    const { stdout } = await run(join(ROOT, 'bin/sluice.js'), ['--version']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('npm start runs the server with the young generation capped at 2 x 8 MiB', async () => {
    // A preload reports each Node process's script and flags (npm's own included).
    const dir = await mkdtemp(join(tmpdir(), 'sluice-start-'));
    try {
      const preload = join(dir, 'flags.cjs');
      await writeFile(
        preload,
        "process.stderr.write('FLAGS ' + JSON.stringify([process.argv[1], process.execArgv]) + '\\n');",
      );
      const { stdout, stderr } = await run('npm', ['start', '--silent', '--', '--help'], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: `--require ${preload}` },
      });
      expect(stdout).toContain('Usage: sluice serve');
      const started = stderr
        .split('\n')
        .filter((line) => line.startsWith('FLAGS '))
        .map((line) => JSON.parse(line.slice(6)) as [string, string[]])
        .filter(([script]) => script.endsWith(join('bin', 'sluice.js')));
      expect(started).toEqual([[join(ROOT, 'bin', 'sluice.js'), ['--max-semi-space-size=8']]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
