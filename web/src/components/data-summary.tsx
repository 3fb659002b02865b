import {
  Button,
  Card,
  Grid,
  Group,
  ScrollArea,
  SegmentedControl,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { IconRefresh } from '@tabler/icons-react';
import { useState, type ReactNode } from 'react';
import type { Series } from '../../../src/core/api';
import type { Resource } from '../use-resource';
import { DayChart } from './day-chart';
import { ErrorState } from './states';

type ChartKind = 'line' | 'bar';

const KIND_LABELS: Record<ChartKind, string> = { line: 'Line', bar: 'Bars' };

/** The line above a summary table: what it lists, and a button that reloads it. */
export function SummaryHeader(props: {
  children: ReactNode;
  onRefresh: () => void;
  refreshing: boolean;
  refreshTestId: string;
}) {
  return (
    <Group justify="space-between">
      <Text c="dimmed" fz="sm">
        {props.children}
      </Text>
      <Button
        variant="default"
        leftSection={<IconRefresh size={16} />}
        onClick={props.onRefresh}
        loading={props.refreshing}
        data-testid={props.refreshTestId}
      >
        Refresh list
      </Button>
    </Group>
  );
}

/**
 * A scrolling table of summaries, one row each, where a click on a row picks it and the picked
 * row is highlighted. `head` holds the header cells and `cells` a row's cells, in the same order.
 */
export function SummaryTable<T>(props: {
  testId: string;
  head: ReactNode;
  rows: readonly T[];
  rowKey: (row: T) => string;
  /** The row's `data-testid` and the attribute that names it, e.g. `data-metric`. */
  rowAttributes: (row: T) => Record<`data-${string}`, string>;
  isPicked: (row: T) => boolean;
  onPick: (row: T) => void;
  cells: (row: T) => ReactNode;
}) {
  return (
    <Card padding={0}>
      <ScrollArea.Autosize mah={360} type="auto">
        <Table data-testid={props.testId} stickyHeader verticalSpacing="sm" horizontalSpacing="md">
          <Table.Thead>
            <Table.Tr>{props.head}</Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {props.rows.map((row) => (
              <Table.Tr
                key={props.rowKey(row)}
                onClick={() => props.onPick(row)}
                bg={props.isPicked(row) ? 'var(--mantine-color-blue-light)' : undefined}
                style={{ cursor: 'pointer' }}
                {...props.rowAttributes(row)}
              >
                {props.cells(row)}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
    </Card>
  );
}

/**
 * A card with one series per day: a title, a line saying what is counted, the controls that
 * choose the series (`<Grid.Col>`s), and the chart, as a line or bars at the user's choice
 * (`defaultKind` first).
 */
export function SeriesCard(props: {
  title: ReactNode;
  description: ReactNode;
  defaultKind: ChartKind;
  controls: ReactNode;
  series: Pick<Resource<Series | undefined>, 'data' | 'error' | 'fetching'>;
  chart: { label: string; color: string; testId: string };
}) {
  const [kind, setKind] = useState(props.defaultKind);
  const kinds: ChartKind[] = props.defaultKind === 'line' ? ['line', 'bar'] : ['bar', 'line'];
  return (
    <Card>
      <Group justify="space-between" align="flex-start" mb="md">
        <div>
          <Title order={4}>
            {props.title}{' '}
            <Text span c="dimmed" fz="md" fw={400}>
              per day
            </Text>
          </Title>
          <Text fz="sm" c="dimmed">
            {props.description}
          </Text>
        </div>
        <SegmentedControl
          size="xs"
          value={kind}
          onChange={(v) => setKind(v as ChartKind)}
          data={kinds.map((k) => ({ value: k, label: KIND_LABELS[k] }))}
        />
      </Group>
      <Grid gap="md" mb="md">
        {props.controls}
      </Grid>
      {props.series.error !== undefined ? (
        <ErrorState error={props.series.error} title="Cannot load the series" />
      ) : (
        <DayChart
          series={props.series.data}
          label={props.chart.label}
          kind={kind}
          color={props.chart.color}
          loading={props.series.fetching}
          testId={props.chart.testId}
        />
      )}
    </Card>
  );
}
