import { checkSectionShape } from './section-shape.js';
import { MAX_KEY_LENGTH, keyTypeOf, parseLookback } from './keys.js';
import type {
  ColumnInfo,
  ConfigIssue,
  IndexInfo,
  ReadPlan,
  SectionConfig,
  TableInfo,
} from './types.js';

export interface SectionPlan {
  /** Present when there are no errors. */
  plan?: ReadPlan;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/**
 * Checks a section against the live schema of its table and derives how to read it. Errors name
 * the section, the field and the column; warnings do not stop a save.
 */
export function planSection(
  section: SectionConfig,
  table: TableInfo | undefined,
  database: string,
): SectionPlan {
  const errors: ConfigIssue[] = checkSectionShape(section);
  const warnings: ConfigIssue[] = [];
  const at = `section "${section.name}"`;
  if (!table) {
    errors.push({
      code: 'table_missing',
      section: section.name,
      field: 'table',
      column: section.table,
      message: `${at}: table: "${section.table}" does not exist in database "${database}"`,
    });
    return { errors, warnings };
  }
  const byName = new Map<string, ColumnInfo>(table.columns.map((c) => [c.name, c]));
  const keyColumn = byName.get(section.key);
  const keyType = keyColumn ? keyTypeOf(keyColumn) : undefined;
  if (!keyColumn) {
    errors.push({
      code: 'column_missing',
      section: section.name,
      field: 'key',
      column: section.key,
      message: `${at}: key: column "${section.key}" does not exist in table "${table.name}"`,
    });
  } else if (!keyType) {
    errors.push({
      code: 'key_type',
      section: section.name,
      field: 'key',
      column: section.key,
      message: `${at}: key: column "${section.key}" is ${keyColumn.columnType}; a key must be an integer, decimal, date/time or (var)char column`,
    });
  } else if (keyType.maxLength > MAX_KEY_LENGTH) {
    errors.push({
      code: 'key_too_long',
      section: section.name,
      field: 'key',
      column: section.key,
      message: `${at}: key: column "${section.key}" is ${keyColumn.columnType}, whose values can be longer than ${MAX_KEY_LENGTH} characters`,
    });
  }
  const mapped: [string, string][] = [
    ...Object.entries(section.mapping).map(([t, c]) => [`mapping.${t}`, c] as [string, string]),
    ...section.info.map((c, i) => [`info[${i}]`, c] as [string, string]),
  ];
  for (const [fieldName, column] of mapped) {
    if (!byName.has(column)) {
      errors.push({
        code: 'column_missing',
        section: section.name,
        field: fieldName,
        column,
        message: `${at}: ${fieldName}: column "${column}" does not exist in table "${table.name}"`,
      });
    }
  }
  if (section.lookback !== undefined && keyType) {
    const lb = parseLookback(keyType.kind, section.lookback);
    if (!lb.ok) {
      errors.push({
        code: 'lookback_invalid',
        section: section.name,
        field: 'lookback',
        column: section.key,
        message: `${at}: lookback: ${lb.error}`,
      });
    }
  }
  if (errors.length > 0 || !keyColumn || !keyType) return { errors, warnings };

  // The primary key is an index whether or not the introspection also lists it in `indexes`.
  const indexes: IndexInfo[] =
    table.primaryKey.length > 0
      ? [{ name: 'PRIMARY', unique: true, columns: table.primaryKey }, ...table.indexes]
      : table.indexes;
  const leads = (cols: string[]) => cols[0] === section.key;
  if (table.kind === 'table' && !indexes.some((ix) => leads(ix.columns))) {
    warnings.push({
      code: 'key_not_indexed',
      section: section.name,
      field: 'key',
      column: section.key,
      message: `${at}: key: column "${section.key}" has no index, so each sync will scan the table; add one with CREATE INDEX`,
    });
  }
  if (keyColumn.nullable) {
    warnings.push({
      code: 'key_nullable',
      section: section.name,
      field: 'key',
      column: section.key,
      message: `${at}: key: column "${section.key}" allows NULL; rows whose key is NULL are never synced`,
    });
  }
  const keyUnique = indexes.some(
    (ix) => ix.unique && ix.columns.length === 1 && ix.columns[0] === section.key,
  );
  const notNull = (cols: string[]) => cols.every((c) => byName.get(c)?.nullable === false);
  let identity = table.primaryKey.length > 0 ? table.primaryKey : [];
  if (identity.length === 0) {
    identity = table.indexes.find((ix) => ix.unique && notNull(ix.columns))?.columns ?? [];
  }
  if (identity.length === 0) {
    warnings.push({
      code: 'no_identity',
      section: section.name,
      field: 'table',
      column: section.table,
      message: `${at}: table "${table.name}" has no primary or unique key, so rows are told apart by their content`,
    });
  }
  const identityColumn = identity.length === 1 ? byName.get(identity[0] as string) : undefined;
  const identityKind = identityColumn ? (keyTypeOf(identityColumn)?.kind ?? null) : null;
  const columns = [...new Set([section.key, ...identity, ...mapped.map(([, c]) => c)])];
  return {
    errors,
    warnings,
    plan: {
      table: table.name,
      key: section.key,
      keyKind: keyType.kind,
      keyScale: keyType.scale,
      keyUnique,
      identity,
      identityKind,
      columns,
    },
  };
}
