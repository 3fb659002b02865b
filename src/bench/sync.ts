/**
 * The sync as a user runs it: `sluice apply` and `sluice sync --once` as child processes (wall
 * time and peak RSS of the real command), then the idle tick in-process through the CLI's own
 * composition root.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openContext } from '../cli/context.js';
import { readEnv } from '../cli/env.js';
import type { SectionResult } from '../engine/engine.js';
import type { MysqlTarget } from './dataset.js';
import { BATCH } from './limits.js';

/** The published entry point, run exactly as `npx sluice` would. */
const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/**
 * NODE_OPTIONS for the `sluice` children: `npm run bench` measures the raw limits in its own
 * process with Node's defaults, and hands the children apart the NODE_OPTIONS that npm gives
 * `npx sluice` in the project folder (.npmrc); run otherwise, they get this process's. A smaller
 * young generation made the mysql2 raw read, which holds whole 10,000-row batches, 30% slower.
 */
export const SYNC_NODE_OPTIONS =
  process.env.SLUICE_BENCH_SYNC_NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '';

/** Section names in the benchmark's config. */
export const ACTIVITIES_SECTION = 'activities';
export const METRICS_SECTION = 'metrics';

/** Writes the benchmark's config (both tables, 10,000-row batches) and applies it with the CLI. */
export async function applyConfig(dataDir: string, target: MysqlTarget): Promise<void> {
  const file = join(dirname(dataDir), 'bench.yaml');
  // The password travels in an env variable, as the README recommends; never in the file.
  await writeFile(
    file,
    `integration:
  name: bench
  mysql: { host: ${target.host}, port: ${target.port}, user: ${target.user}, passwordEnv: SLUICE_BENCH_MYSQL_PASSWORD, database: ${target.database} }
sections:
  - name: ${ACTIVITIES_SECTION}
    dataType: activities
    table: events
    key: id
    batchSize: ${BATCH}
    schedule: every 5m
    mapping: { email: user_email, externalId: user_id, companyExternalId: account_id, action: event_name, weight: qty, date: created_at, name: full_name }
  - name: ${METRICS_SECTION}
    dataType: metrics
    model: Company
    table: daily_usage
    key: seq
    batchSize: ${BATCH}
    schedule: daily at 02:00
    mapping: { dimensionId: metric, value: amount, externalId: company_id, date: day }
`,
  );
  const run = await runSluice(dataDir, target, ['apply', '-f', file, '--json']);
  if (run.code !== 0)
    throw new Error(`sluice apply failed (exit ${run.code}): ${run.stdout}${run.stderr}`);
}

export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  ms: number;
  /** Highest resident set size of the child (VmHWM), MiB; null when /proc is not there. */
  peakRssMb: number | null;
}

/** Runs `node bin/sluice.js --data-dir DIR ...args`, sampling the child's VmHWM every 50 ms. */
export function runSluice(
  dataDir: string,
  target: MysqlTarget,
  args: string[],
  nodeFlags: string[] = [],
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [...nodeFlags, SLUICE_BIN, '--data-dir', dataDir, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NODE_OPTIONS: SYNC_NODE_OPTIONS,
          SLUICE_BENCH_MYSQL_PASSWORD: target.password,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    let peakKb: number | null = null;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sample = async () => {
      const kb = await vmHwmKb(child.pid);
      // VmHWM only grows; the last sample before exit is within 50 ms of the end.
      if (kb !== null) peakKb = Math.max(peakKb ?? 0, kb);
    };
    const timer = setInterval(() => void sample(), 50);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({
        code,
        stdout,
        stderr,
        ms: performance.now() - started,
        peakRssMb: peakKb === null ? null : peakKb / 1024,
      });
    });
  });
}

async function vmHwmKb(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null; // gone already, or no /proc on this OS
  }
}

export interface SyncRun {
  result: SectionResult;
  /** Wall time of the whole command (node start, store open, connect, the run, exit), ms. */
  ms: number;
  peakRssMb: number | null;
}

/** `sluice sync --once --section NAME --json`; fails unless every row landed. */
export async function syncSection(
  dataDir: string,
  target: MysqlTarget,
  section: string,
  rows: number,
  nodeFlags: string[] = [],
): Promise<SyncRun> {
  const run = await runSluice(
    dataDir,
    target,
    ['sync', '--once', '--section', section, '--json', '--no-progress'],
    nodeFlags,
  );
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  let result: SectionResult;
  try {
    result = JSON.parse(line) as SectionResult;
  } catch {
    throw new Error(`sluice sync printed no result (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
  if (run.code !== 0 || result.status !== 'succeeded' || result.landed !== rows) {
    throw new Error(
      `sluice sync of ${section}: exit ${run.code}, ${result.status}, ${result.landed} of ${rows} landed` +
        `${result.error ? `: ${result.error}` : ''}`,
    );
  }
  return { result, ms: run.ms, peakRssMb: run.peakRssMb };
}

export interface IdleTicks {
  ticks: number;
  medianMs: number;
  p95Ms: number;
}

/**
 * A scheduled tick with nothing new: `engine.runSection` on a caught-up section, in this process,
 * with the store and engine opened as the CLI opens them (so the pool and read plan stay warm
 * between ticks, as they do in a long-running server). Three untimed ticks warm it up first.
 */
export async function idleTicks(
  dataDir: string,
  target: MysqlTarget,
  section: string,
  ticks: number,
): Promise<IdleTicks> {
  const ctx = await openContext(
    readEnv({ ...process.env, SLUICE_BENCH_MYSQL_PASSWORD: target.password }),
    dataDir,
  );
  try {
    const engine = ctx.engine();
    const stored = (await ctx.store.listSections()).find((s) => s.name === section);
    if (!stored) throw new Error(`idle tick: no section ${section} in ${dataDir}`);
    const times: number[] = [];
    for (let i = -3; i < ticks; i++) {
      const started = performance.now();
      const r = await engine.runSection(stored, { trigger: 'schedule' });
      const ms = performance.now() - started;
      if (r.status !== 'succeeded' || r.rowsRead !== 0) {
        throw new Error(
          `idle tick: expected a caught-up run, got ${r.status} with ${r.rowsRead} rows${r.error ? `: ${r.error}` : ''}`,
        );
      }
      if (i >= 0) times.push(ms);
    }
    times.sort((a, b) => a - b);
    return { ticks, medianMs: quantile(times, 0.5), p95Ms: quantile(times, 0.95) };
  } finally {
    await ctx.close();
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

export interface HotFunction {
  function: string;
  where: string;
  selfMs: number;
  /** Share of all sampled time, 0..100. */
  percent: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The functions with the most self time in the `.cpuprofile` files of `dir` (V8's --cpu-prof). */
export async function summariseCpuProfile(dir: string, top: number): Promise<HotFunction[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const selfUs = new Map<string, { function: string; where: string; us: number }>();
  let totalUs = 0;
  for (const f of files) {
    const profile = JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      totalUs += us;
      const frame = byId.get(id);
      if (!frame) return;
      const where = frame.url
        ? `${frame.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}`
        : '';
      const key = `${frame.functionName}@${where}`;
      const entry = selfUs.get(key) ?? {
        function: frame.functionName || '(anonymous)',
        where,
        us: 0,
      };
      entry.us += us;
      selfUs.set(key, entry);
    });
  }
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      function: e.function,
      where: e.where,
      selfMs: e.us / 1000,
      percent: (100 * e.us) / totalUs,
    }));
}
