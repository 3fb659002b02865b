import { Alert, Badge, Group, ScrollArea, Table, Tabs, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import {
  MAPPING_TARGETS,
  type PreviewRecord,
  type PreviewResponse,
  type SectionInput,
} from '../../../src/core/api';
import { formatDateTime } from '../format';

const RECORD_COLUMNS: Record<SectionInput['dataType'], (keyof PreviewRecord)[]> = {
  activities: ['key', ...MAPPING_TARGETS.activities.targets],
  metrics: ['key', 'model', ...MAPPING_TARGETS.metrics.targets],
};

function show(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const scroll = { border: '1px solid var(--mantine-color-gray-3)', borderRadius: 8 };

/**
 * The preview: the first rows of the table mapped to records, the rows that would be rejected
 * with their reason, and the rows as read.
 */
export function PreviewPanel(props: {
  dataType: SectionInput['dataType'];
  preview: PreviewResponse;
}) {
  const p = props.preview;
  const cols = RECORD_COLUMNS[props.dataType];
  return (
    <div data-testid="preview-panel">
      {p.warnings.map((w) => (
        <Alert
          key={`${w.field}-${w.code}`}
          color="yellow"
          variant="light"
          icon={<IconAlertTriangle size={16} />}
          mb="sm"
          py={8}
        >
          <Text fz="sm">{w.message}</Text>
        </Alert>
      ))}
      <Tabs defaultValue={p.records.length === 0 && p.rejects.length > 0 ? 'rejects' : 'records'}>
        <Tabs.List mb="sm">
          <Tabs.Tab
            value="records"
            rightSection={
              <Badge size="sm" variant="light" color="teal">
                {p.records.length}
              </Badge>
            }
            data-testid="preview-tab-records"
          >
            Records
          </Tabs.Tab>
          <Tabs.Tab
            value="rejects"
            rightSection={
              <Badge size="sm" variant="light" color={p.rejects.length ? 'red' : 'gray'}>
                {p.rejects.length}
              </Badge>
            }
            data-testid="preview-tab-rejects"
          >
            Would be rejected
          </Tabs.Tab>
          <Tabs.Tab
            value="rows"
            rightSection={
              <Badge size="sm" variant="light" color="gray">
                {p.rows.length}
              </Badge>
            }
            data-testid="preview-tab-rows"
          >
            Rows as read
          </Tabs.Tab>
        </Tabs.List>

        <Tabs.Panel value="records">
          {p.records.length === 0 ? (
            <Text c="dimmed" fz="sm" py="md" ta="center">
              {p.rows.length === 0
                ? 'The table has no rows yet.'
                : 'None of the first rows would land.'}
            </Text>
          ) : (
            <ScrollArea type="auto" style={scroll}>
              <Table striped fz="xs" data-testid="preview-records">
                <Table.Thead>
                  <Table.Tr>
                    {cols.map((c) => (
                      <Table.Th key={c}>{c}</Table.Th>
                    ))}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {p.records.map((r) => (
                    <Table.Tr key={r.rowId}>
                      {cols.map((c) => (
                        <Table.Td
                          key={c}
                          className={c === 'key' ? 'mono' : undefined}
                          style={{ whiteSpace: 'nowrap' }}
                        >
                          {c === 'date'
                            ? formatDateTime(r.date)
                            : show(r[c]) || (
                                <Text span c="dimmed" fz="xs">
                                  —
                                </Text>
                              )}
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea>
          )}
        </Tabs.Panel>

        <Tabs.Panel value="rejects">
          {p.rejects.length === 0 ? (
            <Text c="dimmed" fz="sm" py="md" ta="center">
              No row of the preview would be rejected.
            </Text>
          ) : (
            <ScrollArea type="auto" style={scroll}>
              <Table fz="xs" data-testid="preview-rejects">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Key</Table.Th>
                    <Table.Th>Field</Table.Th>
                    <Table.Th>Column</Table.Th>
                    <Table.Th>Reason</Table.Th>
                    <Table.Th>Input</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {p.rejects.map((r) => (
                    <Table.Tr key={r.rowId}>
                      <Table.Td className="mono">{r.key}</Table.Td>
                      <Table.Td>{r.field}</Table.Td>
                      <Table.Td className="mono">{r.column ?? '—'}</Table.Td>
                      <Table.Td>
                        <Group gap={6} wrap="nowrap">
                          <Badge size="xs" color="red" variant="light">
                            {r.code}
                          </Badge>
                          <Text fz="xs">{r.reason}</Text>
                        </Group>
                      </Table.Td>
                      <Table.Td className="mono" c="dimmed">
                        {r.input ?? '—'}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea>
          )}
        </Tabs.Panel>

        <Tabs.Panel value="rows">
          <ScrollArea type="auto" style={scroll}>
            <Table striped fz="xs" data-testid="preview-rows">
              <Table.Thead>
                <Table.Tr>
                  {p.columns.map((c) => (
                    <Table.Th key={c} className="mono">
                      {c}
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {p.rows.map((row, i) => (
                  <Table.Tr key={i}>
                    {p.columns.map((c) => (
                      <Table.Td key={c} className="mono" style={{ whiteSpace: 'nowrap' }}>
                        {show(row[c])}
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        </Tabs.Panel>
      </Tabs>
    </div>
  );
}
