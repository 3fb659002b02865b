/**
 * `npm run bench`: a 1,000,000-row sync of the local MySQL/MariaDB into a fresh store, next to
 * the raw read and write limits of the same machine measured in the same run. See docs/bench.md.
 *
 * Options: --rows N (rows per table, default 1000000), --json (one JSON object on stdout),
 * --idle-ticks N (default 200), --repeat N (measure the limits and the syncs N times, in turn,
 * and report medians; default 1), --cpu-prof (profile the first activities sync and list the
 * hottest functions; slows that sync down), --keep (keep the temporary data folder), --host, --port,
 * --user, --database (default 127.0.0.1, 3306, root, sluice_bench). The password comes from
 * MYSQL_PASSWORD (empty by default), as for `npm run demo`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readEnv } from '../cli/env.js';
import { ensureDataset, type MysqlTarget } from './dataset.js';
import { BATCH, rawReadCli, rawReadMysql2, rawWrite } from './limits.js';
import {
  ACTIVITIES_SECTION,
  METRICS_SECTION,
  SYNC_NODE_OPTIONS,
  applyConfig,
  idleTicks,
  summariseCpuProfile,
  syncSection,
  type HotFunction,
} from './sync.js';

/** One round's measurements: the limits and the two syncs, taken one after the other. */
interface Round {
  rawReadRowsPerSec: number;
  rawReadCliRowsPerSec: number;
  rawWriteRowsPerSec: number;
  syncRowsPerSec: number;
  metricsSyncRowsPerSec: number;
  /** syncRowsPerSec / min(rawReadRowsPerSec, rawWriteRowsPerSec). */
  ratioVsLimit: number;
  peakRssMb: number | null;
  metricsPeakRssMb: number | null;
  durations: {
    rawReadMs: number;
    rawReadCliMs: number;
    rawWriteMs: number;
    syncMs: number;
    syncEngineMs: number;
    metricsSyncMs: number;
    metricsSyncEngineMs: number;
  };
}

/** The figures of a run: one round's, or with --repeat the medians of the rounds'. */
interface BenchResult extends Omit<Round, 'durations'> {
  rows: number;
  batchSize: number;
  idleTickMs: number;
  idleTickP95Ms: number;
  idleTicks: number;
  durations: Round['durations'] & { generateMs: number; totalMs: number };
  datasetReused: boolean;
  profiled: boolean;
  hotFunctions?: HotFunction[];
  /** With --repeat N > 1: every round's figures (the ones above are their medians). */
  rounds?: Round[];
  machine: {
    node: string;
    /** NODE_OPTIONS of this process: the raw limits and the idle tick are measured here. */
    nodeOptions: string;
    /** NODE_OPTIONS of the `sluice` children (the syncs; see SYNC_NODE_OPTIONS). */
    syncNodeOptions: string;
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    server: string;
  };
}

/** The median (the mean of the middle two for an even count); null when any value is null. */
function median<T extends number | null>(values: T[]): T {
  if (values.some((v) => v === null)) return null as T;
  const sorted = (values as number[]).slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return (sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2) as T;
}

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error(`${flag} must be a positive whole number, not "${value}"`);
  }
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      json: { type: 'boolean', default: false },
      'idle-ticks': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      repeat: { type: 'string' },
      keep: { type: 'boolean', default: false },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '3306' },
      user: { type: 'string', default: 'root' },
      database: { type: 'string', default: 'sluice_bench' },
    },
  });
  const rows = positive(values.rows, '--rows', 1_000_000);
  const ticks = positive(values['idle-ticks'], '--idle-ticks', 200);
  const repeat = positive(values.repeat, '--repeat', 1);
  const env = readEnv();
  const target: MysqlTarget = {
    host: values.host,
    port: positive(values.port, '--port', 3306),
    user: values.user,
    password: env.get('MYSQL_PASSWORD') ?? '',
    database: values.database,
  };
  // Progress goes to stderr, so `--json` leaves stdout to the one result object.
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const began = performance.now();

  const dataset = await ensureDataset(target, rows, log);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  try {
    const perSec = (n: number, ms: number) => (n * 1000) / ms;
    const profDir = join(dir, 'cpu-prof');
    const rounds: Round[] = [];
    let dataDir = '';
    for (let i = 1; i <= repeat; i++) {
      // Each round lands in a fresh folder: the raw-write file and a new store.
      const roundDir = join(dir, `round-${i}`);
      await mkdir(roundDir);
      const of = repeat > 1 ? ` (round ${i} of ${repeat})` : '';
      log(`raw read: mariadb client${of}`);
      const cli = await rawReadCli(target, rows);
      log(`raw read: mysql2 keyset${of}`);
      const read = await rawReadMysql2(target, rows);
      log(`raw write: better-sqlite3${of}`);
      const write = await rawWrite(roundDir, rows);
      dataDir = join(roundDir, 'data');
      await applyConfig(dataDir, target);
      const profiled = values['cpu-prof'] && i === 1;
      const profFlags = profiled ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
      log(`sync: ${ACTIVITIES_SECTION}${profiled ? ' (profiled)' : ''}${of}`);
      const sync = await syncSection(dataDir, target, ACTIVITIES_SECTION, rows, profFlags);
      log(`sync: ${METRICS_SECTION}${of}`);
      const metrics = await syncSection(dataDir, target, METRICS_SECTION, rows);
      const syncRowsPerSec = perSec(rows, sync.ms);
      const rawReadRowsPerSec = perSec(rows, read.ms);
      const rawWriteRowsPerSec = perSec(rows, write.ms);
      rounds.push({
        rawReadRowsPerSec,
        rawReadCliRowsPerSec: perSec(rows, cli.ms),
        rawWriteRowsPerSec,
        syncRowsPerSec,
        metricsSyncRowsPerSec: perSec(rows, metrics.ms),
        // Each round's sync against the limits measured in that round.
        ratioVsLimit: syncRowsPerSec / Math.min(rawReadRowsPerSec, rawWriteRowsPerSec),
        peakRssMb: sync.peakRssMb,
        metricsPeakRssMb: metrics.peakRssMb,
        durations: {
          rawReadMs: read.ms,
          rawReadCliMs: cli.ms,
          rawWriteMs: write.ms,
          syncMs: sync.ms,
          syncEngineMs: sync.result.durationMs,
          metricsSyncMs: metrics.ms,
          metricsSyncEngineMs: metrics.result.durationMs,
        },
      });
    }
    log(`idle tick: ${ticks} caught-up runs`);
    const idle = await idleTicks(dataDir, target, ACTIVITIES_SECTION, ticks);
    const hotFunctions = values['cpu-prof'] ? await summariseCpuProfile(profDir, 20) : undefined;

    const mid = <T extends number | null>(pick: (r: Round) => T): T => median(rounds.map(pick));
    const result: BenchResult = {
      rows,
      batchSize: BATCH,
      syncRowsPerSec: mid((r) => r.syncRowsPerSec),
      metricsSyncRowsPerSec: mid((r) => r.metricsSyncRowsPerSec),
      rawReadRowsPerSec: mid((r) => r.rawReadRowsPerSec),
      rawReadCliRowsPerSec: mid((r) => r.rawReadCliRowsPerSec),
      rawWriteRowsPerSec: mid((r) => r.rawWriteRowsPerSec),
      ratioVsLimit: mid((r) => r.ratioVsLimit),
      peakRssMb: mid((r) => r.peakRssMb),
      metricsPeakRssMb: mid((r) => r.metricsPeakRssMb),
      idleTickMs: idle.medianMs,
      idleTickP95Ms: idle.p95Ms,
      idleTicks: idle.ticks,
      durations: {
        generateMs: dataset.generateMs,
        rawReadMs: mid((r) => r.durations.rawReadMs),
        rawReadCliMs: mid((r) => r.durations.rawReadCliMs),
        rawWriteMs: mid((r) => r.durations.rawWriteMs),
        syncMs: mid((r) => r.durations.syncMs),
        syncEngineMs: mid((r) => r.durations.syncEngineMs),
        metricsSyncMs: mid((r) => r.durations.metricsSyncMs),
        metricsSyncEngineMs: mid((r) => r.durations.metricsSyncEngineMs),
        totalMs: performance.now() - began,
      },
      datasetReused: dataset.reused,
      profiled: values['cpu-prof'],
      ...(hotFunctions ? { hotFunctions } : {}),
      ...(repeat > 1 ? { rounds } : {}),
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        nodeOptions: process.env.NODE_OPTIONS ?? '',
        syncNodeOptions: SYNC_NODE_OPTIONS,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        server: dataset.serverVersion,
      },
    };
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : report(result));
    if (values.keep) log(`kept ${dir}`);
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (n: number | null) => (n === null ? 'n/a' : `${Math.round(n)} MiB`);

function report(r: BenchResult): string {
  const d = r.durations;
  const rowsOf = (label: string, perSec: number, ms: number, note: string) => [
    label,
    `${int(perSec)} rows/s`,
    secs(ms),
    note,
  ];
  const lines: string[][] = [
    ['', 'speed', 'time', ''],
    rowsOf(
      'raw read, mysql2 keyset',
      r.rawReadRowsPerSec,
      d.rawReadMs,
      `${int(r.batchSize)} rows per query`,
    ),
    rowsOf(
      'raw read, mariadb client',
      r.rawReadCliRowsPerSec,
      d.rawReadCliMs,
      'one query, --quick, to /dev/null',
    ),
    rowsOf(
      'raw write, better-sqlite3',
      r.rawWriteRowsPerSec,
      d.rawWriteMs,
      `${int(r.batchSize)} rows per transaction`,
    ),
    rowsOf(
      'sluice sync, activities',
      r.syncRowsPerSec,
      d.syncMs,
      `engine ${secs(d.syncEngineMs)}, peak RSS ${mb(r.peakRssMb)}${r.profiled ? ', PROFILED' : ''}`,
    ),
    rowsOf(
      'sluice sync, metrics',
      r.metricsSyncRowsPerSec,
      d.metricsSyncMs,
      `engine ${secs(d.metricsSyncEngineMs)}, peak RSS ${mb(r.metricsPeakRssMb)}`,
    ),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const table = lines
    .map((l) =>
      l
        .map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  const hot = r.hotFunctions
    ? `\nhottest functions in the activities sync (self time):\n${r.hotFunctions
        .map((h) => `  ${h.percent.toFixed(1).padStart(5)}%  ${h.function}  ${h.where}`)
        .join('\n')}\n`
    : '';
  return (
    `Sluice bench: ${int(r.rows)} rows per table (${r.datasetReused ? 'data set reused' : `data set generated in ${secs(d.generateMs)}`})\n` +
    `${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGb} GiB, Node ${r.machine.node}, ${r.machine.server}\n` +
    `NODE_OPTIONS: ${r.machine.syncNodeOptions || 'none'} for the syncs, ${r.machine.nodeOptions || 'none'} for the limits and the idle tick\n\n` +
    `${table}\n\n` +
    `ratio vs limit   ${r.ratioVsLimit.toFixed(2)}  (activities sync / slower of raw read and raw write)\n` +
    (r.rounds
      ? `rounds           ${r.rounds.length}: figures above are medians; ratio per round ${r.rounds.map((x) => x.ratioVsLimit.toFixed(2)).join(', ')}\n`
      : '') +
    `idle tick        ${r.idleTickMs.toFixed(2)} ms median, ${r.idleTickP95Ms.toFixed(2)} ms p95 over ${r.idleTicks} caught-up runs\n` +
    hot +
    `total            ${secs(d.totalMs)}\n`
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
