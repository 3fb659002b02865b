/**
 * Integrations and sections as the API shows them: config, cursor, totals and status, put
 * together from the store (stats, last runs), the scheduler's state and the run totals.
 */
import type { IntegrationView, SectionStatus, SectionView, SinkView } from '../core/api.js';
import type { RunRecord } from '../core/types.js';
import type { SectionSchedule } from '../scheduler/scheduler.js';
import type { SectionStats, StoredIntegration, StoredSection } from '../store/store.js';
import type { ServerContext } from './context.js';

interface Facts {
  stats: Map<string, SectionStats>;
  schedules: Map<number, SectionSchedule>;
  lastSuccess: Map<number, string>;
  enabled: Map<string, boolean>;
}

async function facts(ctx: ServerContext): Promise<Facts> {
  const [stats, totals, integrations] = await Promise.all([
    ctx.store.stats(),
    ctx.data.runTotals(),
    ctx.store.listIntegrations(),
  ]);
  const lastSuccess = new Map<number, string>();
  for (const t of totals) {
    if (t.status === 'succeeded' && t.lastFinishedAt !== null) {
      lastSuccess.set(t.sectionId, t.lastFinishedAt);
    }
  }
  return {
    stats: new Map(stats.map((s) => [`${s.integration}\u0000${s.name}`, s])),
    schedules: new Map(ctx.scheduler.status().map((s) => [s.sectionId, s])),
    lastSuccess,
    enabled: new Map(integrations.map((i) => [i.name, i.enabled])),
  };
}

function status(section: StoredSection, f: Facts): SectionStatus {
  const stats = f.stats.get(`${section.integration}\u0000${section.name}`);
  const schedule = f.schedules.get(section.id);
  const lastRun: RunRecord | null = stats?.lastRun ?? null;
  const off = section.direction !== 'receive' || f.enabled.get(section.integration) === false;
  // A run started by another process (`sluice sync`) shows as running too.
  const running = schedule?.state === 'running' || lastRun?.status === 'running';
  const failing = (schedule?.failures ?? 0) > 0 || lastRun?.status === 'failed';
  const lastFailed = lastRun?.status === 'failed' ? lastRun : null;
  return {
    state: running ? 'running' : off ? 'off' : failing ? 'failing' : 'active',
    scheduler: schedule?.state ?? null,
    nextRunAt: off ? null : (schedule?.nextRunAt ?? null),
    lastRunAt: lastRun?.startedAt ?? schedule?.lastRunAt ?? null,
    lastSuccessAt: f.lastSuccess.get(section.id) ?? null,
    failures: schedule?.failures ?? (lastFailed ? 1 : 0),
    lastError: lastFailed?.error ?? schedule?.lastError ?? null,
    lastErrorCode: lastFailed?.errorCode ?? null,
    lastRun,
  };
}

function sectionView(section: StoredSection, f: Facts): SectionView {
  const stats = f.stats.get(`${section.integration}\u0000${section.name}`);
  const view: SectionView = {
    id: section.id,
    integration: section.integration,
    name: section.name,
    dataType: section.dataType,
    direction: section.direction,
    table: section.table,
    key: section.key,
    batchSize: section.batchSize,
    schedule: section.schedule,
    mapping: section.mapping,
    info: section.info,
    cursor: section.cursor,
    landed: stats?.landed ?? 0,
    rejected: stats?.rejected ?? 0,
    createdAt: section.createdAt,
    updatedAt: section.updatedAt,
    status: status(section, f),
  };
  if (section.model !== undefined) view.model = section.model;
  if (section.lookback !== undefined) view.lookback = section.lookback;
  if (section.alerts !== undefined) view.alerts = section.alerts;
  const sink = sinkView(section);
  if (sink !== undefined) view.sink = sink;
  return view;
}

/** A section's sink as the API shows it: never the token, only whether one is stored. */
function sinkView(section: StoredSection): SinkView | undefined {
  if (section.sink === undefined) return undefined;
  const view: SinkView = { type: section.sink.type };
  const planhat = section.sink.planhat;
  if (planhat !== undefined) {
    view.planhat = { baseUrl: planhat.baseUrl, hasToken: section.sinkHasToken === true };
    if (planhat.tokenEnv !== undefined) view.planhat.tokenEnv = planhat.tokenEnv;
  }
  return view;
}

function integrationView(
  integration: StoredIntegration,
  sections: StoredSection[],
  f: Facts,
): IntegrationView {
  const view: IntegrationView = {
    id: integration.id,
    name: integration.name,
    enabled: integration.enabled,
    mysql: integration.mysql,
    hasPassword: integration.hasPassword,
    createdAt: integration.createdAt,
    updatedAt: integration.updatedAt,
    sections: sections
      .filter((s) => s.integration === integration.name)
      .map((s) => sectionView(s, f)),
  };
  if (integration.alerts !== undefined) view.alerts = integration.alerts;
  return view;
}

export async function listIntegrationViews(ctx: ServerContext): Promise<IntegrationView[]> {
  const [integrations, sections, f] = await Promise.all([
    ctx.store.listIntegrations(),
    ctx.store.listSections(),
    facts(ctx),
  ]);
  return integrations.map((i) => integrationView(i, sections, f));
}

export async function integrationViewOf(
  ctx: ServerContext,
  integration: StoredIntegration,
): Promise<IntegrationView> {
  const [sections, f] = await Promise.all([ctx.store.listSections(integration.name), facts(ctx)]);
  return integrationView(integration, sections, f);
}

export async function sectionViewOf(
  ctx: ServerContext,
  section: StoredSection,
): Promise<SectionView> {
  return sectionView(section, await facts(ctx));
}
