import { Card, Group, Pagination, ScrollArea, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconSearch } from '@tabler/icons-react';
import { useState, type ReactNode } from 'react';
import type { PageQuery } from '../../../src/core/api';
import { call } from '../api';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDateTimeShort, formatNumber } from '../format';
import { useResource } from '../use-resource';

const PAGE = 50;

function SearchBar(props: {
  value: string;
  onChange: (v: string) => void;
  placeholder: string;
  total: number | undefined;
  noun: string;
  testId: string;
}) {
  return (
    <Group justify="space-between" mb="md">
      <TextInput
        w={360}
        leftSection={<IconSearch size={14} />}
        placeholder={props.placeholder}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
        data-testid={props.testId}
      />
      <Text c="dimmed" fz="sm">
        {props.total === undefined ? '' : `${formatNumber(props.total)} ${props.noun}`}
      </Text>
    </Group>
  );
}

function Pager(props: { total: number; page: number; onPage: (p: number) => void }) {
  const pages = Math.ceil(props.total / PAGE);
  if (pages <= 1) return null;
  return (
    <Group justify="flex-end" mt="md">
      <Pagination total={pages} value={props.page} onChange={props.onPage} size="sm" />
    </Group>
  );
}

function Dim(props: { children: ReactNode }) {
  return (
    <Text span c="dimmed" fz="sm">
      {props.children}
    </Text>
  );
}

/**
 * A searchable, paged table of the people data lands on: endusers or companies. `noun` names the
 * test ids (`<noun>-search`, `-empty`, `-table`); `row` renders one item's `<Table.Tr>`.
 */
function PeopleTab<T>(props: {
  noun: 'endusers' | 'companies';
  one: string;
  load: (query: PageQuery, signal: AbortSignal) => Promise<{ total: number; items: T[] }>;
  placeholder: string;
  emptyHint: string;
  head: ReactNode;
  row: (item: T, index: number) => ReactNode;
}) {
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 300);
  const [page, setPage] = useState(1);
  const res = useResource(
    (signal) =>
      props.load(
        { search: debounced || undefined, limit: PAGE, offset: (page - 1) * PAGE },
        signal,
      ),
    `${props.noun}:${debounced}:${page}`,
  );
  const items = res.data?.items ?? [];
  return (
    <>
      <SearchBar
        value={search}
        onChange={(v) => {
          setSearch(v);
          setPage(1);
        }}
        placeholder={props.placeholder}
        total={res.data?.total}
        noun={props.noun}
        testId={`${props.noun}-search`}
      />
      {res.loading ? (
        <LoadingState />
      ) : res.error !== undefined && !res.data ? (
        <ErrorState error={res.error} />
      ) : items.length === 0 ? (
        <EmptyState
          title={debounced ? `No ${props.one} matches “${debounced}”` : `No ${props.noun} yet`}
          description={debounced ? undefined : props.emptyHint}
          testId={`${props.noun}-empty`}
        />
      ) : (
        <Card padding={0} style={{ opacity: res.fetching ? 0.7 : 1 }}>
          <ScrollArea type="auto">
            <Table data-testid={`${props.noun}-table`} verticalSpacing="sm" horizontalSpacing="md">
              <Table.Thead>
                <Table.Tr>{props.head}</Table.Tr>
              </Table.Thead>
              <Table.Tbody>{items.map(props.row)}</Table.Tbody>
            </Table>
          </ScrollArea>
        </Card>
      )}
      <Pager total={res.data?.total ?? 0} page={page} onPage={setPage} />
    </>
  );
}

/** Data → Endusers: every enduser seen, with activity counts; searchable. */
export function EndusersTab() {
  return (
    <PeopleTab
      noun="endusers"
      one="enduser"
      load={(query, signal) => call('listEndusers', { query, signal })}
      placeholder="Search externalId, email or name"
      emptyHint="Endusers appear when user activities land."
      head={
        <>
          <Table.Th>externalId</Table.Th>
          <Table.Th>Email</Table.Th>
          <Table.Th>Name</Table.Th>
          <Table.Th>Company</Table.Th>
          <Table.Th ta="right">Activities</Table.Th>
          <Table.Th ta="right">Weighted</Table.Th>
          <Table.Th>First seen</Table.Th>
          <Table.Th>Last seen</Table.Th>
        </>
      }
      row={(u, i) => (
        <Table.Tr key={`${u.externalId ?? ''}|${u.email ?? ''}|${i}`} data-testid="enduser-row">
          <Table.Td className="mono">{u.externalId ?? <Dim>—</Dim>}</Table.Td>
          <Table.Td>{u.email ?? <Dim>—</Dim>}</Table.Td>
          <Table.Td>{u.name ?? <Dim>—</Dim>}</Table.Td>
          <Table.Td className="mono">{u.companyExternalId ?? <Dim>unassigned</Dim>}</Table.Td>
          <Table.Td ta="right">{formatNumber(u.activities)}</Table.Td>
          <Table.Td ta="right">{formatNumber(u.weightedActivities)}</Table.Td>
          <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTimeShort(u.firstSeen)}</Table.Td>
          <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTimeShort(u.lastSeen)}</Table.Td>
        </Table.Tr>
      )}
    />
  );
}

/** Data → Companies: every company seen, with activity and metric counts; searchable. */
export function CompaniesTab() {
  return (
    <PeopleTab
      noun="companies"
      one="company"
      load={(query, signal) => call('listCompanies', { query, signal })}
      placeholder="Search externalId"
      emptyHint="Companies appear when activities with a company or metrics on the Company model land."
      head={
        <>
          <Table.Th>externalId</Table.Th>
          <Table.Th ta="right">Activities</Table.Th>
          <Table.Th ta="right">Weighted</Table.Th>
          <Table.Th ta="right">Metric points</Table.Th>
          <Table.Th>First seen</Table.Th>
          <Table.Th>Last seen</Table.Th>
        </>
      }
      row={(c) => (
        <Table.Tr key={c.externalId} data-testid="company-row">
          <Table.Td className="mono" fw={600}>
            {c.externalId}
          </Table.Td>
          <Table.Td ta="right">{formatNumber(c.activities)}</Table.Td>
          <Table.Td ta="right">{formatNumber(c.weightedActivities)}</Table.Td>
          <Table.Td ta="right">{formatNumber(c.metricPoints)}</Table.Td>
          <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTimeShort(c.firstSeen)}</Table.Td>
          <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTimeShort(c.lastSeen)}</Table.Td>
        </Table.Tr>
      )}
    />
  );
}
