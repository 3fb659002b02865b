import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  NumberInput,
  PasswordInput,
  ScrollArea,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { IconBell, IconKey, IconPlus, IconTrash, IconUser, IconUsers } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import {
  MIN_PASSWORD_LENGTH,
  ROLES,
  type IntegrationView,
  type Role,
  type SectionView,
  type User,
} from '../../../src/core/api';
import { call, errorMessage, fieldErrors } from '../api';
import { ROLE_LABELS, useAuth } from '../auth';
import { PageHeader } from '../components/page-header';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDateTime } from '../format';
import { sectionInputOf } from '../section-input';
import { useResource } from '../use-resource';
import { TokensTab } from './settings-tokens-tab';

const ROLE_TEXT: Record<Role, string> = {
  viewer: 'Sees the integrations, their status, logs and the landed data.',
  admin: 'Also edits integrations and sections, runs and re-syncs them.',
  superadmin: 'Also uses the SQL query interface and manages users.',
};
const ROLE_DATA = ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] }));

function AccountTab() {
  const { user } = useAuth();
  if (!user) return null;
  return (
    <Card maw={640}>
      <Stack gap="xs">
        <Text fz="sm" c="dimmed">
          Signed in as
        </Text>
        <Group gap="sm">
          <Text fw={650} fz="lg">
            {user.email}
          </Text>
          <Badge variant="light">{ROLE_LABELS[user.role]}</Badge>
        </Group>
        <Text fz="sm">{ROLE_TEXT[user.role]}</Text>
        <Text fz="sm" c="dimmed">
          Last login {formatDateTime(user.lastLoginAt)} · member since{' '}
          {formatDateTime(user.createdAt)}
        </Text>
      </Stack>
    </Card>
  );
}

function AddUserModal(props: { onClose: () => void; onAdded: (u: User) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const fields = fieldErrors(error);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res = await call('createUser', { body: { email: email.trim(), password, role } });
      props.onAdded(res.user);
      props.onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={props.onClose} title={<Text fw={650}>Add a user</Text>} centered>
      <form onSubmit={(e) => void submit(e)} noValidate data-testid="add-user-modal">
        <Stack gap="md">
          <TextInput
            label="Email"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={fields['email']}
            data-testid="add-user-email"
            autoFocus
          />
          <PasswordInput
            label="Password"
            required
            description={`At least ${MIN_PASSWORD_LENGTH} characters; hand it over safely`}
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={fields['password']}
            data-testid="add-user-password"
          />
          <Select
            label="Role"
            data={ROLE_DATA}
            value={role}
            onChange={(v) => v && setRole(v as Role)}
            allowDeselect={false}
            description={ROLE_TEXT[role]}
            error={fields['role']}
            data-testid="add-user-role"
          />
          {error !== undefined && Object.keys(fields).length === 0 && (
            <Alert color="red" variant="light">
              {errorMessage(error)}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy} data-testid="add-user-submit">
              Add user
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function UsersTab() {
  const auth = useAuth();
  const users = useResource((signal) => call('listUsers', { signal }), 'users');
  const [adding, setAdding] = useState(false);
  const list = users.data?.users ?? [];

  const changeRole = async (u: User, role: Role) => {
    try {
      const res = await call('updateUser', { params: { id: u.id }, body: { role } });
      users.setData({ users: list.map((x) => (x.id === u.id ? res.user : x)) });
      notifications.show({
        color: 'teal',
        title: 'Role changed',
        message: `${u.email} is now ${ROLE_LABELS[role]}.`,
      });
    } catch (err) {
      notifications.show({
        color: 'red',
        title: 'Could not change the role',
        message: errorMessage(err),
      });
    }
  };
  const remove = (u: User) =>
    modals.openConfirmModal({
      title: `Delete ${u.email}?`,
      children: (
        <Text fz="sm">Their sessions end at once. The audit log keeps their past actions.</Text>
      ),
      labels: { confirm: 'Delete user', cancel: 'Cancel' },
      confirmProps: { color: 'red' },
      onConfirm: () => {
        void call('deleteUser', { params: { id: u.id } })
          .then(() => users.setData({ users: list.filter((x) => x.id !== u.id) }))
          .catch((err: unknown) =>
            notifications.show({
              color: 'red',
              title: 'Could not delete the user',
              message: errorMessage(err),
            }),
          );
      },
    });

  if (users.loading) return <LoadingState />;
  if (users.error !== undefined && !users.data) return <ErrorState error={users.error} />;
  return (
    <Card padding={0}>
      <Group justify="space-between" p="md">
        <div>
          <Title order={4}>Users</Title>
          <Text fz="sm" c="dimmed">
            Viewers see; admins edit integrations and sections; super admins also query and manage
            users.
          </Text>
        </div>
        <Button
          leftSection={<IconPlus size={16} />}
          onClick={() => setAdding(true)}
          data-testid="add-user"
        >
          Add user
        </Button>
      </Group>
      <ScrollArea type="auto">
        <Table data-testid="users-table" verticalSpacing="sm" horizontalSpacing="md">
          <Table.Thead bg="gray.0">
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Th w={200}>Role</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>Last login</Table.Th>
              <Table.Th w={60} />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.map((u) => {
              const me = u.id === auth.user?.id;
              return (
                <Table.Tr key={u.id} data-testid="user-row" data-email={u.email}>
                  <Table.Td>
                    <Group gap="xs">
                      <Text fz="sm" fw={500}>
                        {u.email}
                      </Text>
                      {me && (
                        <Badge size="xs" variant="outline">
                          you
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Select
                      size="xs"
                      data={ROLE_DATA}
                      value={u.role}
                      onChange={(v) => v && v !== u.role && void changeRole(u, v as Role)}
                      allowDeselect={false}
                      disabled={me}
                      aria-label={`Role of ${u.email}`}
                      data-testid="user-role-select"
                    />
                  </Table.Td>
                  <Table.Td fz="sm">{formatDateTime(u.createdAt)}</Table.Td>
                  <Table.Td fz="sm">
                    {u.lastLoginAt ? formatDateTime(u.lastLoginAt) : 'Never'}
                  </Table.Td>
                  <Table.Td>
                    <Tooltip label={me ? 'You cannot delete yourself' : 'Delete user'}>
                      <ActionIcon
                        variant="subtle"
                        color="red"
                        disabled={me}
                        onClick={() => remove(u)}
                        aria-label={`Delete ${u.email}`}
                        data-testid="user-delete"
                      >
                        <IconTrash size={16} />
                      </ActionIcon>
                    </Tooltip>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </ScrollArea>
      {adding && (
        <AddUserModal
          onClose={() => setAdding(false)}
          onAdded={(u) => {
            users.setData({ users: [...list, u] });
            notifications.show({
              color: 'teal',
              title: 'User added',
              message: `${u.email} (${ROLE_LABELS[u.role]})`,
            });
          }}
        />
      )}
    </Card>
  );
}

function SectionAlertRow(props: {
  section: SectionView;
  canEdit: boolean;
  onSaved: (s: SectionView) => void;
}) {
  const s = props.section;
  const [webhook, setWebhook] = useState(s.alerts?.webhook ?? '');
  const [threshold, setThreshold] = useState<number | string>(s.alerts?.rejectThreshold ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const fields = fieldErrors(error);
  const dirty =
    webhook !== (s.alerts?.webhook ?? '') ||
    String(threshold) !== String(s.alerts?.rejectThreshold ?? '');
  const save = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const input = sectionInputOf(s);
      const alerts = {
        ...(webhook.trim() ? { webhook: webhook.trim() } : {}),
        ...(threshold !== '' ? { rejectThreshold: Number(threshold) } : {}),
      };
      const res = await call('updateSection', {
        params: { id: s.id },
        body: { ...input, alerts: Object.keys(alerts).length ? alerts : undefined },
      });
      props.onSaved(res.section);
      notifications.show({ color: 'teal', title: 'Alerts saved', message: s.name });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Table.Tr data-testid="alerts-section-row" data-section={s.name}>
      <Table.Td fw={500}>{s.name}</Table.Td>
      <Table.Td>
        <TextInput
          size="xs"
          placeholder="Integration's webhook"
          value={webhook}
          onChange={(e) => setWebhook(e.currentTarget.value)}
          error={fields['alerts.webhook']}
          readOnly={!props.canEdit}
          aria-label={`Webhook of ${s.name}`}
        />
      </Table.Td>
      <Table.Td w={170}>
        <NumberInput
          size="xs"
          placeholder="Never"
          min={0}
          allowDecimal={false}
          value={threshold}
          onChange={setThreshold}
          error={fields['alerts.rejectThreshold']}
          readOnly={!props.canEdit}
          aria-label={`Reject threshold of ${s.name}`}
          data-testid="alerts-threshold"
        />
      </Table.Td>
      <Table.Td w={90}>
        {props.canEdit && (
          <Button
            size="xs"
            variant="light"
            disabled={!dirty}
            loading={busy}
            onClick={() => void save()}
            data-testid="alerts-section-save"
          >
            Save
          </Button>
        )}
        {error !== undefined && Object.keys(fields).length === 0 && (
          <Text fz="xs" c="red">
            {errorMessage(error)}
          </Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

function IntegrationAlerts(props: {
  integration: IntegrationView;
  canEdit: boolean;
  onChange: (i: IntegrationView) => void;
}) {
  const i = props.integration;
  const [webhook, setWebhook] = useState(i.alerts?.webhook ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const fields = fieldErrors(error);
  const save = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const res = await call('updateIntegration', {
        params: { name: i.name },
        body: { alerts: webhook.trim() ? { webhook: webhook.trim() } : null },
      });
      props.onChange(res.integration);
      notifications.show({
        color: 'teal',
        title: 'Alerts saved',
        message: `Integration ${i.name}`,
      });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card data-testid="alerts-card" data-integration={i.name}>
      <Title order={4}>{i.name}</Title>
      <Text fz="sm" c="dimmed" mb="md">
        One JSON message when a section starts failing, one when it recovers, and one when a run
        rejects more rows than the section&apos;s threshold.
      </Text>
      <Group align="flex-start" gap="sm">
        <TextInput
          style={{ flex: 1 }}
          label="Webhook URL"
          placeholder="https://hooks.example.com/sluice"
          value={webhook}
          onChange={(e) => setWebhook(e.currentTarget.value)}
          error={fields['alerts.webhook'] ?? fields['alerts']}
          readOnly={!props.canEdit}
          data-testid="alerts-webhook"
        />
        {props.canEdit && (
          <Button
            mt={25}
            onClick={() => void save()}
            loading={busy}
            disabled={webhook === (i.alerts?.webhook ?? '')}
            data-testid="alerts-save"
          >
            Save
          </Button>
        )}
      </Group>
      {error !== undefined && Object.keys(fields).length === 0 && (
        <Text c="red" fz="sm" mt="xs">
          {errorMessage(error)}
        </Text>
      )}
      {i.sections.length > 0 && (
        <ScrollArea type="auto" mt="lg">
          <Table verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Section</Table.Th>
                <Table.Th>Own webhook (optional)</Table.Th>
                <Table.Th>Reject threshold</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {i.sections.map((s) => (
                <SectionAlertRow
                  key={s.id}
                  section={s}
                  canEdit={props.canEdit}
                  onSaved={(saved) =>
                    props.onChange({
                      ...i,
                      sections: i.sections.map((x) => (x.id === saved.id ? saved : x)),
                    })
                  }
                />
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Card>
  );
}

function AlertsTab() {
  const auth = useAuth();
  const list = useResource((signal) => call('listIntegrations', { signal }), 'integrations');
  if (list.loading) return <LoadingState />;
  if (list.error !== undefined && !list.data) return <ErrorState error={list.error} />;
  const integrations = list.data?.integrations ?? [];
  if (integrations.length === 0) {
    return (
      <EmptyState
        title="No integrations yet"
        description="Alerts are set per integration and section."
      />
    );
  }
  return (
    <Stack gap="lg">
      {integrations.map((i) => (
        <IntegrationAlerts
          key={i.name}
          integration={i}
          canEdit={auth.can('admin')}
          onChange={(next) =>
            list.setData({
              integrations: integrations.map((x) => (x.name === next.name ? next : x)),
            })
          }
        />
      ))}
    </Stack>
  );
}

/** Settings: your account, users (super admins), alert webhooks and thresholds. */
export function SettingsPage() {
  const auth = useAuth();
  const superadmin = auth.can('superadmin');
  const admin = auth.can('admin');
  const [tab, setTab] = useState<string | null>(superadmin ? 'users' : 'account');
  return (
    <>
      <PageHeader title="Settings" description="Who can use Sluice, and where its alerts go." />
      <Tabs value={tab} onChange={setTab} variant="outline" keepMounted={false}>
        <Tabs.List mb="lg">
          {superadmin && (
            <Tabs.Tab
              value="users"
              leftSection={<IconUsers size={16} />}
              data-testid="settings-tab-users"
            >
              Users
            </Tabs.Tab>
          )}
          <Tabs.Tab
            value="alerts"
            leftSection={<IconBell size={16} />}
            data-testid="settings-tab-alerts"
          >
            Alerts
          </Tabs.Tab>
          {admin && (
            <Tabs.Tab
              value="tokens"
              leftSection={<IconKey size={16} />}
              data-testid="settings-tab-tokens"
            >
              API tokens
            </Tabs.Tab>
          )}
          <Tabs.Tab
            value="account"
            leftSection={<IconUser size={16} />}
            data-testid="settings-tab-account"
          >
            Your account
          </Tabs.Tab>
        </Tabs.List>
        {superadmin && (
          <Tabs.Panel value="users">
            <UsersTab />
          </Tabs.Panel>
        )}
        <Tabs.Panel value="alerts">
          <AlertsTab />
        </Tabs.Panel>
        {admin && (
          <Tabs.Panel value="tokens">
            <TokensTab />
          </Tabs.Panel>
        )}
        <Tabs.Panel value="account">
          <AccountTab />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
