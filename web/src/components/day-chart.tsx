import { BarChart, LineChart } from '@mantine/charts';
import { Center, Paper, Stack, Text } from '@mantine/core';
import { IconChartLine } from '@tabler/icons-react';
import type { Series } from '../../../src/core/api';
import { formatDate, formatNumber } from '../format';

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** A series per day as a line or bar chart (drawn by @mantine/charts on recharts). */
export function DayChart(props: {
  series: Series | undefined;
  label: string;
  kind: 'line' | 'bar';
  color?: string;
  loading?: boolean;
  testId: string;
}) {
  const points = props.series?.points ?? [];
  const data = points.map((p) => ({ day: p.day, label: formatDate(p.day), value: p.value }));
  const common = {
    h: 300,
    data,
    dataKey: 'label',
    series: [{ name: 'value', label: props.label, color: props.color ?? 'blue.6' }],
    valueFormatter: (v: number) => formatNumber(v),
    yAxisProps: { tickFormatter: (v: number) => compact.format(v), width: 56 },
    gridAxis: 'x' as const,
    tickLine: 'none' as const,
  };
  return (
    <Paper
      withBorder
      p="md"
      radius="md"
      data-testid={props.testId}
      data-points={points.length}
      style={{ opacity: props.loading ? 0.55 : 1, transition: 'opacity 150ms' }}
    >
      {points.length === 0 ? (
        <Center h={300}>
          <Stack align="center" gap={6}>
            <IconChartLine size={32} stroke={1.3} color="var(--mantine-color-gray-5)" />
            <Text c="dimmed" fz="sm">
              {props.loading ? 'Loading…' : 'No data for this choice yet'}
            </Text>
          </Stack>
        </Center>
      ) : props.kind === 'bar' ? (
        <BarChart {...common} maxBarWidth={64} />
      ) : (
        <LineChart
          {...common}
          curveType="monotone"
          withDots={points.length <= 60}
          // Room at both ends: the first point off the y axis, the last day's label unclipped.
          xAxisProps={{ padding: { left: 32, right: 32 } }}
        />
      )}
    </Paper>
  );
}
