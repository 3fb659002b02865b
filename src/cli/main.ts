import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { SluiceError, isSluiceError } from '../core/errors.js';
import type { ConfigIssue, RunRecord } from '../core/types.js';
import { applyConfig, exportConfig, findSection, resetCursor } from '../engine/config-ops.js';
import type { SectionResult } from '../engine/engine.js';
import { createMysqlSource } from '../source/mysql-source.js';
import { openContext, passwordFor, type Context } from './context.js';
import { readEnv, type Env } from './env.js';
import { count, duration, table } from './format.js';
import { progressReporter } from './progress.js';
import { registerServerCommands, stdinInput, type Input } from './server-commands.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** Exit codes: 0 done, 1 a run or connection failed, 2 bad input (nothing changed). */
const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;

interface Globals {
  dataDir?: string;
}

class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Runs the `sluice` command with argv (as process.argv) and returns the exit code. */
export async function main(
  argv: string[],
  out: Output = defaultOutput,
  environment: NodeJS.ProcessEnv = process.env,
  input: Input = stdinInput,
): Promise<number> {
  let env: Env;
  try {
    env = readEnv(environment);
  } catch (err) {
    // A variable with a bad value: say which and why, change nothing.
    out.stderr(`sluice: ${(err as Error).message}\n`);
    return EXIT_BAD_INPUT;
  }
  let exitCode = 0;
  const program = new Command('sluice')
    .description(
      'Pull usage data out of MySQL tables, a batch at a time, into user activities and custom metrics.',
    )
    .version(VERSION, '-V, --version')
    .addOption(
      new Option(
        '--data-dir <dir>',
        'data folder: the SQLite store and key file (env SLUICE_DATA_DIR, default ./.sluice)',
      ),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ sluice apply -f sluice.yaml        validate against the live schema, then save
  $ sluice sync --once                 run every receiving section until caught up
  $ sluice stats --json                cursor, landed, rejected and last run per section
  $ sluice rejects --section seats     rows that could not land, with key and reason
  $ sluice user add --email you@example.com --role superadmin
                                       the first user of the web UI (asks for a password)
  $ sluice serve                       web UI, API and scheduler on http://127.0.0.1:8080/

Environment:
  SLUICE_DATA_DIR     the data folder (the --data-dir default)
  SLUICE_SECRET_KEY   key for stored MySQL passwords (else <data dir>/secret.key)
  SLUICE_TIME_ZONE    IANA zone of 'daily at HH:00' schedules (default UTC)
  SLUICE_STORE_WRITER thread (default: batches commit in a writer thread) or inline
  <passwordEnv>       the variable each integration's mysql.passwordEnv names

Exit codes: 0 done, 1 a run or connection failed, 2 bad input (nothing changed).`,
    )
    .showHelpAfterError('(run sluice --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout(s), writeErr: (s) => out.stderr(s) });

  const withContext = async <T>(fn: (ctx: Context) => Promise<T>): Promise<T> => {
    const ctx = await openContext(env, program.opts<Globals>().dataDir);
    try {
      return await fn(ctx);
    } finally {
      await ctx.close();
    }
  };

  program
    .command('apply')
    .description(
      'Validate an integration and its sections against the live MySQL schema, then save them',
    )
    .requiredOption('-f, --file <path>', 'YAML file with `integration` and `sections`')
    .option('--prune', 'delete sections of this integration that the file no longer lists')
    .option('--dry-run', 'validate only; save nothing')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: { file: string; prune?: boolean; dryRun?: boolean; json?: boolean }) => {
      let text: string;
      try {
        text = await readFile(opts.file, 'utf8');
      } catch (err) {
        throw new ExitError(
          `cannot read ${opts.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          EXIT_BAD_INPUT,
        );
      }
      // Loaded here only: the YAML parser and the config schema (zod) cost a tenth of a second
      // at start, and no other command needs them.
      const [{ parse: parseYaml, YAMLParseError }, { parseConfig }] = await Promise.all([
        import('yaml'),
        import('../core/config.js'),
      ]);
      let doc: unknown;
      try {
        doc = parseYaml(text);
      } catch (err) {
        if (err instanceof YAMLParseError)
          throw new ExitError(`${opts.file}: ${err.message}`, EXIT_BAD_INPUT);
        throw err;
      }
      const parsed = parseConfig(doc);
      if (!parsed.config) {
        reportIssues(out, opts.json, parsed.ok ? [] : parsed.issues, []);
        exitCode = EXIT_BAD_INPUT;
        return;
      }
      const { config } = parsed;
      const shapeIssues = parsed.ok ? [] : parsed.issues;
      await withContext(async (ctx) => {
        const password = await passwordFor(env, config.integration.mysql, async () =>
          ctx.store.getIntegrationPassword(config.integration.name),
        );
        const source = await createMysqlSource(config.integration.mysql, password);
        try {
          // Shape problems are checked again against the live schema: report each once, all together.
          const dryRun = (opts.dryRun ?? false) || shapeIssues.length > 0;
          const outcome = await applyConfig(ctx.store, source, config, {
            prune: opts.prune ?? false,
            dryRun,
          });
          const errors = uniqueIssues([...shapeIssues, ...outcome.errors]);
          if (errors.length > 0) {
            reportIssues(out, opts.json, errors, outcome.warnings);
            exitCode = EXIT_BAD_INPUT;
            return;
          }
          if (opts.json) {
            out.stdout(
              `${JSON.stringify({ ok: true, dryRun: opts.dryRun ?? false, warnings: outcome.warnings, result: outcome.result ?? null })}\n`,
            );
            return;
          }
          for (const w of outcome.warnings) out.stderr(`warning: ${w.message}\n`);
          if (!outcome.result) {
            out.stdout(
              `${config.integration.name}: ${config.sections.length} section(s) valid (dry run, nothing saved)\n`,
            );
            return;
          }
          const r = outcome.result;
          out.stdout(`integration ${r.integration.name}: ${r.integration.action}\n`);
          for (const s of r.sections) {
            out.stdout(
              `  section ${s.name}: ${s.action}${s.cursorReset ? ' (table or key changed: cursor reset to the start)' : ''}\n`,
            );
          }
          const kept = r.sections.filter((s) => s.action === 'kept');
          if (kept.length > 0)
            out.stderr(
              `note: ${kept.length} section(s) not in the file were kept; --prune deletes them\n`,
            );
        } finally {
          await source.close();
        }
      });
    });

  program
    .command('sync')
    .description(
      'Run sections on their schedules until Ctrl-C (SIGINT/SIGTERM), or with --once until caught up',
    )
    .option('--once', 'run every section once until caught up, then exit')
    .option('-s, --section <name>', 'run only this section')
    .option('-i, --integration <name>', 'run only this integration')
    .option('--json', 'print one JSON object per section')
    .option('--no-progress', 'no progress bar or lines')
    .action(
      async (opts: {
        once?: boolean;
        section?: string;
        integration?: string;
        json?: boolean;
        progress: boolean;
      }) => {
        if (!opts.once) {
          const { syncForeground } = await import('./foreground.js');
          await withContext((ctx) =>
            syncForeground(
              ctx,
              {
                ...(opts.section !== undefined ? { section: opts.section } : {}),
                ...(opts.integration !== undefined ? { integration: opts.integration } : {}),
                ...(opts.json ? { json: true } : {}),
              },
              out,
              resultLine,
            ),
          );
          return;
        }
        await withContext(async (ctx) => {
          const mode = !opts.progress
            ? 'off'
            : process.stderr.isTTY
              ? 'bar'
              : opts.json
                ? 'off'
                : 'lines';
          const progress = await progressReporter(mode);
          const engine = ctx.engine();
          let results: SectionResult[];
          try {
            const filter = {
              ...(opts.section !== undefined ? { section: opts.section } : {}),
              ...(opts.integration !== undefined ? { integration: opts.integration } : {}),
            };
            results = await engine.runAll(filter, {
              trigger: 'cli',
              ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
            });
          } finally {
            progress.stop();
          }
          if (results.length === 0 && !opts.json)
            out.stdout('no section to run (none applied, or all off)\n');
          for (const r of results) {
            if (opts.json) {
              const { warnings: _w, ...rest } = r;
              out.stdout(`${JSON.stringify(rest)}\n`);
            } else out.stdout(`${resultLine(r)}\n`);
          }
          if (
            results.some(
              (r) =>
                r.status === 'failed' ||
                (r.status === 'skipped' && r.errorCode === 'SECTION_LOCKED'),
            )
          )
            exitCode = EXIT_FAILED;
        });
      },
    );

  program
    .command('stats')
    .description('Per section: cursor, rows landed and rejected, last run')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const stats = await ctx.store.stats();
        if (opts.json) {
          out.stdout(
            `${JSON.stringify(stats.map((s) => ({ integration: s.integration, name: s.name, dataType: s.dataType, direction: s.direction, cursor: s.cursor, landed: s.landed, rejected: s.rejected, lastRun: s.lastRun })))}\n`,
          );
          return;
        }
        out.stdout(
          `${table(
            [
              'INTEGRATION',
              'SECTION',
              'TYPE',
              'DIRECTION',
              'CURSOR',
              'LANDED',
              'REJECTED',
              'LAST RUN',
            ],
            stats.map((s) => [
              s.integration,
              s.name,
              s.dataType,
              s.direction,
              s.cursor,
              s.landed,
              s.rejected,
              s.lastRun ? `${s.lastRun.status} ${s.lastRun.startedAt}` : null,
            ]),
          )}\n`,
        );
      });
    });

  program
    .command('logs')
    .description('List runs, newest first')
    .option('-s, --section <name>', 'only this section')
    .option('-i, --integration <name>', "the section's integration, when names repeat")
    .option('-n, --limit <n>', 'how many runs', '50')
    .option('--json', 'print JSON')
    .action(
      async (opts: { section?: string; integration?: string; limit: string; json?: boolean }) => {
        const limit = positiveInt(opts.limit, '--limit');
        await withContext(async (ctx) => {
          const section =
            opts.section !== undefined
              ? await findSection(ctx.store, opts.section, opts.integration)
              : undefined;
          const runs = await ctx.store.listRuns({
            ...(section ? { sectionId: section.id } : {}),
            limit,
          });
          if (opts.json) {
            out.stdout(`${JSON.stringify(runs)}\n`);
            return;
          }
          out.stdout(`${runsTable(runs)}\n`);
        });
      },
    );

  program
    .command('rejects')
    .description('List rejected rows of a section with their key and reason')
    .requiredOption('-s, --section <name>', 'the section')
    .option('-i, --integration <name>', "the section's integration, when names repeat")
    .option('--run <id>', 'only rejects of this run')
    .option('-n, --limit <n>', 'how many', '100')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        section: string;
        integration?: string;
        run?: string;
        limit: string;
        json?: boolean;
      }) => {
        const limit = positiveInt(opts.limit, '--limit');
        const runId = opts.run !== undefined ? positiveInt(opts.run, '--run') : undefined;
        await withContext(async (ctx) => {
          const section = await findSection(ctx.store, opts.section, opts.integration);
          const rejects = await ctx.store.listRejects({
            sectionId: section.id,
            ...(runId !== undefined ? { runId } : {}),
            limit,
          });
          if (opts.json) {
            out.stdout(`${JSON.stringify(rejects)}\n`);
            return;
          }
          out.stdout(
            `${table(
              ['RUN', 'KEY', 'FIELD', 'COLUMN', 'CODE', 'REASON'],
              rejects.map((r) => [String(r.runId), r.key, r.field, r.column, r.code, r.reason]),
            )}\n`,
          );
        });
      },
    );

  program
    .command('reset')
    .description(
      "Move a section's cursor back so the next sync re-reads from there; landed rows are not landed twice",
    )
    .requiredOption('-s, --section <name>', 'the section')
    .option('-i, --integration <name>', "the section's integration, when names repeat")
    .option(
      '--to <key>',
      'the key to re-read after (rows with a greater key are read again); default: the start',
    )
    .option('--json', 'print JSON')
    .action(
      async (opts: { section: string; integration?: string; to?: string; json?: boolean }) => {
        await withContext(async (ctx) => {
          const section = await findSection(ctx.store, opts.section, opts.integration);
          const integration = await ctx.store.getIntegration(section.integration);
          if (!integration)
            throw new SluiceError('NOT_FOUND', `integration "${section.integration}" is gone`);
          const source = opts.to !== undefined ? await ctx.connect(integration) : undefined;
          try {
            const moved = source
              ? await resetCursor(ctx.store, source, section, opts.to ?? null)
              : { from: section.cursor, to: null };
            if (!source) await ctx.store.setCursor(section.id, null);
            if (opts.json) out.stdout(`${JSON.stringify({ section: section.name, ...moved })}\n`);
            else
              out.stdout(
                `${section.name}: cursor moved from ${moved.from ?? '(start)'} to ${moved.to ?? '(start)'}\n`,
              );
          } finally {
            await source?.close();
          }
        });
      },
    );

  program
    .command('export')
    .description(
      'Print the applied configuration as YAML (passwords as their env name, never the secret)',
    )
    .option('-i, --integration <name>', 'only this integration')
    .action(async (opts: { integration?: string }) => {
      await withContext(async (ctx) => {
        const yaml = await exportConfig(ctx.store, opts.integration);
        out.stdout(yaml.length > 0 ? yaml : '# nothing applied yet\n');
      });
    });

  registerServerCommands(program, { out, input, withContext, version: VERSION });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    if (err instanceof ExitError) {
      out.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (isSluiceError(err)) {
      out.stderr(`error: ${err.message}\n`);
      return err.status < 500 ? EXIT_BAD_INPUT : EXIT_FAILED;
    }
    throw err;
  }
  return exitCode;
}

export interface Output {
  stdout(s: string): void;
  stderr(s: string): void;
}

const defaultOutput: Output = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

function reportIssues(
  out: Output,
  json: boolean | undefined,
  errors: ConfigIssue[],
  warnings: ConfigIssue[],
): void {
  if (json) {
    out.stdout(`${JSON.stringify({ ok: false, errors, warnings })}\n`);
    return;
  }
  for (const e of errors) out.stderr(`error: ${e.message}\n`);
  for (const w of warnings) out.stderr(`warning: ${w.message}\n`);
  out.stderr(`nothing saved: ${errors.length} error(s)\n`);
}

function uniqueIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.message) && seen.add(i.message));
}

function resultLine(r: SectionResult): string {
  const what = r.dataType === 'activities' ? 'activities' : 'metric points';
  if (r.status === 'skipped') return `${r.integration}/${r.section}: skipped: ${r.error ?? ''}`;
  const head = `${r.integration}/${r.section}: ${r.status}, ${count(r.rowsRead)} rows read, ${count(r.landed)} ${what} landed, ${count(r.rejected)} rejected, cursor ${r.cursor ?? '(start)'}, ${duration(r.durationMs)}`;
  return r.status === 'failed' ? `${head}\n  error [${r.errorCode ?? ''}]: ${r.error ?? ''}` : head;
}

function runsTable(runs: RunRecord[]): string {
  return table(
    [
      'RUN',
      'SECTION',
      'STARTED',
      'FINISHED',
      'STATUS',
      'READ',
      'LANDED',
      'REJECTED',
      'KEYS',
      'ERROR',
    ],
    runs.map((r) => [
      String(r.id),
      r.section,
      r.startedAt,
      r.finishedAt,
      r.status,
      r.rowsRead,
      r.landed,
      r.rejected,
      r.keyFrom === null ? null : `${r.keyFrom}..${r.keyTo ?? ''}`,
      r.error,
    ]),
  );
}

function positiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new ExitError(`${flag} must be a positive whole number, not "${value}"`, EXIT_BAD_INPUT);
  return Number(value);
}
