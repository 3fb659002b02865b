import {
  Badge,
  Button,
  Card,
  Drawer,
  Group,
  ScrollArea,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Tooltip,
} from '@mantine/core';
import { IconRefresh } from '@tabler/icons-react';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import type { Run } from '../../../src/core/api';
import { call } from '../api';
import { PageHeader } from '../components/page-header';
import { RunStatusBadge } from '../components/run-status-badge';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { StatusArrow } from '../components/status-arrow';
import { formatDateTime, formatDateTimeShort, formatDuration, formatNumber } from '../format';
import { useResource } from '../use-resource';

function KeyRange(props: { run: Run }) {
  const { keyFrom, keyTo } = props.run;
  if (keyFrom === null && keyTo === null)
    return (
      <Text span c="dimmed" fz="sm">
        —
      </Text>
    );
  return (
    <Text span className="mono">
      {keyFrom ?? '…'} → {keyTo ?? '…'}
    </Text>
  );
}

function RejectsDrawer(props: { run: Run | undefined; onClose: () => void }) {
  const run = props.run;
  const rejects = useResource(
    (signal) =>
      run
        ? call('listRejects', { params: { id: run.id }, query: { limit: 500 }, signal })
        : Promise.resolve(null),
    `rejects:${run?.id ?? ''}`,
  );
  const list = rejects.data?.rejects ?? [];
  return (
    <Drawer
      opened={run !== undefined}
      onClose={props.onClose}
      position="right"
      size="xl"
      title={
        <Group gap="sm">
          <Text fw={650}>Run #{run?.id}</Text>
          {run && <RunStatusBadge status={run.status} />}
        </Group>
      }
    >
      {run && (
        <Stack gap="md" data-testid="run-drawer">
          <SimpleGrid cols={3} spacing="sm">
            <div>
              <Text fz="xs" c="dimmed">
                Started
              </Text>
              <Text fz="sm">{formatDateTime(run.startedAt)}</Text>
            </div>
            <div>
              <Text fz="xs" c="dimmed">
                Took
              </Text>
              <Text fz="sm">{formatDuration(run.startedAt, run.finishedAt)}</Text>
            </div>
            <div>
              <Text fz="xs" c="dimmed">
                Trigger
              </Text>
              <Text fz="sm">{run.trigger}</Text>
            </div>
            <div>
              <Text fz="xs" c="dimmed">
                Rows read / landed / rejected
              </Text>
              <Text fz="sm">
                {formatNumber(run.rowsRead)} / {formatNumber(run.landed)} /{' '}
                {formatNumber(run.rejected)}
              </Text>
            </div>
            <div>
              <Text fz="xs" c="dimmed">
                Key range
              </Text>
              <KeyRange run={run} />
            </div>
            <div>
              <Text fz="xs" c="dimmed">
                Cursor after
              </Text>
              <Text fz="sm" className="mono">
                {run.cursor ?? '—'}
              </Text>
            </div>
          </SimpleGrid>
          {run.error && (
            <Card bg="red.0" withBorder={false} padding="sm">
              <Text fz="xs" fw={700} c="red.8">
                {run.errorCode ?? 'Error'}
              </Text>
              <Text fz="sm" c="red.9" style={{ whiteSpace: 'pre-wrap' }}>
                {run.error}
              </Text>
            </Card>
          )}
          <Text fw={650} mt="xs">
            Rejected rows
          </Text>
          {rejects.loading ? (
            <LoadingState label="Loading rejects…" />
          ) : rejects.error !== undefined ? (
            <ErrorState error={rejects.error} title="Cannot load the rejects" />
          ) : list.length === 0 ? (
            <EmptyState
              title="No rejected rows"
              description="Every row this run read became a record."
              testId="rejects-empty"
            />
          ) : (
            <ScrollArea type="auto">
              <Table fz="xs" striped data-testid="rejects-table">
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
                  {list.map((r) => (
                    <Table.Tr key={r.id} data-testid="reject-row">
                      <Table.Td className="mono">{r.key}</Table.Td>
                      <Table.Td>{r.field}</Table.Td>
                      <Table.Td className="mono">{r.column ?? '—'}</Table.Td>
                      <Table.Td>
                        <Stack gap={2}>
                          <Badge size="xs" color="red" variant="light">
                            {r.code}
                          </Badge>
                          <Text fz="xs">{r.reason}</Text>
                        </Stack>
                      </Table.Td>
                      <Table.Td
                        className="mono"
                        c="dimmed"
                        style={{ maxWidth: 200, overflow: 'hidden', textOverflow: 'ellipsis' }}
                      >
                        {r.input ?? '—'}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
              {list.length < run.rejected && (
                <Text fz="xs" c="dimmed" mt="xs">
                  Showing the first {formatNumber(list.length)} of {formatNumber(run.rejected)}.
                </Text>
              )}
            </ScrollArea>
          )}
        </Stack>
      )}
    </Drawer>
  );
}

/** Show logs: the runs of a section, newest first; a click opens a run's rejects. */
export function LogsPage() {
  const { name = '', id = '' } = useParams();
  const [limit, setLimit] = useState('50');
  const [open, setOpen] = useState<Run>();
  const section = useResource(
    (signal) => call('getSection', { params: { id }, signal }),
    `section:${id}`,
    5000,
  );
  const runs = useResource(
    (signal) => call('listRuns', { params: { id }, query: { limit: Number(limit) }, signal }),
    `runs:${id}:${limit}`,
    5000,
  );
  const s = section.data?.section;
  const list = runs.data?.runs ?? [];

  return (
    <>
      <PageHeader
        crumbs={[
          { label: 'Integrations', to: '/integrations' },
          { label: name, to: `/integrations/${encodeURIComponent(name)}` },
          {
            label: s?.name ?? `Section ${id}`,
            to: `/integrations/${encodeURIComponent(name)}/sections/${id}`,
          },
          { label: 'Logs' },
        ]}
        title={
          <Group gap="sm">
            {s && <StatusArrow state={s.status.state} error={s.status.lastError} size={28} />}
            Logs of {s?.name ?? `section ${id}`}
          </Group>
        }
        description={
          s
            ? `Every run of ${s.table}, newest first. Click a run to see the rows it rejected.`
            : undefined
        }
        actions={
          <>
            <Select
              w={130}
              data={['20', '50', '200', '1000'].map((v) => ({ value: v, label: `Last ${v}` }))}
              value={limit}
              onChange={(v) => v && setLimit(v)}
              allowDeselect={false}
              aria-label="How many runs"
            />
            <Button
              variant="default"
              leftSection={<IconRefresh size={16} />}
              onClick={() => void runs.reload()}
              loading={runs.fetching}
            >
              Refresh
            </Button>
            <Button
              variant="light"
              component={Link}
              to={`/integrations/${encodeURIComponent(name)}/sections/${id}`}
            >
              Edit section
            </Button>
          </>
        }
      />
      {runs.loading ? (
        <LoadingState label="Loading runs…" />
      ) : runs.error !== undefined && !runs.data ? (
        <ErrorState error={runs.error} />
      ) : list.length === 0 ? (
        <EmptyState
          title="No runs yet"
          description="Runs appear here when the schedule starts one, or when you press Run now on the integration page."
          testId="logs-empty"
        />
      ) : (
        <Card padding={0}>
          <ScrollArea type="auto">
            <Table
              data-testid="logs-table"
              verticalSpacing="sm"
              horizontalSpacing="sm"
              fz="sm"
              highlightOnHover
            >
              <Table.Thead bg="gray.0">
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th>Ended</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th ta="right" style={{ whiteSpace: 'nowrap' }}>
                    Rows read
                  </Table.Th>
                  <Table.Th ta="right">Landed</Table.Th>
                  <Table.Th ta="right">Rejected</Table.Th>
                  <Table.Th>Key range</Table.Th>
                  <Table.Th>Error</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((r) => (
                  <Table.Tr
                    key={r.id}
                    onClick={() => setOpen(r)}
                    style={{ cursor: 'pointer' }}
                    data-testid="log-row"
                    data-run={r.id}
                    data-status={r.status}
                    data-rejected={r.rejected}
                  >
                    <Table.Td>
                      <Text fz="sm" fw={600}>
                        #{r.id}
                      </Text>
                      <Text fz="xs" c="dimmed" truncate maw={150} title={r.trigger}>
                        {r.trigger}
                      </Text>
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      {formatDateTimeShort(r.startedAt)}
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      {r.finishedAt ? formatDateTimeShort(r.finishedAt) : '—'}
                      <Text fz="xs" c="dimmed">
                        {formatDuration(r.startedAt, r.finishedAt)}
                      </Text>
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <RunStatusBadge status={r.status} />
                    </Table.Td>
                    <Table.Td ta="right">{formatNumber(r.rowsRead)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(r.landed)}</Table.Td>
                    <Table.Td ta="right">
                      <Text
                        span
                        fz="sm"
                        c={r.rejected > 0 ? 'orange.7' : undefined}
                        fw={r.rejected > 0 ? 600 : undefined}
                      >
                        {formatNumber(r.rejected)}
                      </Text>
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <KeyRange run={r} />
                    </Table.Td>
                    <Table.Td maw={260} miw={140}>
                      {r.error ? (
                        <Tooltip label={r.error}>
                          <Text fz="xs" c="red" lineClamp={2}>
                            {r.errorCode ? `${r.errorCode}: ` : ''}
                            {r.error}
                          </Text>
                        </Tooltip>
                      ) : (
                        <Text fz="xs" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        </Card>
      )}
      <RejectsDrawer run={open} onClose={() => setOpen(undefined)} />
    </>
  );
}
