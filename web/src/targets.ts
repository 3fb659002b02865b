import { MAPPING_TARGETS, type SectionInput } from '../../src/core/api';

type DataType = SectionInput['dataType'];

/** What each Sluice field means, for the left-hand side of a mapping row. */
const DESCRIPTIONS: Record<DataType, Record<string, string>> = {
  activities: {
    email: 'Email of the enduser',
    externalId: 'externalId of the enduser',
    name: 'Name of the enduser',
    companyExternalId: 'externalId of the enduser’s company',
    action: 'Name of the event (login, feature-click, …)',
    weight: 'Multiplies the count of the activity (default 1)',
    date: 'When it happened (default: time of ingestion)',
  },
  metrics: {
    dimensionId: 'Name of the metric',
    value: 'Value of the metric (a number)',
    externalId: 'externalId of the company, enduser, project or asset',
    date: 'Day the metric registers on (default: time of ingestion)',
  },
};

export interface TargetInfo {
  name: string;
  description: string;
  mandatory: boolean;
}

/** The fields a section of this data type can map, mandatory ones first. */
export function targetsFor(dataType: DataType): TargetInfo[] {
  const spec = MAPPING_TARGETS[dataType];
  const mandatory = new Set<string>(spec.mandatory.flatMap((m) => m.split('|')));
  return spec.targets.map((name) => ({
    name,
    description: DESCRIPTIONS[dataType][name] ?? '',
    mandatory: mandatory.has(name),
  }));
}

/** The mandatory rule in words: "email or externalId", "dimensionId, value and externalId". */
export function mandatoryText(dataType: DataType): string {
  const parts = MAPPING_TARGETS[dataType].mandatory.map((m) => m.split('|').join(' or '));
  return parts.length <= 1
    ? (parts[0] ?? '')
    : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** Mandatory rules not met by a mapping: each as text ("email or externalId"). */
export function missingMandatory(dataType: DataType, mapped: string[]): string[] {
  return MAPPING_TARGETS[dataType].mandatory
    .filter((m) => !m.split('|').some((t) => mapped.includes(t)))
    .map((m) => m.split('|').join(' or '));
}

/** The targets a new section starts with: one row per mandatory rule. */
export function initialTargets(dataType: DataType): string[] {
  return MAPPING_TARGETS[dataType].mandatory.map((m) => m.split('|')[0] ?? m);
}

/** A column that looks like it holds a target (`user_email` for email, `created_at` for date). */
export function guessColumn(
  dataType: DataType,
  target: string,
  columns: string[],
): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const t = norm(target);
  const synonyms: Record<string, string[]> = {
    email: ['email', 'useremail', 'mail'],
    externalid:
      dataType === 'metrics'
        ? ['externalid', 'companyid', 'accountid', 'objectid']
        : ['externalid', 'userid', 'enduserid'],
    companyexternalid: ['companyexternalid', 'companyid', 'accountid'],
    action: ['action', 'event', 'eventname', 'eventtype'],
    weight: ['weight', 'qty', 'quantity', 'count'],
    date: ['date', 'day', 'createdat', 'timestamp', 'eventtime', 'occurredat'],
    dimensionid: ['dimensionid', 'metric', 'metricname', 'dimension'],
    value: ['value', 'amount', 'metricvalue'],
    name: ['name', 'fullname', 'username'],
  };
  for (const candidate of synonyms[t] ?? [t]) {
    const hit = columns.find((c) => norm(c) === candidate);
    if (hit) return hit;
  }
  return undefined;
}
