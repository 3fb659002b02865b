import { SluiceError } from '../core/errors.js';
import { checkKeyValue, keyTypeOf } from '../core/keys.js';
import { planSection } from '../core/plan.js';
import type { ConfigIssue, SluiceConfig } from '../core/types.js';
import type { Source } from '../source/source.js';
import type { ApplyResult, Store, StoredSection } from '../store/store.js';

export interface ApplyOutcome {
  ok: boolean;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /** Present when saved (ok and not a dry run). */
  result?: ApplyResult;
}

/**
 * Validates every section of a config against the live MySQL schema and, only when all pass,
 * saves the integration and its sections in one store transaction. Never throws for invalid
 * sections: they come back as errors and nothing is saved.
 */
export async function applyConfig(
  store: Store,
  source: Source,
  config: SluiceConfig,
  options: { prune?: boolean; dryRun?: boolean } = {},
): Promise<ApplyOutcome> {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const tables = new Map<string, Awaited<ReturnType<Source['describeTable']>>>();
  for (const section of config.sections) {
    if (!tables.has(section.table))
      tables.set(section.table, await source.describeTable(section.table));
    const planned = planSection(
      section,
      tables.get(section.table),
      config.integration.mysql.database,
    );
    errors.push(...planned.errors);
    warnings.push(...planned.warnings);
  }
  if (errors.length > 0 || options.dryRun) return { ok: errors.length === 0, errors, warnings };
  const result = await store.applyConfig(config.integration, config.sections, {
    prune: options.prune ?? false,
  });
  return { ok: true, errors, warnings, result };
}

/** The YAML of one integration as applied: the password appears as its env name, never the secret. */
export async function exportConfig(store: Store, integrationName?: string): Promise<string> {
  const integrations = (await store.listIntegrations()).filter(
    (i) => integrationName === undefined || i.name === integrationName,
  );
  if (integrationName !== undefined && integrations.length === 0) {
    throw new SluiceError('NOT_FOUND', `no integration named "${integrationName}"`);
  }
  // Loaded here: every CLI command imports this module, and only `export` prints YAML.
  const { stringify } = await import('yaml');
  const docs: string[] = [];
  for (const integration of integrations) {
    const sections = await store.listSections(integration.name);
    const mysql: Record<string, unknown> = {
      host: integration.mysql.host,
      port: integration.mysql.port,
      user: integration.mysql.user,
    };
    if (integration.mysql.passwordEnv !== undefined)
      mysql.passwordEnv = integration.mysql.passwordEnv;
    mysql.database = integration.mysql.database;
    if (integration.mysql.ssl !== undefined) mysql.ssl = integration.mysql.ssl;
    const doc = {
      integration: {
        name: integration.name,
        enabled: integration.enabled,
        mysql,
        ...(integration.alerts !== undefined ? { alerts: integration.alerts } : {}),
      },
      sections: sections.map((s) => {
        const out: Record<string, unknown> = {
          name: s.name,
          dataType: s.dataType,
          direction: s.direction,
        };
        if (s.model !== undefined) out.model = s.model;
        Object.assign(out, {
          table: s.table,
          key: s.key,
          batchSize: s.batchSize,
          schedule: s.schedule,
          mapping: s.mapping,
        });
        if (s.info.length > 0) out.info = s.info;
        if (s.lookback !== undefined) out.lookback = s.lookback;
        if (s.alerts !== undefined) out.alerts = s.alerts;
        // The sink's token is exported as its env name only; a stored literal stays in Sluice.
        if (s.sink !== undefined) out.sink = s.sink;
        return out;
      }),
    };
    let text = stringify(doc, { lineWidth: 0 });
    if (
      sections.some((s) => s.sink?.planhat !== undefined && s.sink.planhat.tokenEnv === undefined)
    ) {
      text = `# Planhat tenant tokens stored in Sluice are encrypted and not exported; applying this file keeps them.\n${text}`;
    }
    if (integration.hasPassword && integration.mysql.passwordEnv === undefined) {
      text = `# The MySQL password is stored encrypted in Sluice and not exported; applying this file keeps it.\n${text}`;
    }
    docs.push(text);
  }
  return docs.join('---\n');
}

/** Finds a section by name (and integration, when names repeat across integrations). */
export async function findSection(
  store: Store,
  name: string,
  integration?: string,
): Promise<StoredSection> {
  const matches = (await store.listSections(integration)).filter((s) => s.name === name);
  if (matches.length === 0) {
    throw new SluiceError(
      'NOT_FOUND',
      `no section named "${name}"${integration ? ` in integration "${integration}"` : ''}`,
    );
  }
  if (matches.length > 1) {
    throw new SluiceError(
      'NOT_FOUND',
      `section "${name}" exists in several integrations (${matches.map((m) => m.integration).join(', ')}): name one with --integration`,
    );
  }
  return matches[0] as StoredSection;
}

/**
 * Moves a section's cursor back (or to the start with `to` null). The key is checked against the
 * key column's type first; rows landed before are recognised by identity and not landed again.
 */
export async function resetCursor(
  store: Store,
  source: Source,
  section: StoredSection,
  to: string | null,
): Promise<{ from: string | null; to: string | null }> {
  if (to !== null) {
    const table = await source.describeTable(section.table);
    const column = table?.columns.find((c) => c.name === section.key);
    const type = column ? keyTypeOf(column) : undefined;
    if (!type) {
      throw new SluiceError(
        'SECTION_INVALID',
        `section "${section.name}": key column "${section.key}" is missing from table "${section.table}"`,
      );
    }
    const problem = checkKeyValue(type.kind, to);
    if (problem !== undefined) {
      throw new SluiceError(
        'KEY_INVALID',
        `section "${section.name}": --to "${to}" ${problem} (key column "${section.key}" is ${column?.columnType})`,
      );
    }
  }
  await store.setCursor(section.id, to);
  return { from: section.cursor, to };
}
