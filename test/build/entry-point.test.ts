import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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

  it('gives what npm starts in the project folder the young generation at 2 x 4 MiB', async () => {
    // Whatever this test runs with (npm test passes the setting on as NODE_OPTIONS and
    // npm_config_node_options): the child's comes from the project's .npmrc, as for npx sluice.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !/^(node_options|npm_config_node_options)$/i.test(name),
      ),
    );
    const script = 'process.stdout.write(String(process.env.NODE_OPTIONS))';
    const { stdout } = await run('npm', ['exec', '--', 'node', '-e', script], { cwd: ROOT, env });
    expect(stdout).toBe('--max-semi-space-size=4');
    const { stdout: help } = await run('npm', ['start', '--silent', '--', '--help'], {
      cwd: ROOT,
      env,
    });
    expect(help).toContain('Usage: sluice serve');
  });
});
