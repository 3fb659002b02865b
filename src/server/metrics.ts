/**
 * `/metrics` in the Prometheus text format (version 0.0.4): runs by status, rows read, landed
 * and rejected, the age of each section's last successful run, its scheduler failures, and how
 * far its cursor is behind the table's newest key. The lag needs MySQL (`MAX(key)`), so it is
 * cached and asked again at most once per `lagTtlMs` (default a minute), whatever the scrape rate.
 */
import { keyPosition } from '../core/keys.js';
import { planSection } from '../core/plan.js';
import type { KeyKind } from '../core/types.js';
import type { Source } from '../source/source.js';
import type { StoredSection } from '../store/store.js';
import type { ServerContext } from './context.js';

interface Lag {
  value: number;
  /** `keys` for numeric keys (a count of key units), `seconds` for date and time keys. */
  unit: 'keys' | 'seconds';
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(values: Record<string, string>): string {
  return `{${Object.entries(values)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
}

/** How far `cursor` is behind `max`; exact for integer keys (BigInt), approximate otherwise. */
export function keyLag(kind: KeyKind, cursor: string, max: string): Lag | undefined {
  switch (kind) {
    case 'signed':
    case 'unsigned': {
      const diff = BigInt(max) - BigInt(cursor);
      return { value: Number(diff > 0n ? diff : 0n), unit: 'keys' };
    }
    case 'decimal':
      return { value: Math.max(0, Number(max) - Number(cursor)), unit: 'keys' };
    case 'date':
    case 'datetime': {
      const ms = keyPosition(kind, max) - keyPosition(kind, cursor);
      return Number.isFinite(ms) ? { value: Math.max(0, ms / 1000), unit: 'seconds' } : undefined;
    }
    case 'string':
      return undefined;
  }
}

/** Collects the lag of every receiving section, one MySQL connection per integration. */
export class LagCache {
  #lags = new Map<number, Lag>();
  #at = 0;
  #refreshing: Promise<void> | undefined;

  constructor(
    private readonly ctx: ServerContext,
    private readonly ttlMs: number,
    private readonly warn: (event: Record<string, unknown>) => void,
  ) {}

  async get(): Promise<Map<number, Lag>> {
    if (Date.now() - this.#at >= this.ttlMs) {
      this.#refreshing ??= this.#refresh().finally(() => {
        this.#refreshing = undefined;
      });
      await this.#refreshing;
    }
    return this.#lags;
  }

  async #refresh(): Promise<void> {
    const lags = new Map<number, Lag>();
    const [integrations, sections] = await Promise.all([
      this.ctx.store.listIntegrations(),
      this.ctx.store.listSections(),
    ]);
    for (const integration of integrations) {
      const mine = sections.filter(
        (s) => s.integration === integration.name && s.direction === 'receive',
      );
      if (!integration.enabled || mine.length === 0) continue;
      try {
        await this.ctx.withIntegration(integration.name, async (source) => {
          for (const section of mine) {
            const lag = await this.#lagOf(section, source, integration.mysql.database);
            if (lag) lags.set(section.id, lag);
          }
        });
      } catch (err) {
        // MySQL down: the lag is unknown (left out), which an alert on its absence can catch.
        this.warn({
          event: 'metrics_lag_failed',
          integration: integration.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    this.#lags = lags;
    this.#at = Date.now();
  }

  async #lagOf(section: StoredSection, source: Source, database: string): Promise<Lag | undefined> {
    const { plan } = planSection(section, await source.describeTable(section.table), database);
    if (!plan) return undefined;
    const max = await source.maxKey(plan);
    if (max === null) return plan.keyKind === 'string' ? undefined : { value: 0, unit: 'keys' };
    // Before the first batch the whole table is behind: measure from its smallest key.
    const from = section.cursor ?? (await source.minKey(plan, null));
    if (from === null) return undefined;
    const lag = keyLag(plan.keyKind, from, max);
    return lag && section.cursor === null && lag.unit === 'keys'
      ? { ...lag, value: lag.value + 1 }
      : lag;
  }
}

/** Renders the metrics text. */
export async function renderMetrics(ctx: ServerContext, lagCache: LagCache): Promise<string> {
  const [sections, totals, lags] = await Promise.all([
    ctx.store.listSections(),
    ctx.data.runTotals(),
    lagCache.get(),
  ]);
  const schedules = new Map(ctx.scheduler.status().map((s) => [s.sectionId, s]));
  const byId = new Map(sections.map((s) => [s.id, s]));
  const now = Date.now();
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const of = (s: StoredSection) => ({ integration: s.integration, section: s.name });

  const runs: string[] = [];
  const read = new Map<number, number>();
  const landed = new Map<number, number>();
  const rejected = new Map<number, number>();
  const lastSuccess = new Map<number, string>();
  for (const t of totals) {
    const section = byId.get(t.sectionId);
    if (!section) continue;
    runs.push(`sluice_runs_total${labels({ ...of(section), status: t.status })} ${t.runs}`);
    read.set(t.sectionId, (read.get(t.sectionId) ?? 0) + t.rowsRead);
    landed.set(t.sectionId, (landed.get(t.sectionId) ?? 0) + t.landed);
    rejected.set(t.sectionId, (rejected.get(t.sectionId) ?? 0) + t.rejected);
    if (t.status === 'succeeded' && t.lastFinishedAt !== null) {
      lastSuccess.set(t.sectionId, t.lastFinishedAt);
    }
  }
  const perSection = (values: Map<number, number>) =>
    sections.map((s) => `${labels(of(s))} ${values.get(s.id) ?? 0}`);

  family('sluice_runs_total', 'counter', 'Runs of each section by status.', runs);
  family(
    'sluice_rows_read_total',
    'counter',
    'Rows read from MySQL.',
    perSection(read).map((l) => `sluice_rows_read_total${l}`),
  );
  family(
    'sluice_rows_landed_total',
    'counter',
    'Records landed (each source row at most once).',
    perSection(landed).map((l) => `sluice_rows_landed_total${l}`),
  );
  family(
    'sluice_rows_rejected_total',
    'counter',
    'Source rows rejected by mapping.',
    perSection(rejected).map((l) => `sluice_rows_rejected_total${l}`),
  );
  family(
    'sluice_last_success_age_seconds',
    'gauge',
    "Seconds since the end of the section's last successful run (absent before the first).",
    sections.flatMap((s) => {
      const at = lastSuccess.get(s.id);
      return at === undefined
        ? []
        : [`sluice_last_success_age_seconds${labels(of(s))} ${(now - Date.parse(at)) / 1000}`];
    }),
  );
  family(
    'sluice_section_failures',
    'gauge',
    'Consecutive failed runs of the section (0 when the last run succeeded).',
    sections.map(
      (s) => `sluice_section_failures${labels(of(s))} ${schedules.get(s.id)?.failures ?? 0}`,
    ),
  );
  family(
    'sluice_cursor_lag',
    'gauge',
    "How far the cursor is behind the table's newest key: key units (unit=keys) or seconds for date/time keys; refreshed at most once a minute.",
    sections.flatMap((s) => {
      const lag = lags.get(s.id);
      return lag ? [`sluice_cursor_lag${labels({ ...of(s), unit: lag.unit })} ${lag.value}`] : [];
    }),
  );
  return `${out.join('\n')}\n`;
}
