import {
  Badge,
  Button,
  Card,
  Grid,
  Group,
  Input,
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
import type { MetricSeriesQuery, MetricSummary } from '../../../src/core/api';
import { call } from '../api';
import { DayChart } from '../components/day-chart';
import { OriginBadges } from '../components/origin-badges';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDate, formatNumber } from '../format';
import { useResource } from '../use-resource';

const keyOf = (m: Pick<MetricSummary, 'dimensionId' | 'model'>) =>
  `${m.model}\u0000${m.dimensionId}`;

/** Data → Metrics: every custom metric, and a chart of one per day. */
export function MetricsTab() {
  const list = useResource((signal) => call('listMetrics', { signal }), 'metrics');
  const [picked, setPicked] = useState<string>();
  const [agg, setAgg] = useState<MetricSeriesQuery['agg']>('sum');
  const [kind, setKind] = useState<'line' | 'bar'>('line');
  const [object, setObject] = useState('');
  const [debouncedObject] = useDebouncedValue(object.trim(), 350);

  const metrics = list.data?.metrics ?? [];
  const selected = metrics.find((m) => keyOf(m) === picked) ?? metrics[0];
  const series = useResource(
    (signal) =>
      selected
        ? call('metricSeries', {
            params: { dimensionId: selected.dimensionId },
            query: {
              agg,
              model: selected.model,
              ...(debouncedObject ? { externalId: debouncedObject } : {}),
            },
            signal,
          })
        : Promise.resolve(undefined),
    `series:${selected ? keyOf(selected) : ''}:${agg}:${debouncedObject}`,
  );

  if (list.loading) return <LoadingState label="Loading metrics…" />;
  if (list.error !== undefined && !list.data) return <ErrorState error={list.error} />;

  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Text c="dimmed" fz="sm">
          {metrics.length} metric{metrics.length === 1 ? '' : 's'} · newly landed metrics appear
          after Refresh list
        </Text>
        <Button
          variant="default"
          leftSection={<IconRefresh size={16} />}
          onClick={() => void Promise.all([list.reload(), series.reload()])}
          loading={list.fetching}
          data-testid="refresh-list"
        >
          Refresh list
        </Button>
      </Group>

      {metrics.length === 0 ? (
        <EmptyState
          title="No custom metrics yet"
          description="Add a section with the data type “Custom metrics”; its points show up here once a run has landed them."
          testId="metrics-empty"
        />
      ) : (
        <>
          <Card padding={0}>
            <ScrollArea.Autosize mah={360} type="auto">
              <Table
                data-testid="metrics-table"
                stickyHeader
                verticalSpacing="sm"
                horizontalSpacing="md"
              >
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>dimensionId</Table.Th>
                    <Table.Th>Model</Table.Th>
                    <Table.Th ta="right">Points</Table.Th>
                    <Table.Th ta="right">Objects</Table.Th>
                    <Table.Th>First date</Table.Th>
                    <Table.Th>Last date</Table.Th>
                    <Table.Th>Origin</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {metrics.map((m) => {
                    const active = selected !== undefined && keyOf(m) === keyOf(selected);
                    return (
                      <Table.Tr
                        key={keyOf(m)}
                        onClick={() => setPicked(keyOf(m))}
                        bg={active ? 'var(--mantine-color-blue-light)' : undefined}
                        style={{ cursor: 'pointer' }}
                        data-testid="metric-row"
                        data-metric={m.dimensionId}
                      >
                        <Table.Td fw={600}>{m.dimensionId}</Table.Td>
                        <Table.Td>
                          <Badge variant="light" color="violet" size="sm">
                            {m.model}
                          </Badge>
                        </Table.Td>
                        <Table.Td ta="right">{formatNumber(m.points)}</Table.Td>
                        <Table.Td ta="right">{formatNumber(m.objects)}</Table.Td>
                        <Table.Td>{formatDate(m.firstDate)}</Table.Td>
                        <Table.Td>{formatDate(m.lastDate)}</Table.Td>
                        <Table.Td>
                          <OriginBadges origins={m.origins} />
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
                    {selected.dimensionId}{' '}
                    <Text span c="dimmed" fz="md" fw={400}>
                      per day
                    </Text>
                  </Title>
                  <Text fz="sm" c="dimmed">
                    {agg === 'sum'
                      ? 'The sum of every point of the day'
                      : 'Per object the last value of the day, summed over objects'}
                    {debouncedObject
                      ? ` · only ${debouncedObject}`
                      : ` · all ${selected.model.toLowerCase()} objects`}
                  </Text>
                </div>
                <SegmentedControl
                  size="xs"
                  value={kind}
                  onChange={(v) => setKind(v as 'line' | 'bar')}
                  data={[
                    { value: 'line', label: 'Line' },
                    { value: 'bar', label: 'Bars' },
                  ]}
                />
              </Group>
              <Grid gap="md" mb="md">
                <Grid.Col span={{ base: 12, md: 4 }}>
                  <Select
                    label="Metric"
                    data={metrics.map((m) => ({
                      value: keyOf(m),
                      label: `${m.dimensionId} (${m.model})`,
                    }))}
                    value={keyOf(selected)}
                    onChange={(v) => v && setPicked(v)}
                    allowDeselect={false}
                    searchable
                    data-testid="metric-select"
                  />
                </Grid.Col>
                <Grid.Col span={{ base: 12, md: 4 }}>
                  <Input.Wrapper label="Per day">
                    <SegmentedControl
                      fullWidth
                      value={agg}
                      onChange={(v) => setAgg(v as MetricSeriesQuery['agg'])}
                      data={[
                        { value: 'sum', label: 'Sum' },
                        { value: 'last', label: 'Last value' },
                      ]}
                      data-testid="metric-agg"
                    />
                  </Input.Wrapper>
                </Grid.Col>
                <Grid.Col span={{ base: 12, md: 4 }}>
                  <TextInput
                    label="Object"
                    placeholder="All objects"
                    leftSection={<IconSearch size={14} />}
                    value={object}
                    onChange={(e) => setObject(e.currentTarget.value)}
                    description={undefined}
                    data-testid="metric-object"
                  />
                </Grid.Col>
              </Grid>
              {series.error !== undefined ? (
                <ErrorState error={series.error} title="Cannot load the series" />
              ) : (
                <DayChart
                  series={series.data}
                  label={selected.dimensionId}
                  kind={kind}
                  color="violet.6"
                  loading={series.fetching}
                  testId="metric-chart"
                />
              )}
            </Card>
          )}
        </>
      )}
    </Stack>
  );
}
