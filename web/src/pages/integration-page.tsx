import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Group,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import {
  IconCode,
  IconEdit,
  IconList,
  IconPlayerPlay,
  IconPlus,
  IconRefresh,
  IconPlayerPause,
} from '@tabler/icons-react';
import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import type { SectionView } from '../../../src/core/api';
import { call, errorMessage } from '../api';
import { useAuth } from '../auth';
import { PageHeader } from '../components/page-header';
import { ResyncModal } from '../components/resync-modal';
import { SqlConsoleModal } from '../components/sql-console';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { StatusArrow } from '../components/status-arrow';
import {
  DATA_TYPE_LABELS,
  formatDateTime,
  formatNumber,
  formatRelative,
  scheduleSentence,
} from '../format';
import { useResource } from '../use-resource';

function Stat(props: {
  label: string;
  children: ReactNode;
  testId?: string;
  hint?: string;
  wrap?: boolean;
}) {
  const body = (
    <div data-testid={props.testId}>
      <Text fz={11} tt="uppercase" fw={700} c="dimmed" lts={0.4}>
        {props.label}
      </Text>
      <Text
        fz="sm"
        fw={500}
        mt={2}
        truncate={!props.wrap}
        style={props.wrap ? { wordBreak: 'break-all' } : undefined}
      >
        {props.children}
      </Text>
    </div>
  );
  return props.hint ? <Tooltip label={props.hint}>{body}</Tooltip> : body;
}

function SectionRow(props: {
  section: SectionView;
  integration: string;
  canEdit: boolean;
  onRun: () => void;
  onResync: () => void;
  running: boolean;
  /** The scheduler's time zone, for daily schedules. */
  timeZone: string | undefined;
}) {
  const s = props.section;
  const st = s.status;
  const base = `/integrations/${encodeURIComponent(props.integration)}/sections/${s.id}`;
  const lastRun = st.lastRun;
  return (
    <Card padding="md" data-testid="section-row" data-section={s.name} data-state={st.state}>
      <Group justify="space-between" wrap="nowrap" align="flex-start" gap="lg">
        <Group gap="md" wrap="nowrap" align="flex-start" style={{ minWidth: 0, flex: 1 }}>
          <StatusArrow state={st.state} error={st.lastError} size={36} />
          <Stack gap={4} style={{ minWidth: 0, flex: 1 }}>
            <Group gap="xs">
              <Text
                component={Link}
                to={props.canEdit ? base : `${base}/logs`}
                fw={650}
                fz="md"
                c="var(--mantine-color-text)"
                data-testid="section-name"
              >
                {s.name}
              </Text>
              <Badge variant="light" color={s.dataType === 'metrics' ? 'violet' : 'cyan'} size="sm">
                {DATA_TYPE_LABELS[s.dataType]}
                {s.dataType === 'metrics' && s.model ? ` · ${s.model}` : ''}
              </Badge>
              {s.direction === 'off' && (
                <Badge variant="outline" color="gray" size="sm">
                  Not syncing
                </Badge>
              )}
              {st.scheduler === 'backoff' && (
                <Badge variant="light" color="orange" size="sm">
                  Backing off · {st.failures} failures
                </Badge>
              )}
            </Group>
            <Text fz="sm" c="dimmed" truncate>
              <span className="mono">{s.table}</span> · key <span className="mono">{s.key}</span> ·
              batches of {formatNumber(s.batchSize)} ·{' '}
              {scheduleSentence(s.schedule, props.timeZone)}
            </Text>
            {st.state === 'failing' && st.lastError && (
              <Text fz="xs" c="red" lineClamp={2} data-testid="section-error">
                {st.lastError}
              </Text>
            )}
            <SimpleGrid cols={{ base: 2, md: 5 }} spacing="md" mt={8}>
              <Stat label="Last run" testId="section-last-run" hint={formatDateTime(st.lastRunAt)}>
                {st.lastRunAt ? formatRelative(st.lastRunAt) : 'Never'}
                {lastRun && (
                  <Text span fz="xs" c={lastRun.status === 'failed' ? 'red' : 'dimmed'}>
                    {' '}
                    · {lastRun.status}
                  </Text>
                )}
              </Stat>
              <Stat label="Next run" testId="section-next-run" hint={formatDateTime(st.nextRunAt)}>
                {st.state === 'off' ? '—' : st.nextRunAt ? formatRelative(st.nextRunAt) : '—'}
              </Stat>
              <Stat label="Cursor" testId="section-cursor" hint="The last key landed" wrap>
                <span className="mono">{s.cursor ?? '(start)'}</span>
              </Stat>
              <Stat label="Landed" testId="section-landed">
                {formatNumber(s.landed)}
              </Stat>
              <Stat label="Rejected" testId="section-rejected">
                <Text span c={s.rejected > 0 ? 'orange' : undefined} fz="sm" fw={500}>
                  {formatNumber(s.rejected)}
                </Text>
              </Stat>
            </SimpleGrid>
          </Stack>
        </Group>
        <Stack gap={8} align="flex-end">
          <Group gap={6} wrap="nowrap">
            {props.canEdit && (
              <Button
                size="xs"
                variant="light"
                leftSection={<IconPlayerPlay size={14} />}
                onClick={props.onRun}
                loading={props.running}
                disabled={st.state === 'running'}
                data-testid="section-run-now"
              >
                Run now
              </Button>
            )}
            <Button
              size="xs"
              variant="default"
              leftSection={<IconList size={14} />}
              component={Link}
              to={`${base}/logs`}
              data-testid="section-show-logs"
            >
              Show logs
            </Button>
            {props.canEdit && (
              <Tooltip label="Edit section">
                <ActionIcon
                  variant="default"
                  size={30}
                  component={Link}
                  to={base}
                  aria-label="Edit section"
                  data-testid="section-edit"
                >
                  <IconEdit size={16} />
                </ActionIcon>
              </Tooltip>
            )}
            {props.canEdit && (
              <Tooltip label="Re-sync: fetch again from a point you choose">
                <ActionIcon
                  color="red"
                  variant="filled"
                  size={30}
                  onClick={props.onResync}
                  aria-label="Re-sync"
                  data-testid="section-resync"
                >
                  <IconRefresh size={16} />
                </ActionIcon>
              </Tooltip>
            )}
          </Group>
        </Stack>
      </Group>
    </Card>
  );
}

/** One integration: its sections with status arrows, last and next run, cursor and actions. */
export function IntegrationPage() {
  const { name = '' } = useParams();
  const auth = useAuth();
  const canEdit = auth.can('admin');
  const res = useResource(
    (signal) => call('getIntegration', { params: { name }, signal }),
    `integration:${name}`,
    4000,
  );
  // Daily schedules run at the hour of the scheduler's time zone: say which.
  const health = useResource((signal) => call('health', { signal }), 'health');
  const [resync, setResync] = useState<SectionView>();
  const [runningId, setRunningId] = useState<number>();
  const [consoleOpen, setConsoleOpen] = useState(false);
  const [pendingEnabled, setPendingEnabled] = useState<boolean>();

  if (res.loading) return <LoadingState label="Loading integration…" />;
  if (!res.data) return <ErrorState error={res.error} title={`Integration ${name}`} />;
  const integration = res.data.integration;
  const newSection = `/integrations/${encodeURIComponent(name)}/sections/new`;

  const runNow = async (s: SectionView) => {
    setRunningId(s.id);
    try {
      await call('runSection', { params: { id: s.id } });
      notifications.show({
        color: 'blue',
        title: `${s.name}: run queued`,
        message: 'It starts as soon as the section is free.',
      });
      await res.reload();
    } catch (err) {
      notifications.show({
        color: 'red',
        title: `Could not run ${s.name}`,
        message: errorMessage(err),
      });
    } finally {
      setRunningId(undefined);
    }
  };

  const toggle = async (enabled: boolean) => {
    setPendingEnabled(enabled);
    try {
      const r = await call('updateIntegration', { params: { name }, body: { enabled } });
      res.setData(r);
    } catch (err) {
      notifications.show({
        color: 'red',
        title: 'Could not switch the integration',
        message: errorMessage(err),
      });
    } finally {
      setPendingEnabled(undefined);
    }
  };

  const counts = integration.sections.reduce<Record<string, number>>((acc, s) => {
    acc[s.status.state] = (acc[s.status.state] ?? 0) + 1;
    return acc;
  }, {});

  return (
    <>
      <PageHeader
        crumbs={[{ label: 'Integrations', to: '/integrations' }, { label: integration.name }]}
        title={
          <Group gap="sm">
            {integration.name}
            <Badge
              color={integration.enabled ? 'teal' : 'gray'}
              variant="light"
              size="lg"
              data-testid="integration-state"
            >
              {integration.enabled ? 'On' : 'Off'}
            </Badge>
          </Group>
        }
        description={
          <>
            MySQL{' '}
            <span className="mono">{`${integration.mysql.host}:${integration.mysql.port}/${integration.mysql.database}`}</span>
            {integration.mysql.user ? ` as ${integration.mysql.user}` : ''}
            {integration.mysql.ssl ? ` · TLS ${integration.mysql.ssl.mode}` : ''}
          </>
        }
        actions={
          <>
            {canEdit && (
              <Switch
                size="lg"
                onLabel="On"
                offLabel="Off"
                aria-label="Integration on or off"
                checked={pendingEnabled ?? integration.enabled}
                disabled={pendingEnabled !== undefined}
                onChange={(e) => void toggle(e.currentTarget.checked)}
                data-testid="integration-toggle"
              />
            )}
            {auth.can('superadmin') && (
              <Button
                variant="default"
                leftSection={<IconCode size={16} />}
                onClick={() => setConsoleOpen(true)}
                data-testid="integration-sql"
              >
                SQL query
              </Button>
            )}
            {canEdit && (
              <Button
                component={Link}
                to={newSection}
                leftSection={<IconPlus size={16} />}
                data-testid="add-section"
              >
                Add new section
              </Button>
            )}
          </>
        }
      />

      {!integration.enabled && integration.sections.length > 0 && (
        <Alert
          color="gray"
          variant="light"
          icon={<IconPlayerPause size={18} />}
          mb="md"
          data-testid="integration-off-note"
        >
          This integration is off: its sections do not run on schedule. Turn it on to start syncing.
        </Alert>
      )}

      {integration.sections.length === 0 ? (
        <EmptyState
          title="No sections yet"
          description="A section syncs one table: choose the data type, the table, the key and the field mappings. Add one to start landing data."
          action={
            canEdit && (
              <Button component={Link} to={newSection} leftSection={<IconPlus size={16} />}>
                Add new section
              </Button>
            )
          }
          testId="sections-empty"
        />
      ) : (
        <Stack gap="sm">
          <Group gap="lg" mb={4}>
            <Text fz="sm" c="dimmed">
              {integration.sections.length} section{integration.sections.length === 1 ? '' : 's'}
            </Text>
            {(['active', 'running', 'failing', 'off'] as const)
              .filter((k) => counts[k])
              .map((k) => (
                <Group key={k} gap={6}>
                  <StatusArrow state={k} size={18} />
                  <Text fz="sm" c="dimmed">
                    {counts[k]} {k}
                  </Text>
                </Group>
              ))}
          </Group>
          {integration.sections.map((s) => (
            <SectionRow
              key={s.id}
              section={s}
              integration={integration.name}
              canEdit={canEdit}
              running={runningId === s.id}
              timeZone={health.data?.timeZone}
              onRun={() => void runNow(s)}
              onResync={() => setResync(s)}
            />
          ))}
        </Stack>
      )}

      {resync && (
        <ResyncModal
          section={resync}
          onClose={() => setResync(undefined)}
          onDone={() => void res.reload()}
        />
      )}
      {consoleOpen && (
        <SqlConsoleModal integration={integration.name} onClose={() => setConsoleOpen(false)} />
      )}
    </>
  );
}
