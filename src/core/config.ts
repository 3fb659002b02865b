import { z } from 'zod';
import type { ConfigIssue, SectionConfig, SinkConfig, SluiceConfig } from './types.js';
import { DATA_TYPES, DIRECTIONS, MODELS, PLANHAT_BASE_URL, SINK_TYPES } from './types.js';
import { parseSchedule } from './schedule.js';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_SCHEDULE,
  MAX_BATCH_SIZE,
  checkSectionShape,
  parseModel,
} from './section-shape.js';

const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'use letters, digits, space, dot, dash or underscore');

const identifierSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'MySQL identifiers are at most 64 characters')
  .refine((s) => !s.includes('\0'), 'must not contain NUL');

const sslSchema = z.union([
  z.literal('required').transform(() => ({ mode: 'required' as const })),
  z
    .object({
      mode: z.enum(['required', 'verify-ca']),
      ca: z.string().min(1).optional(),
    })
    .strict()
    .refine((s) => s.mode !== 'verify-ca' || s.ca !== undefined, {
      message: 'verify-ca needs `ca`: the path of a PEM file with the CA certificate',
      path: ['ca'],
    }),
]);

const mysqlSchema = z
  .object({
    host: z.string().min(1, 'must not be empty'),
    port: z.number().int().min(1).max(65535).default(3306),
    user: z.string().min(1, 'must not be empty'),
    password: z.string().optional(),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    database: identifierSchema,
    ssl: sslSchema.optional(),
  })
  .strict()
  .refine((m) => !(m.password !== undefined && m.passwordEnv !== undefined), {
    message: 'give either password or passwordEnv, not both',
    path: ['password'],
  });

/** An alert webhook: an absolute http(s) URL. */
const webhookSchema = z.string().superRefine((s, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not an http(s) URL (like https://hooks.example.com/sluice)`,
    });
  }
});

const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const httpUrlSchema = z.string().superRefine((s, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not an http(s) URL (like ${PLANHAT_BASE_URL})`,
    });
  }
});

const sinkSchema = z
  .object({
    type: z.enum(SINK_TYPES),
    planhat: z
      .object({
        baseUrl: httpUrlSchema.default(PLANHAT_BASE_URL),
        tokenEnv: envNameSchema.optional(),
        token: z.string().min(1, 'must not be empty').optional(),
      })
      .strict()
      .refine((p) => !(p.token !== undefined && p.tokenEnv !== undefined), {
        message: 'give either token or tokenEnv, not both',
        path: ['token'],
      })
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.type === 'store') return;
    // Neither token nor tokenEnv keeps the token stored before (an exported file names neither).
    if (s.planhat === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['planhat'],
        message: `sink type ${s.type} needs planhat: { tokenEnv: NAME } (or token), and baseUrl unless it is ${PLANHAT_BASE_URL}`,
      });
    }
  });

const integrationAlertsSchema = z.object({ webhook: webhookSchema.optional() }).strict();

const sectionAlertsSchema = z
  .object({
    webhook: webhookSchema.optional(),
    rejectThreshold: z
      .number()
      .int('must be a whole number of rejected rows')
      .min(0, 'must be 0 or more')
      .optional(),
  })
  .strict();

const sectionSchema = z
  .object({
    name: nameSchema,
    dataType: z.enum(DATA_TYPES),
    direction: z.enum(DIRECTIONS).default('receive'),
    table: identifierSchema,
    key: identifierSchema,
    batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).default(DEFAULT_BATCH_SIZE),
    schedule: z
      .string()
      .default(DEFAULT_SCHEDULE)
      .superRefine((s, ctx) => {
        const parsed = parseSchedule(s);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
      }),
    model: z
      .string()
      .optional()
      .transform((m, ctx) => {
        if (m === undefined) return undefined;
        const model = parseModel(m);
        if (!model) {
          ctx.addIssue({ code: 'custom', message: `must be one of ${MODELS.join(', ')}` });
          return z.NEVER;
        }
        return model;
      }),
    mapping: z.record(z.string(), identifierSchema),
    info: z.array(identifierSchema).default([]),
    lookback: z.union([z.string(), z.number()]).transform(String).optional(),
    alerts: sectionAlertsSchema.optional(),
    sink: sinkSchema.optional(),
  })
  .strict();

const configSchema = z
  .object({
    integration: z
      .object({
        name: nameSchema,
        mysql: mysqlSchema,
        enabled: z.boolean().default(true),
        alerts: integrationAlertsSchema.optional(),
        sink: sinkSchema.optional(),
      })
      .strict(),
    sections: z.array(sectionSchema).default([]),
  })
  .strict();

/**
 * `config` is present whenever the document has the right shape, even with issues, so a caller
 * can go on to check it against the live schema and report every problem at once.
 */
export type ConfigResult =
  { ok: true; config: SluiceConfig } | { ok: false; issues: ConfigIssue[]; config?: SluiceConfig };

/**
 * Validates a parsed YAML/JSON document against the config schema, then the rules that need
 * more than one field: known and mandatory mapping targets per data type, unique section names.
 * Every issue names the section and the field at fault.
 */
export function parseConfig(input: unknown): ConfigResult {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.map((i) => zodIssue(input, i)) };
  }
  const { integration, sections: rawSections } = parsed.data;
  const sections: SectionConfig[] = rawSections.map((s) => {
    const section: SectionConfig = {
      name: s.name,
      dataType: s.dataType,
      direction: s.direction,
      table: s.table,
      key: s.key,
      batchSize: s.batchSize,
      schedule: s.schedule,
      mapping: s.mapping,
      info: s.info,
    };
    if (s.dataType === 'metrics') section.model = s.model ?? 'Company';
    else if (s.model !== undefined) section.model = s.model;
    if (s.lookback !== undefined) section.lookback = s.lookback;
    const alerts = definedOnly(s.alerts);
    if (alerts !== undefined) section.alerts = alerts;
    // The integration's sink is the default of its sections; each section stores its own.
    const sink = toSink(s.sink ?? integration.sink);
    if (sink !== undefined) section.sink = sink;
    return section;
  });
  const issues = sections.flatMap((s) => checkSectionShape(s));
  const seen = new Set<string>();
  for (const s of sections) {
    if (seen.has(s.name)) {
      issues.push({
        code: 'duplicate_section',
        section: s.name,
        field: 'name',
        message: `section "${s.name}": name is used by another section of this integration`,
      });
    }
    seen.add(s.name);
  }
  const mysql: SluiceConfig['integration']['mysql'] = {
    host: integration.mysql.host,
    port: integration.mysql.port,
    user: integration.mysql.user,
    database: integration.mysql.database,
  };
  if (integration.mysql.password !== undefined) mysql.password = integration.mysql.password;
  if (integration.mysql.passwordEnv !== undefined)
    mysql.passwordEnv = integration.mysql.passwordEnv;
  if (integration.mysql.ssl !== undefined) mysql.ssl = integration.mysql.ssl;
  const config: SluiceConfig = {
    integration: { name: integration.name, enabled: integration.enabled, mysql },
    sections,
  };
  const integrationAlerts = definedOnly(integration.alerts);
  if (integrationAlerts !== undefined) config.integration.alerts = integrationAlerts;
  return issues.length > 0 ? { ok: false, issues, config } : { ok: true, config };
}

function zodIssue(input: unknown, issue: z.core.$ZodIssue): ConfigIssue {
  const path = issue.path.map(String);
  let section: string | undefined;
  let field = path.join('.') || '(root)';
  if (path[0] === 'sections' && path[1] !== undefined) {
    const raw = (input as { sections?: unknown[] } | null)?.sections?.[Number(path[1])];
    const rawName = (raw as { name?: unknown } | undefined)?.name;
    section = typeof rawName === 'string' ? rawName : `#${Number(path[1]) + 1}`;
    field = path.slice(2).join('.') || '(section)';
  }
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
  // zod leaves `issue.input` unset unless asked to report inputs, so look at the document itself:
  // only a field that is really absent "is required"; a wrong value keeps zod's message.
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    message = 'is required';
  }
  const where = section !== undefined ? `section "${section}": ${field}` : field;
  return {
    code: 'config_invalid',
    ...(section !== undefined ? { section } : {}),
    field,
    message: `${where}: ${message}`,
  };
}

/** A parsed sink without its unset fields; undefined for the default (the store alone). */
function toSink(parsed: z.infer<typeof sinkSchema> | undefined): SinkConfig | undefined {
  if (parsed === undefined || parsed.type === 'store') return undefined;
  const sink: SinkConfig = { type: parsed.type };
  if (parsed.planhat !== undefined) {
    sink.planhat = { baseUrl: parsed.planhat.baseUrl.replace(/\/+$/, '') };
    if (parsed.planhat.tokenEnv !== undefined) sink.planhat.tokenEnv = parsed.planhat.tokenEnv;
    if (parsed.planhat.token !== undefined) sink.planhat.token = parsed.planhat.token;
  }
  return sink;
}

/** The fields of an alerts block that are set; undefined when none is (`alerts: {}` means no alerts). */
function definedOnly<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as T) : undefined;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
