import {
  Button,
  Card,
  Grid,
  Group,
  ScrollArea,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconRefresh, IconSearch } from '@tabler/icons-react';
import { useState } from 'react';
import { actionParam, NO_ACTION } from '../../../src/core/api';
import { call } from '../api';
import { DayChart } from '../components/day-chart';
import { OriginBadges } from '../components/origin-badges';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDate, formatNumber } from '../format';
import { useResource } from '../use-resource';

/** Data → Activities: every action with its counts, and its weighted count per day. */
export function ActivitiesTab() {
  const list = useResource((signal) => call('listActions', { signal }), 'actions');
  const [picked, setPicked] = useState<string>();
  const [kind, setKind] = useState<'line' | 'bar'>('bar');
  const [who, setWho] = useState('');
  const [debouncedWho] = useDebouncedValue(who.trim(), 350);

  const actions = list.data?.actions ?? [];
  const selected = actions.find((a) => actionParam(a.action) === picked) ?? actions[0];
  const series = useResource(
    (signal) =>
      selected
        ? call('actionSeries', {
            params: { action: actionParam(selected.action) },
            query: debouncedWho ? { externalId: debouncedWho } : {},
            signal,
          })
        : Promise.resolve(undefined),
    `action-series:${selected ? actionParam(selected.action) : ''}:${debouncedWho}`,
  );

  if (list.loading) return <LoadingState label="Loading activities…" />;
  if (list.error !== undefined && !list.data) return <ErrorState error={list.error} />;
  const label = (a: string | null) => a ?? NO_ACTION;

  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Text c="dimmed" fz="sm">
          {actions.length} action{actions.length === 1 ? '' : 's'} · each activity counts its weight
          (default 1)
        </Text>
        <Button
          variant="default"
          leftSection={<IconRefresh size={16} />}
          onClick={() => void Promise.all([list.reload(), series.reload()])}
          loading={list.fetching}
          data-testid="refresh-actions"
        >
          Refresh list
        </Button>
      </Group>
      {actions.length === 0 ? (
        <EmptyState
          title="No user activities yet"
          description="Add a section with the data type “User activities”; its actions show up here once a run has landed them."
          testId="activities-empty"
        />
      ) : (
        <>
          <Card padding={0}>
            <ScrollArea.Autosize mah={360} type="auto">
              <Table
                data-testid="actions-table"
                stickyHeader
                verticalSpacing="sm"
                horizontalSpacing="md"
              >
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Action</Table.Th>
                    <Table.Th ta="right">Activities</Table.Th>
                    <Table.Th ta="right">Weighted count</Table.Th>
                    <Table.Th ta="right">Endusers</Table.Th>
                    <Table.Th>First date</Table.Th>
                    <Table.Th>Last date</Table.Th>
                    <Table.Th>Origin</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {actions.map((a) => {
                    const active = selected !== undefined && selected.action === a.action;
                    return (
                      <Table.Tr
                        key={label(a.action)}
                        onClick={() => setPicked(actionParam(a.action))}
                        bg={active ? 'var(--mantine-color-blue-light)' : undefined}
                        style={{ cursor: 'pointer' }}
                        data-testid="action-row"
                        data-action={label(a.action)}
                      >
                        <Table.Td fw={600} c={a.action === null ? 'dimmed' : undefined}>
                          {a.action ?? '(no action)'}
                        </Table.Td>
                        <Table.Td ta="right">{formatNumber(a.count)}</Table.Td>
                        <Table.Td ta="right">{formatNumber(a.weightedCount)}</Table.Td>
                        <Table.Td ta="right">{formatNumber(a.endusers)}</Table.Td>
                        <Table.Td>{formatDate(a.firstDate)}</Table.Td>
                        <Table.Td>{formatDate(a.lastDate)}</Table.Td>
                        <Table.Td>
                          <OriginBadges origins={a.origins} />
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </ScrollArea.Autosize>
          </Card>
          {selected && (
            <Card>
              <Group justify="space-between" align="flex-start" mb="md">
                <div>
                  <Title order={4}>
                    {selected.action ?? '(no action)'}{' '}
                    <Text span c="dimmed" fz="md" fw={400}>
                      per day
                    </Text>
                  </Title>
                  <Text fz="sm" c="dimmed">
                    Weight-multiplied count of activities
                    {debouncedWho ? ` of ${debouncedWho}` : ', all endusers'}
                  </Text>
                </div>
                <SegmentedControl
                  size="xs"
                  value={kind}
                  onChange={(v) => setKind(v as 'line' | 'bar')}
                  data={[
                    { value: 'bar', label: 'Bars' },
                    { value: 'line', label: 'Line' },
                  ]}
                />
              </Group>
              <Grid gap="md" mb="md">
                <Grid.Col span={{ base: 12, md: 6 }}>
                  <Select
                    label="Action"
                    data={actions.map((a) => ({
                      value: actionParam(a.action),
                      label: a.action ?? '(no action)',
                    }))}
                    value={actionParam(selected.action)}
                    onChange={(v) => v && setPicked(v)}
                    allowDeselect={false}
                    searchable
                    data-testid="action-select"
                  />
                </Grid.Col>
                <Grid.Col span={{ base: 12, md: 6 }}>
                  <TextInput
                    label="Enduser"
                    placeholder="All endusers (externalId or email)"
                    leftSection={<IconSearch size={14} />}
                    value={who}
                    onChange={(e) => setWho(e.currentTarget.value)}
                    data-testid="action-enduser"
                  />
                </Grid.Col>
              </Grid>
              {series.error !== undefined ? (
                <ErrorState error={series.error} title="Cannot load the series" />
              ) : (
                <DayChart
                  series={series.data}
                  label="Weighted count"
                  kind={kind}
                  color="cyan.6"
                  loading={series.fetching}
                  testId="action-chart"
                />
              )}
            </Card>
          )}
        </>
      )}
    </Stack>
  );
}
