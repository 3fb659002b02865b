import { Grid, Select, Stack, Table, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconSearch } from '@tabler/icons-react';
import { useState } from 'react';
import { actionParam, NO_ACTION } from '../../../src/core/api';
import { call } from '../api';
import { SeriesCard, SummaryHeader, SummaryTable } from '../components/data-summary';
import { OriginBadges } from '../components/origin-badges';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDate, formatNumber } from '../format';
import { useResource } from '../use-resource';

/** Data → Activities: every action with its counts, and its weighted count per day. */
export function ActivitiesTab() {
  const list = useResource((signal) => call('listActions', { signal }), 'actions');
  const [picked, setPicked] = useState<string>();
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
      <SummaryHeader
        onRefresh={() => void Promise.all([list.reload(), series.reload()])}
        refreshing={list.fetching}
        refreshTestId="refresh-actions"
      >
        {actions.length} action{actions.length === 1 ? '' : 's'} · each activity counts its weight
        (default 1)
      </SummaryHeader>
      {actions.length === 0 ? (
        <EmptyState
          title="No user activities yet"
          description="Add a section with the data type “User activities”; its actions show up here once a run has landed them."
          testId="activities-empty"
        />
      ) : (
        <>
          <SummaryTable
            testId="actions-table"
            head={
              <>
                <Table.Th>Action</Table.Th>
                <Table.Th ta="right">Activities</Table.Th>
                <Table.Th ta="right">Weighted count</Table.Th>
                <Table.Th ta="right">Endusers</Table.Th>
                <Table.Th>First date</Table.Th>
                <Table.Th>Last date</Table.Th>
                <Table.Th>Origin</Table.Th>
              </>
            }
            rows={actions}
            rowKey={(a) => label(a.action)}
            rowAttributes={(a) => ({ 'data-testid': 'action-row', 'data-action': label(a.action) })}
            isPicked={(a) => selected !== undefined && selected.action === a.action}
            onPick={(a) => setPicked(actionParam(a.action))}
            cells={(a) => (
              <>
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
              </>
            )}
          />
          {selected && (
            <SeriesCard
              title={selected.action ?? '(no action)'}
              description={
                <>
                  Weight-multiplied count of activities
                  {debouncedWho ? ` of ${debouncedWho}` : ', all endusers'}
                </>
              }
              defaultKind="bar"
              series={series}
              chart={{ label: 'Weighted count', color: 'cyan.6', testId: 'action-chart' }}
              controls={
                <>
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
                </>
              }
            />
          )}
        </>
      )}
    </Stack>
  );
}
