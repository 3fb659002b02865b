import {
  Badge,
  Grid,
  Input,
  SegmentedControl,
  Select,
  Stack,
  Table,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconSearch } from '@tabler/icons-react';
import { useState } from 'react';
import type { MetricSeriesQuery, MetricSummary } from '../../../src/core/api';
import { call } from '../api';
import { SeriesCard, SummaryHeader, SummaryTable } from '../components/data-summary';
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
      <SummaryHeader
        onRefresh={() => void Promise.all([list.reload(), series.reload()])}
        refreshing={list.fetching}
        refreshTestId="refresh-list"
      >
        {metrics.length} metric{metrics.length === 1 ? '' : 's'} · newly landed metrics appear after
        Refresh list
      </SummaryHeader>

      {metrics.length === 0 ? (
        <EmptyState
          title="No custom metrics yet"
          description="Add a section with the data type “Custom metrics”; its points show up here once a run has landed them."
          testId="metrics-empty"
        />
      ) : (
        <>
          <SummaryTable
            testId="metrics-table"
            head={
              <>
                <Table.Th>dimensionId</Table.Th>
                <Table.Th>Model</Table.Th>
                <Table.Th ta="right">Points</Table.Th>
                <Table.Th ta="right">Objects</Table.Th>
                <Table.Th>First date</Table.Th>
                <Table.Th>Last date</Table.Th>
                <Table.Th>Origin</Table.Th>
              </>
            }
            rows={metrics}
            rowKey={keyOf}
            rowAttributes={(m) => ({ 'data-testid': 'metric-row', 'data-metric': m.dimensionId })}
            isPicked={(m) => selected !== undefined && keyOf(m) === keyOf(selected)}
            onPick={(m) => setPicked(keyOf(m))}
            cells={(m) => (
              <>
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
              </>
            )}
          />

          {selected && (
            <SeriesCard
              title={selected.dimensionId}
              description={
                <>
                  {agg === 'sum'
                    ? 'The sum of every point of the day'
                    : 'Per object the last value of the day, summed over objects'}
                  {debouncedObject
                    ? ` · only ${debouncedObject}`
                    : ` · all ${selected.model.toLowerCase()} objects`}
                </>
              }
              defaultKind="line"
              series={series}
              chart={{ label: selected.dimensionId, color: 'violet.6', testId: 'metric-chart' }}
              controls={
                <>
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
                </>
              }
            />
          )}
        </>
      )}
    </Stack>
  );
}
