/**
 * What a section may map and the rules of its shape that need no database: the part of the
 * config contract the engine uses on every run. Free of the schema library, so the sync path
 * does not load it (config.ts validates config files with zod and re-exports these).
 */
import type { ConfigIssue, Model, SectionConfig } from './types.js';
import { MODELS } from './types.js';

/** Targets a section may map, per data type, and which of them are mandatory. */
export const ACTIVITY_TARGETS = [
  'email',
  'externalId',
  'name',
  'companyExternalId',
  'action',
  'weight',
  'date',
] as const;
export const METRIC_TARGETS = ['dimensionId', 'value', 'externalId', 'date'] as const;
/** Mandatory mapping rules per data type; `a|b` means one of them. */
export const MANDATORY_TARGETS = {
  activities: ['email|externalId'],
  metrics: ['dimensionId', 'value', 'externalId'],
} as const;

/** Default rows per batch (one keyset query, one commit). */
export const DEFAULT_BATCH_SIZE = 10_000;
/** Largest batch accepted: bounds memory per batch. */
export const MAX_BATCH_SIZE = 100_000;
export const DEFAULT_SCHEDULE = 'every 1h';

const MODEL_ALIASES: Record<string, Model> = Object.fromEntries([
  ...MODELS.map((m) => [m.toLowerCase(), m] as const),
  ['enduser', 'Enduser'] as const,
]);

/** Parses `Company`, `EndUser`, `enduser`, ... into the canonical model name. */
export function parseModel(input: string): Model | undefined {
  return MODEL_ALIASES[input.trim().toLowerCase()];
}

/** Rules of one section that need no database: targets known for the data type, mandatory ones mapped. */
export function checkSectionShape(s: SectionConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = `section "${s.name}"`;
  const targets: readonly string[] =
    s.dataType === 'activities' ? ACTIVITY_TARGETS : METRIC_TARGETS;
  for (const [target, column] of Object.entries(s.mapping)) {
    if (!targets.includes(target)) {
      issues.push({
        code: 'unknown_target',
        section: s.name,
        field: `mapping.${target}`,
        column,
        message: `${at}: mapping target "${target}" is not a ${s.dataType} field (known: ${targets.join(', ')})`,
      });
    }
  }
  if (s.dataType === 'activities') {
    if (s.mapping.email === undefined && s.mapping.externalId === undefined) {
      issues.push({
        code: 'missing_target',
        section: s.name,
        field: 'mapping',
        message: `${at}: activities need "email" or "externalId" mapped to a column`,
      });
    }
    if (s.model !== undefined) {
      issues.push({
        code: 'model_not_allowed',
        section: s.name,
        field: 'model',
        message: `${at}: model applies to metrics only (activities always land on endusers)`,
      });
    }
  } else {
    for (const target of ['dimensionId', 'value', 'externalId']) {
      if (s.mapping[target] === undefined) {
        issues.push({
          code: 'missing_target',
          section: s.name,
          field: `mapping.${target}`,
          message: `${at}: metrics need "${target}" mapped to a column`,
        });
      }
    }
    if (s.info.length > 0) {
      issues.push({
        code: 'info_not_allowed',
        section: s.name,
        field: 'info',
        message: `${at}: info columns apply to activities only`,
      });
    }
  }
  if (s.lookback !== undefined && s.sink !== undefined && s.sink.type !== 'store') {
    // The store tells a re-read row by its row id and skips it; an endpoint keeps no such id, so
    // every run would send the window's rows to it again.
    issues.push({
      code: 'lookback_with_sink',
      section: s.name,
      field: 'lookback',
      message: `${at}: lookback cannot go with a Planhat sink (type ${s.sink.type}): each run would send the rows it re-reads again, and the endpoint would count them twice; leave lookback out, or keep the section in the store (sink type store)`,
    });
  }
  return issues;
}
