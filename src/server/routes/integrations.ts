import type { FastifyInstance } from 'fastify';
import type { ColumnView, TestConnectionResponse } from '../../core/api.js';
import { parseConfig } from '../../core/config.js';
import { SluiceError, isSluiceError } from '../../core/errors.js';
import { MAX_KEY_LENGTH, keyTypeOf } from '../../core/keys.js';
import type { IndexInfo, MysqlConfig, TableInfo } from '../../core/types.js';
import type { StoredIntegration } from '../../store/store.js';
import type { ServerContext } from '../context.js';
import { addRoute, issuesError } from '../route.js';
import { integrationViewOf, listIntegrationViews } from '../views.js';

/**
 * An integration as the `integration` block of a YAML file, without its password: applying it
 * keeps the stored password (or passwordEnv), as `sluice apply` does when the file names neither.
 */
export function integrationDoc(i: StoredIntegration): Record<string, unknown> {
  const mysql: Record<string, unknown> = {
    host: i.mysql.host,
    port: i.mysql.port,
    user: i.mysql.user,
    database: i.mysql.database,
  };
  if (i.mysql.ssl !== undefined) mysql.ssl = i.mysql.ssl;
  return {
    name: i.name,
    enabled: i.enabled,
    mysql,
    ...(i.alerts !== undefined ? { alerts: i.alerts } : {}),
  };
}

/** Saves an integration document (the YAML shape) exactly as `sluice apply` would, without sections. */
async function saveIntegration(ctx: ServerContext, doc: Record<string, unknown>): Promise<void> {
  const parsed = parseConfig({ integration: doc, sections: [] });
  if (!parsed.ok) throw issuesError(parsed.issues, 'integration.');
  await ctx.store.applyConfig(parsed.config.integration, []);
  await ctx.scheduler.refresh();
}

async function tryConnect(
  ctx: ServerContext,
  mysql: MysqlConfig,
  password: () => Promise<string>,
): Promise<TestConnectionResponse> {
  try {
    const source = await ctx.openSource(mysql, await password());
    const server = source.server;
    await source.close().catch(() => undefined);
    return { ok: true, server };
  } catch (err) {
    if (isSluiceError(err)) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

function columnViews(table: TableInfo): ColumnView[] {
  const indexes: IndexInfo[] =
    table.primaryKey.length > 0
      ? [{ name: 'PRIMARY', unique: true, columns: table.primaryKey }, ...table.indexes]
      : table.indexes;
  return table.columns.map((c) => {
    const type = keyTypeOf(c);
    const candidate = type !== undefined && type.maxLength <= MAX_KEY_LENGTH;
    const indexed = indexes.some((ix) => ix.columns[0] === c.name);
    const warnings: string[] = [];
    if (candidate && !indexed && table.kind === 'table') {
      warnings.push('no index starts with this column, so each sync would scan the table');
    }
    if (candidate && c.nullable)
      warnings.push('allows NULL: rows with a NULL key are never synced');
    return {
      name: c.name,
      dataType: c.dataType,
      columnType: c.columnType,
      nullable: c.nullable,
      keyCandidate: candidate,
      keyKind: candidate ? type.kind : null,
      indexed,
      warning: warnings.length > 0 ? warnings.join('; ') : null,
    };
  });
}

/** Integrations: the MySQL card, its connection test and toggle, and the schema browser. */
export function integrationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  addRoute(app, ctx, 'listIntegrations', async () => ({
    integrations: await listIntegrationViews(ctx),
  }));

  addRoute(app, ctx, 'getIntegration', async ({ params }) => ({
    integration: await integrationViewOf(ctx, await ctx.integration(params.name)),
  }));

  addRoute(app, ctx, 'createIntegration', async ({ body, auth }) => {
    if ((await ctx.store.getIntegration(body.name)) !== undefined) {
      throw new SluiceError('CONFLICT', `an integration named "${body.name}" exists`, {
        field: 'name',
      });
    }
    await saveIntegration(ctx, body);
    await ctx.audit(auth, {
      action: 'integration.create',
      integration: body.name,
      detail: `created integration ${body.name} (${body.mysql.host}/${body.mysql.database})`,
      outcome: 'ok',
      result: null,
    });
    return { integration: await integrationViewOf(ctx, await ctx.integration(body.name)) };
  });

  addRoute(app, ctx, 'updateIntegration', async ({ params, body, auth }) => {
    const stored = await ctx.integration(params.name);
    const doc = integrationDoc(stored);
    const change = body.mysql ?? {};
    const mysql = doc.mysql as Record<string, unknown>;
    for (const key of ['host', 'port', 'user', 'database'] as const) {
      if (change[key] !== undefined) mysql[key] = change[key];
    }
    if (change.ssl === null) delete mysql.ssl;
    else if (change.ssl !== undefined) mysql.ssl = change.ssl;
    if (change.password !== undefined) mysql.password = change.password;
    if (change.passwordEnv !== undefined && change.passwordEnv !== null) {
      mysql.passwordEnv = change.passwordEnv;
    } else if (
      change.passwordEnv === null &&
      change.password === undefined &&
      stored.mysql.passwordEnv !== undefined
    ) {
      // No variable any more and no new password: connect with an empty one.
      mysql.password = '';
    }
    if (body.enabled !== undefined) doc.enabled = body.enabled;
    if (body.alerts === null) delete doc.alerts;
    else if (body.alerts !== undefined) doc.alerts = body.alerts;
    await saveIntegration(ctx, doc);
    const changed = [
      ...Object.keys(change),
      ...(body.enabled !== undefined ? [`enabled=${body.enabled}`] : []),
      ...(body.alerts !== undefined ? ['alerts'] : []),
    ];
    await ctx.audit(auth, {
      action: 'integration.update',
      integration: stored.name,
      detail: `changed ${changed.join(', ') || 'nothing'}`,
      outcome: 'ok',
      result: null,
    });
    return { integration: await integrationViewOf(ctx, await ctx.integration(stored.name)) };
  });

  addRoute(app, ctx, 'deleteIntegration', async ({ params, auth }) => {
    if (!(await ctx.store.deleteIntegration(params.name))) {
      throw new SluiceError('NOT_FOUND', `no integration named "${params.name}"`);
    }
    await ctx.scheduler.refresh();
    await ctx.audit(auth, {
      action: 'integration.delete',
      integration: params.name,
      detail: `deleted integration ${params.name} with its sections and data`,
      outcome: 'ok',
      result: null,
    });
    return { ok: true as const };
  });

  addRoute(app, ctx, 'testIntegrationConnection', async ({ params, body, auth }) => {
    const stored = await ctx.integration(params.name);
    const mysql: MysqlConfig = { ...stored.mysql, user: body.user ?? stored.mysql.user };
    delete mysql.passwordEnv;
    const result = await tryConnect(ctx, mysql, async () =>
      body.password !== undefined ? body.password : ctx.deps.passwordFor(stored),
    );
    if (result.ok && body.save && (body.user !== undefined || body.password !== undefined)) {
      const doc = integrationDoc(stored);
      const m = doc.mysql as Record<string, unknown>;
      m.user = mysql.user;
      if (body.password !== undefined) m.password = body.password;
      await saveIntegration(ctx, doc);
      await ctx.audit(auth, {
        action: 'integration.credentials',
        integration: stored.name,
        detail: `set the MySQL user (${mysql.user})${body.password !== undefined ? ' and password' : ''}`,
        outcome: 'ok',
        result: null,
      });
    }
    return result;
  });

  addRoute(app, ctx, 'testConnection', async ({ body }) => {
    const mysql: MysqlConfig = {
      host: body.host,
      port: body.port ?? 3306,
      user: body.user,
      database: body.database,
      ...(body.ssl !== undefined ? { ssl: body.ssl } : {}),
    };
    return tryConnect(ctx, mysql, async () => body.password ?? '');
  });

  addRoute(app, ctx, 'listTables', async ({ params }) => ({
    tables: await ctx.withIntegration(params.name, (source) => source.listTables()),
  }));

  addRoute(app, ctx, 'describeTable', async ({ params }) => {
    const table = await ctx.withIntegration(params.name, (source) =>
      source.describeTable(params.table),
    );
    if (table === undefined) {
      throw new SluiceError(
        'NOT_FOUND',
        `table "${params.table}" does not exist in integration "${params.name}"`,
        { field: 'table' },
      );
    }
    return {
      table: {
        name: table.name,
        kind: table.kind,
        columns: columnViews(table),
        primaryKey: table.primaryKey,
        indexes: table.indexes,
      },
    };
  });
}
