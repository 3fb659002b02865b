import type { FastifyInstance } from 'fastify';
import type { Issue, PreviewRecord, Reject, SectionInput } from '../../core/api.js';
import { parseConfig } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import { compileMapper } from '../../core/mapping.js';
import { planSection } from '../../core/plan.js';
import type { ConfigIssue, SectionConfig, SluiceConfig } from '../../core/types.js';
import { applyConfig, resetCursor } from '../../engine/config-ops.js';
import type { Source } from '../../source/source.js';
import type { StoredIntegration, StoredSection } from '../../store/store.js';
import type { ServerContext } from '../context.js';
import { addRoute, issuesError } from '../route.js';
import { sectionViewOf } from '../views.js';
import { integrationDoc } from './integrations.js';

/** The config document of one section of a stored integration, checked like `sluice apply`. */
function sectionConfig(
  integration: StoredIntegration,
  body: SectionInput,
): { config: SluiceConfig; shapeIssues: ConfigIssue[] } {
  const parsed = parseConfig({ integration: integrationDoc(integration), sections: [body] });
  if (!parsed.config) throw issuesError(parsed.ok ? [] : parsed.issues);
  return { config: parsed.config, shapeIssues: parsed.ok ? [] : parsed.issues };
}

function unique(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.message) && seen.add(i.message));
}

function issues(list: ConfigIssue[]): Issue[] {
  return list.map((i) => ({
    code: i.code,
    field: i.field,
    message: i.message,
    ...(i.section !== undefined ? { section: i.section } : {}),
    ...(i.column !== undefined ? { column: i.column } : {}),
  }));
}

/**
 * Validates a section against the live schema and saves it with `applyConfig` of config-ops (the
 * code `sluice apply` runs): every problem is reported at once, and nothing is saved unless all
 * pass. Returns the warnings and whether the cursor went back to the start.
 */
async function saveSection(
  ctx: ServerContext,
  integration: StoredIntegration,
  body: SectionInput,
  source: Source,
): Promise<{ warnings: ConfigIssue[]; cursorReset: boolean }> {
  const { config, shapeIssues } = sectionConfig(integration, body);
  const outcome = await applyConfig(ctx.store, source, config, {
    prune: false,
    dryRun: shapeIssues.length > 0,
  });
  const errors = unique([...shapeIssues, ...outcome.errors]);
  if (errors.length > 0) throw issuesError(errors);
  const result = outcome.result?.sections.find((s) => s.name === body.name);
  await ctx.scheduler.refresh();
  return { warnings: outcome.warnings, cursorReset: result?.cursorReset ?? false };
}

async function sectionById(ctx: ServerContext, id: number): Promise<StoredSection> {
  const section = await ctx.store.getSection(id);
  if (!section) throw new SluiceError('NOT_FOUND', `section ${id} does not exist`);
  return section;
}

async function findByName(
  ctx: ServerContext,
  integration: string,
  name: string,
): Promise<StoredSection | undefined> {
  return (await ctx.store.listSections(integration)).find((s) => s.name === name);
}

/** A value read from MySQL, for JSON: text for binary, as MySQL prints it otherwise. */
function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'bigint') return v.toString();
  return v ?? null;
}

/** A copy without the keys whose value is undefined (absent targets stay absent in JSON). */
function compact<T extends object>(r: T): T {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as T;
}

/** Sections: save (validated like `sluice apply`), preview, run, re-sync, logs. */
export function sectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'getSection', async ({ params }) => ({
    section: await sectionViewOf(ctx, await sectionById(ctx, params.id)),
  }));

  addRoute(app, ctx, 'createSection', async ({ params, body, auth }) => {
    const integration = await ctx.integration(params.name);
    if ((await findByName(ctx, integration.name, body.name)) !== undefined) {
      throw new SluiceError(
        'CONFLICT',
        `integration "${integration.name}" already has a section named "${body.name}"`,
        { field: 'name' },
      );
    }
    const { warnings } = await ctx.withIntegration(integration.name, (source) =>
      saveSection(ctx, integration, body, source),
    );
    const section = await findByName(ctx, integration.name, body.name);
    if (!section) throw new SluiceError('INTERNAL', `section "${body.name}" was not saved`);
    await ctx.audit(auth, {
      action: 'section.create',
      integration: integration.name,
      detail: `created section ${section.name} (${section.dataType} from ${section.table})`,
      outcome: 'ok',
      result: null,
    });
    return { section: await sectionViewOf(ctx, section), warnings: issues(warnings) };
  });

  addRoute(app, ctx, 'updateSection', async ({ params, body, auth }) => {
    const stored = await sectionById(ctx, params.id);
    if (body.name !== stored.name) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `name: a section cannot be renamed (it is "${stored.name}"); add a new section instead`,
        { field: 'name' },
      );
    }
    const integration = await ctx.integration(stored.integration);
    // A body without `sink` (an older client, the settings page's toggles) keeps the stored one;
    // the stored sink holds no token, and naming neither token nor tokenEnv keeps the stored token.
    const input: SectionInput =
      body.sink === undefined && stored.sink !== undefined ? { ...body, sink: stored.sink } : body;
    const { warnings, cursorReset } = await ctx.withIntegration(integration.name, (source) =>
      saveSection(ctx, integration, input, source),
    );
    if (cursorReset) {
      warnings.push({
        code: 'cursor_reset',
        section: stored.name,
        field: body.table !== stored.table ? 'table' : 'key',
        message: `section "${stored.name}": the table or key changed, so the cursor went back to the start`,
      });
    }
    await ctx.audit(auth, {
      action: 'section.update',
      integration: integration.name,
      detail: `saved section ${stored.name}`,
      outcome: 'ok',
      result: null,
    });
    return {
      section: await sectionViewOf(ctx, await sectionById(ctx, stored.id)),
      warnings: issues(warnings),
    };
  });

  addRoute(app, ctx, 'deleteSection', async ({ params, auth }) => {
    const stored = await sectionById(ctx, params.id);
    await ctx.store.deleteSection(stored.id);
    await ctx.scheduler.refresh();
    await ctx.audit(auth, {
      action: 'section.delete',
      integration: stored.integration,
      detail: `deleted section ${stored.name} with its runs and data`,
      outcome: 'ok',
      result: null,
    });
    return { ok: true as const };
  });

  addRoute(app, ctx, 'previewSection', async ({ params, query, body }) => {
    const integration = await ctx.integration(params.name);
    const { config, shapeIssues } = sectionConfig(integration, body);
    const section = config.sections[0] as SectionConfig;
    return ctx.withIntegration(integration.name, async (source) => {
      const table = await source.describeTable(section.table);
      const planned = planSection(section, table, integration.mysql.database);
      const errors = unique([...shapeIssues, ...planned.errors]);
      if (errors.length > 0 || !planned.plan) throw issuesError(errors);
      const plan = planned.plan;
      // The first rows by key, as a first sync would read them; nothing is written.
      const rows = await source.readAfter(plan, null, query.limit);
      const { records, rejects } = compileMapper(section, plan).map(rows, new Date().toISOString());
      return {
        columns: plan.columns,
        rows: rows.map((row) =>
          Object.fromEntries(plan.columns.map((c, i) => [c, jsonValue(row[i])])),
        ),
        records: records.map((r): PreviewRecord => compact(r)),
        rejects: rejects.map((r): Reject => compact(r)),
        warnings: issues(planned.warnings),
      };
    });
  });

  addRoute(app, ctx, 'runSection', async ({ params, auth }) => {
    const section = await sectionById(ctx, params.id);
    await ctx.scheduler.trigger(section.id, `api:${auth.user.email}`);
    await ctx.audit(auth, {
      action: 'section.run',
      integration: section.integration,
      detail: `ran section ${section.name}`,
      outcome: 'ok',
      result: null,
    });
    return { queued: true as const, sectionId: section.id };
  });

  addRoute(app, ctx, 'resyncSection', async ({ params, body, auth }) => {
    const section = await sectionById(ctx, params.id);
    const integration = await ctx.integration(section.integration);
    if (!integration.enabled || section.direction !== 'receive') {
      throw new SluiceError(
        'SECTION_OFF',
        `section "${section.name}" cannot re-sync: ${!integration.enabled ? `integration "${integration.name}" is off` : 'its direction is off (not syncing)'}`,
      );
    }
    // A run going on would move the cursor past the new point with its next batch.
    if (ctx.scheduler.status().some((s) => s.sectionId === section.id && s.state === 'running')) {
      throw new SluiceError(
        'SECTION_LOCKED',
        `section "${section.name}" is running now: re-sync once the run has ended`,
      );
    }
    let moved = { from: section.cursor, to: section.cursor };
    if (body.from === 'start') {
      await ctx.store.setCursor(section.id, null);
      moved = { from: section.cursor, to: null };
    } else if (body.from === 'key') {
      const key = body.key ?? '';
      try {
        moved = await ctx.withIntegration(integration.name, (source) =>
          resetCursor(ctx.store, source, section, key),
        );
      } catch (err) {
        if (err instanceof SluiceError && err.code === 'KEY_INVALID') {
          throw new SluiceError('KEY_INVALID', err.message, { field: 'key' });
        }
        throw err;
      }
    }
    await ctx.scheduler.trigger(section.id, `resync:${auth.user.email}`);
    await ctx.audit(auth, {
      action: 'section.resync',
      integration: section.integration,
      detail: `re-sync of section ${section.name} from ${body.from === 'key' ? `key ${body.key ?? ''}` : body.from}: cursor ${moved.from ?? '(start)'} -> ${moved.to ?? '(start)'}`,
      outcome: 'ok',
      result: null,
    });
    return {
      queued: true as const,
      sectionId: section.id,
      cursorBefore: moved.from,
      cursorAfter: moved.to,
    };
  });

  addRoute(app, ctx, 'listRuns', async ({ params, query }) => {
    const section = await sectionById(ctx, params.id);
    return { runs: await ctx.store.listRuns({ sectionId: section.id, limit: query.limit }) };
  });

  addRoute(app, ctx, 'listRejects', async ({ params, query }) => {
    const run = await ctx.store.getRun(params.id);
    if (!run) throw new SluiceError('NOT_FOUND', `run ${params.id} does not exist`);
    const rejects = await ctx.store.listRejects({
      sectionId: run.sectionId,
      runId: run.id,
      limit: query.limit,
    });
    return { rejects };
  });
}
