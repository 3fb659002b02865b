/**
 * Browser tests drive the built Sluice as a user runs it: the real `sluice` binary (`node
 * bin/sluice.js serve`) on a temp data folder, the real MariaDB, and Debian's Chromium through
 * playwright-core. Nothing is mocked; each suite owns its data folder, database and browser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'sluice.js');

/** Where full-page screenshots of every visited page go (gitignored with test-results). */
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'screenshots');

/** Debian's Chromium; override with SLUICE_TEST_CHROMIUM. */
export const CHROMIUM = process.env.SLUICE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** The key the served Sluice encrypts stored MySQL passwords with. */
const SECRET_KEY = 'browser-test-secret-key-0123';

/** Throws a message that says what to run when the build or the browser is missing. */
export function requireBuildAndBrowser(): void {
  const missing: string[] = [];
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    missing.push('dist/cli/main.js is missing: run `npm run build` (npm test does it first)');
  if (!existsSync(join(ROOT, 'web', 'dist', 'index.html')))
    missing.push('web/dist/index.html is missing: run `npm run build` (npm test does it first)');
  if (!existsSync(CHROMIUM))
    missing.push(
      `no Chromium at ${CHROMIUM}: install it with \`apt-get update && apt-get install -y chromium\``,
    );
  if (missing.length > 0) throw new Error(`browser tests cannot run:\n- ${missing.join('\n- ')}`);
}

/** Headless Chromium, with the flags that keep it quiet and offline on CI machines. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_SECRET_KEY: SECRET_KEY };
  delete env.SLUICE_DATA_DIR;
  delete env.SLUICE_TIME_ZONE;
  return env;
}

/** Runs `sluice --data-dir DIR ...args` to completion, with `stdin` piped in. */
export function sluiceCli(
  dataDir: string,
  args: string[],
  stdin = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--data-dir', dataDir, ...args], {
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Creates a user as an operator would: `sluice user add ... --password-stdin`. */
export async function addUser(
  dataDir: string,
  email: string,
  role: 'viewer' | 'admin' | 'superadmin',
  password: string,
): Promise<void> {
  const res = await sluiceCli(
    dataDir,
    ['user', 'add', '--email', email, '--role', role, '--password-stdin'],
    `${password}\n`,
  );
  if (res.code !== 0) throw new Error(`sluice user add ${email} failed: ${res.stderr}`);
}

export interface ServedSluice {
  /** The URL `sluice serve` printed, like `http://127.0.0.1:41234/`. */
  url: string;
  /** Everything the process wrote (JSON log on stdout, human lines on stderr), for diagnostics. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Starts `sluice serve --port 0` and resolves with the URL it prints on stderr. */
export function serveSluice(dataDir: string, timeoutMs = 20_000): Promise<ServedSluice> {
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, '--data-dir', dataDir, 'serve', '--port', '0', '--host', '127.0.0.1'],
    { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Should the test process end without afterAll (a crash, a killed worker), take the server along.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  void exited.then(() => process.removeListener('exit', orphanGuard));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`sluice serve printed no URL within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /Sluice is serving on (http:\/\/\S+\/)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, output: () => out, stop });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited (${code ?? signal}) before serving:\n${out}`));
    });
  });
}

/**
 * A full-page screenshot at `test-results/screenshots/<name>.png`; returns its path. The window
 * is made as tall as the page for the shot (then put back), so the app shell's fixed header and
 * navbar and the sticky save bar sit where a tall screen shows them, not where a scrolled
 * capture would paint them.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  const viewport = page.viewportSize();
  const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
  const grow = viewport !== null && height > viewport.height;
  if (grow) await page.setViewportSize({ width: viewport.width, height: Math.min(height, 8000) });
  try {
    // Transitions finished and the caret hidden, so what is captured is what a user settles on.
    await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  } finally {
    if (grow) await page.setViewportSize(viewport);
  }
  return path;
}

/** Removes the `FAILED-*.png` shots an earlier failed run left (the others are overwritten). */
export async function removeFailureScreenshots(): Promise<void> {
  const names = await readdir(SCREENSHOT_DIR).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith('FAILED-'))
      .map((n) => rm(join(SCREENSHOT_DIR, n), { force: true })),
  );
}

/**
 * Picks an option of a Mantine Select: a click on its input opens the list, then the option by
 * its accessible name (the label, plus the description some options render under it).
 */
export async function choose(page: Page, input: Locator, option: string | RegExp): Promise<void> {
  await input.click();
  await page.getByRole('option', { name: option, exact: typeof option === 'string' }).click();
}
