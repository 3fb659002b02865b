import { ActionIcon, Box, Button, Group, Select, Stack, Text, Tooltip } from '@mantine/core';
import { IconArrowLeft, IconPlus, IconTrash } from '@tabler/icons-react';
import type { ColumnView, SectionInput } from '../../../src/core/api';
import { mandatoryText, missingMandatory, targetsFor } from '../targets';

export interface MappingRow {
  /** Stable id for React keys (rows can be reordered by removal). */
  id: number;
  target: string | null;
  column: string | null;
}

function Asterisk() {
  return (
    <Text span c="red" fw={700} aria-label="mandatory">
      *
    </Text>
  );
}

/**
 * Field mappings: each row a Sluice field on the left and a MySQL column on the right; "Map a
 * field" adds a row. Mandatory fields carry a red asterisk. Errors arrive per target
 * (`mapping.email`) and show beside their row.
 */
export function FieldMappings(props: {
  dataType: SectionInput['dataType'];
  rows: MappingRow[];
  columns: ColumnView[] | undefined;
  columnsLoading: boolean;
  errors: Record<string, string>;
  readOnly: boolean;
  onChange: (rows: MappingRow[]) => void;
  onAdd: () => void;
}) {
  const targets = targetsFor(props.dataType);
  const used = new Set(props.rows.map((r) => r.target).filter((t): t is string => t !== null));
  const missing = missingMandatory(props.dataType, [...used]);
  const columnData = (props.columns ?? []).map((c) => ({
    value: c.name,
    label: c.name,
    type: c.columnType,
  }));
  const columnTypes = new Map(columnData.map((c) => [c.value, c.type]));
  // Errors with no row to sit beside: the mapping as a whole, or a target that has no row (a
  // mandatory field removed), which the server reports as `mapping.value`.
  const rowless = Object.entries(props.errors)
    .filter(
      ([field]) =>
        field === 'mapping' ||
        (field.startsWith('mapping.') && !used.has(field.slice('mapping.'.length))),
    )
    .map(([, message]) => message);
  const update = (id: number, patch: Partial<MappingRow>) =>
    props.onChange(props.rows.map((r) => (r.id === id ? { ...r, ...patch } : r)));

  return (
    <Stack gap="xs" data-testid="field-mappings">
      <Group gap="md" px={2} wrap="nowrap">
        <Text fz="xs" fw={700} c="dimmed" tt="uppercase" style={{ flex: 1 }}>
          Sluice field
        </Text>
        <Box w={20} />
        <Text fz="xs" fw={700} c="dimmed" tt="uppercase" style={{ flex: 1 }}>
          MySQL column
        </Text>
        <Box w={34} />
      </Group>
      {props.rows.map((row) => {
        const info = targets.find((t) => t.name === row.target);
        const error = row.target ? props.errors[`mapping.${row.target}`] : undefined;
        return (
          <Group
            key={row.id}
            gap="md"
            wrap="nowrap"
            align="flex-start"
            data-testid="mapping-row"
            data-target={row.target ?? ''}
          >
            <Select
              style={{ flex: 1 }}
              placeholder="Choose a field"
              data={targets.map((t) => ({
                value: t.name,
                label: t.name,
                disabled: used.has(t.name) && t.name !== row.target,
              }))}
              value={row.target}
              onChange={(v) => update(row.id, { target: v })}
              renderOption={({ option }) => {
                const t = targets.find((x) => x.name === option.value);
                return (
                  <div>
                    <Text fz="sm">
                      {option.label} {t?.mandatory && <Asterisk />}
                    </Text>
                    <Text fz="xs" c="dimmed">
                      {t?.description}
                    </Text>
                  </div>
                );
              }}
              leftSection={info?.mandatory ? <Asterisk /> : undefined}
              leftSectionWidth={info?.mandatory ? 24 : undefined}
              description={info?.description}
              readOnly={props.readOnly}
              data-testid="mapping-target"
              aria-label="Sluice field"
              comboboxProps={{ withinPortal: true }}
            />
            <Box pt={8} c="dimmed">
              <IconArrowLeft size={18} />
            </Box>
            <Select
              style={{ flex: 1 }}
              placeholder={
                props.columnsLoading
                  ? 'Loading columns…'
                  : props.columns
                    ? 'Choose a column'
                    : 'Choose a table first'
              }
              data={columnData}
              value={row.column}
              onChange={(v) => update(row.id, { column: v })}
              searchable
              nothingFoundMessage="No such column"
              renderOption={({ option }) => (
                <Group justify="space-between" wrap="nowrap" w="100%" gap="md">
                  <Text fz="sm" className="mono">
                    {option.label}
                  </Text>
                  <Text fz="xs" c="dimmed">
                    {columnTypes.get(option.value)}
                  </Text>
                </Group>
              )}
              description={row.column ? columnTypes.get(row.column) : undefined}
              error={error}
              disabled={!props.columns && !row.column}
              readOnly={props.readOnly}
              data-testid="mapping-column"
              aria-label="MySQL column"
            />
            <Tooltip label="Remove this mapping">
              <ActionIcon
                variant="subtle"
                color="gray"
                size={36}
                onClick={() => props.onChange(props.rows.filter((r) => r.id !== row.id))}
                disabled={props.readOnly}
                aria-label="Remove mapping"
                data-testid="mapping-remove"
              >
                <IconTrash size={16} />
              </ActionIcon>
            </Tooltip>
          </Group>
        );
      })}
      {rowless.length > 0 && (
        <Stack gap={2} data-testid="mapping-error">
          {rowless.map((message) => (
            <Text c="red" fz="sm" key={message}>
              {message}
            </Text>
          ))}
        </Stack>
      )}
      <Group justify="space-between" mt={4}>
        <Button
          variant="light"
          leftSection={<IconPlus size={16} />}
          onClick={props.onAdd}
          disabled={
            props.readOnly || used.size >= targets.length || props.rows.length >= targets.length
          }
          data-testid="map-field"
        >
          Map a field
        </Button>
        <Text fz="xs" c={missing.length > 0 ? 'red' : 'dimmed'} data-testid="mapping-mandatory">
          <Asterisk /> Mandatory: {mandatoryText(props.dataType)}
          {missing.length > 0 ? ` — not mapped yet: ${missing.join('; ')}` : ''}
        </Text>
      </Group>
    </Stack>
  );
}
