import { Button, SimpleGrid, Stack } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useState } from 'react';
import type { IntegrationView } from '../../../src/core/api';
import { call } from '../api';
import { useAuth } from '../auth';
import { MysqlCard } from '../components/mysql-card';
import { PageHeader } from '../components/page-header';
import { SetupGuide } from '../components/setup-guide';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { useResource } from '../use-resource';

function freeName(taken: string[]): string {
  if (!taken.includes('mysql')) return 'mysql';
  for (let i = 2; ; i++) if (!taken.includes(`mysql-${i}`)) return `mysql-${i}`;
}

/** Operations → Integrations: one MySQL card per connection, and a new one to add. */
export function IntegrationsPage() {
  const auth = useAuth();
  const canEdit = auth.can('admin');
  const list = useResource((signal) => call('listIntegrations', { signal }), 'integrations');
  const [adding, setAdding] = useState(false);
  const [newKey, setNewKey] = useState(0);
  // The card that created an integration stays in place (its dialog says what happened).
  const [created, setCreated] = useState<string>();

  const integrations = list.data?.integrations ?? [];
  const replace = (i: IntegrationView) => {
    const others = integrations.filter((x) => x.name !== i.name);
    const at = integrations.findIndex((x) => x.name === i.name);
    const next = at >= 0 ? integrations.map((x) => (x.name === i.name ? i : x)) : [...others, i];
    list.setData({ integrations: next });
  };
  const showNew =
    canEdit &&
    (adding || created !== undefined || (list.data !== undefined && integrations.length === 0));
  const createdView = integrations.find((i) => i.name === created);
  const cards = (showNew ? 1 : 0) + integrations.length - (createdView ? 1 : 0);

  return (
    <>
      <PageHeader
        title="Integrations"
        description="Connect a MySQL database, then add sections that sync its tables into activities and metrics."
        actions={
          canEdit &&
          integrations.length > 0 &&
          !adding &&
          created === undefined && (
            <Button
              leftSection={<IconPlus size={16} />}
              onClick={() => {
                setCreated(undefined);
                setNewKey((k) => k + 1);
                setAdding(true);
              }}
              data-testid="add-integration"
            >
              Add MySQL integration
            </Button>
          )
        }
      />
      {list.loading && <LoadingState label="Loading integrations…" />}
      {list.error !== undefined && !list.data && <ErrorState error={list.error} />}
      {list.data && integrations.length === 0 && !canEdit && (
        <EmptyState
          title="No integrations yet"
          description="An admin connects a MySQL database here. You will see its sections, their status and the landed data."
        />
      )}
      {list.data && (
        <Stack gap="lg">
          <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="lg" style={{ alignItems: 'start' }}>
            {showNew && (
              <MysqlCard
                key={`new-${newKey}`}
                integration={createdView}
                defaultName={freeName(integrations.map((i) => i.name))}
                canEdit={canEdit}
                onChange={(i) => {
                  replace(i);
                  setCreated(i.name);
                  setAdding(false);
                }}
                onCancel={
                  integrations.length > 0 && created === undefined
                    ? () => setAdding(false)
                    : undefined
                }
              />
            )}
            {integrations
              .filter((i) => i.name !== created)
              .map((i) => (
                <MysqlCard key={i.name} integration={i} canEdit={canEdit} onChange={replace} />
              ))}
            {canEdit && cards === 1 && (
              <SetupGuide integration={createdView ?? (showNew ? undefined : integrations[0])} />
            )}
          </SimpleGrid>
        </Stack>
      )}
    </>
  );
}
