import {
  Badge,
  Card,
  Group,
  ScrollArea,
  Select,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { IconLock } from '@tabler/icons-react';
import { useState } from 'react';
import { call } from '../api';
import { useAuth } from '../auth';
import { PageHeader } from '../components/page-header';
import { SqlConsole } from '../components/sql-console';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDateTime } from '../format';
import { useResource } from '../use-resource';

function RecentQueries(props: { reloadKey: string }) {
  const audit = useResource(
    (signal) => call('listAudit', { query: { action: 'query', limit: 20 }, signal }),
    `audit:${props.reloadKey}`,
    15_000,
  );
  const entries = audit.data?.entries ?? [];
  return (
    <Card>
      <Title order={4} mb={4}>
        Audit log of queries
      </Title>
      <Text fz="sm" c="dimmed" mb="md">
        The last 20 console queries, by whom and when.
      </Text>
      {audit.loading ? (
        <LoadingState />
      ) : audit.error !== undefined ? (
        <ErrorState error={audit.error} title="Cannot load the audit log" />
      ) : entries.length === 0 ? (
        <Text fz="sm" c="dimmed" ta="center" py="md">
          No query has been run yet.
        </Text>
      ) : (
        <ScrollArea type="auto">
          <Table fz="xs" data-testid="audit-table" verticalSpacing={6}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When</Table.Th>
                <Table.Th>Who</Table.Th>
                <Table.Th>Integration</Table.Th>
                <Table.Th>Query</Table.Th>
                <Table.Th>Result</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {entries.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(e.at)}</Table.Td>
                  <Table.Td>{e.email}</Table.Td>
                  <Table.Td>{e.integration ?? '—'}</Table.Td>
                  <Table.Td maw={420}>
                    <Tooltip
                      label={
                        <Text className="mono" fz="xs">
                          {e.detail}
                        </Text>
                      }
                    >
                      <Text className="mono" fz="xs" truncate>
                        {e.detail}
                      </Text>
                    </Tooltip>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <Badge size="xs" color={e.outcome === 'ok' ? 'teal' : 'red'} variant="light">
                        {e.outcome}
                      </Badge>
                      <Text fz="xs" c="dimmed" truncate maw={220}>
                        {e.result}
                      </Text>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Card>
  );
}

/** The SQL query interface as a page (super admins): pick an integration, run a read-only query. */
export function QueryPage() {
  const auth = useAuth();
  const allowed = auth.can('superadmin');
  const list = useResource(
    (signal) => (allowed ? call('listIntegrations', { signal }) : Promise.resolve(null)),
    'integrations',
  );
  const [picked, setPicked] = useState<string | null>(null);
  const [runs, setRuns] = useState(0);

  if (!allowed) {
    return (
      <>
        <PageHeader title="SQL query" />
        <EmptyState
          icon={<IconLock size={26} stroke={1.5} />}
          title="Super admins only"
          description="The SQL query interface runs queries against your MySQL database. Ask a super admin if you need it."
          testId="query-forbidden"
        />
      </>
    );
  }
  const integrations = list.data?.integrations ?? [];
  const current = picked ?? integrations[0]?.name ?? null;

  return (
    <>
      <PageHeader
        title="SQL query"
        description="Troubleshoot an integration by querying its MySQL database directly."
        actions={
          integrations.length > 0 && (
            <Select
              w={240}
              label="Integration"
              data={integrations.map((i) => i.name)}
              value={current}
              onChange={setPicked}
              allowDeselect={false}
              data-testid="query-integration"
            />
          )
        }
      />
      {list.loading ? (
        <LoadingState />
      ) : list.error !== undefined ? (
        <ErrorState error={list.error} />
      ) : !current ? (
        <EmptyState
          title="No integration to query"
          description="Connect a MySQL database on the Integrations page first."
        />
      ) : (
        <Stack gap="lg">
          <Card>
            <SqlConsole key={current} integration={current} onRan={() => setRuns((n) => n + 1)} />
          </Card>
          <RecentQueries reloadKey={String(runs)} />
        </Stack>
      )}
    </>
  );
}
