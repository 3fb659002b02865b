import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Divider,
  Group,
  NumberInput,
  SegmentedControl,
  Stack,
  Switch,
  Text,
  TextInput,
  ThemeIcon,
  Tooltip,
  Input,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconArrowRight, IconBrandMysql, IconKey } from '@tabler/icons-react';
import { useState } from 'react';
import { Link } from 'react-router';
import type { IntegrationView, Tls } from '../../../src/core/api';
import { ApiError, call, errorMessage, fieldErrors } from '../api';
import { CredentialsDialog, type SetUpResult } from './credentials-dialog';

type TlsChoice = 'none' | Tls['mode'];

interface Draft {
  name: string;
  host: string;
  port: number | string;
  database: string;
  tls: TlsChoice;
  ca: string;
}

function draftOf(i: IntegrationView | undefined, defaultName: string): Draft {
  return {
    name: i?.name ?? defaultName,
    host: i?.mysql.host ?? '',
    port: i?.mysql.port ?? 3306,
    database: i?.mysql.database ?? '',
    tls: i?.mysql.ssl?.mode ?? 'none',
    ca: i?.mysql.ssl?.ca ?? '',
  };
}

function sslOf(d: Draft): Tls | undefined {
  if (d.tls === 'none') return undefined;
  if (d.tls === 'verify-ca')
    return { mode: 'verify-ca', ...(d.ca.trim() ? { ca: d.ca.trim() } : {}) };
  return { mode: 'required' };
}

function portOf(d: Draft): number {
  return typeof d.port === 'number' ? d.port : Number(d.port) || 3306;
}

/**
 * The MySQL card: hostname and port, the blue key that opens the credentials dialog, the on/off
 * toggle, the database name, TLS options and Save. With no `integration` it creates one: "Set
 * up" tests the settings and, when they work, saves the integration (off, ready to turn on).
 */
export function MysqlCard(props: {
  integration?: IntegrationView;
  defaultName?: string;
  canEdit: boolean;
  onChange: (integration: IntegrationView) => void;
  onCancel?: () => void;
}) {
  const saved = props.integration;
  const [draft, setDraft] = useState<Draft>(() => draftOf(saved, props.defaultName ?? 'mysql'));
  const [base, setBase] = useState<Draft>(() => draftOf(saved, props.defaultName ?? 'mysql'));
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  // The switch moves at once; it moves back if the server refuses.
  const [pendingEnabled, setPendingEnabled] = useState<boolean>();
  const [credsOpen, creds] = useDisclosure(false);
  const [pendingUser, setPendingUser] = useState('');
  const [pendingPassword, setPendingPassword] = useState('');
  const fields = fieldErrors(error);
  const dirty = JSON.stringify(draft) !== JSON.stringify(base);
  const readOnly = !props.canEdit;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft((d) => ({ ...d, [k]: v }));

  const adopt = (i: IntegrationView) => {
    const d = draftOf(i, i.name);
    setDraft(d);
    setBase(d);
    props.onChange(i);
  };

  /** Checks the fields a new integration needs before anything is sent. */
  const localCheck = (): boolean => {
    const missing: Record<string, string> = {};
    if (!draft.name.trim()) missing['name'] = 'Give the integration a name';
    if (!draft.host.trim()) missing['mysql.host'] = 'Enter the hostname';
    if (!draft.database.trim()) missing['mysql.database'] = 'Enter the database name';
    if (Object.keys(missing).length > 0) {
      setError(new ApiError(400, 'CONFIG_INVALID', 'Fill in the connection first', missing));
      return false;
    }
    return true;
  };

  const saveSettings = async (): Promise<IntegrationView> => {
    if (!saved) throw new Error('not saved yet');
    const ssl = sslOf(draft);
    const res = await call('updateIntegration', {
      params: { name: saved.name },
      body: {
        mysql: {
          host: draft.host.trim(),
          port: portOf(draft),
          database: draft.database.trim(),
          ssl: ssl ?? null,
        },
      },
    });
    adopt(res.integration);
    return res.integration;
  };

  const create = async (user: string, password: string, enabled: boolean) => {
    const ssl = sslOf(draft);
    const res = await call('createIntegration', {
      body: {
        name: draft.name.trim(),
        enabled,
        mysql: {
          host: draft.host.trim(),
          port: portOf(draft),
          user,
          ...(password ? { password } : {}),
          database: draft.database.trim(),
          ...(ssl ? { ssl } : {}),
        },
      },
    });
    adopt(res.integration);
    return res.integration;
  };

  const onSetUp = async (user: string, password: string): Promise<SetUpResult> => {
    setError(undefined);
    if (!saved) {
      if (!localCheck()) {
        creds.close();
        throw new ApiError(
          400,
          'CONFIG_INVALID',
          'Fill in the hostname and database on the card first.',
        );
      }
      const ssl = sslOf(draft);
      const test = await call('testConnection', {
        body: {
          host: draft.host.trim(),
          port: portOf(draft),
          user,
          ...(password ? { password } : {}),
          database: draft.database.trim(),
          ...(ssl ? { ssl } : {}),
        },
      });
      setPendingUser(user);
      setPendingPassword(password);
      if (!test.ok) return test;
      // Saved off: the seed's next step is to turn the toggle on.
      await create(user, password, false);
      return { ...test, saved: true };
    }
    if (dirty) await saveSettings();
    const test = await call('testIntegrationConnection', {
      params: { name: saved.name },
      body: { user, ...(password ? { password } : {}), save: true },
    });
    if (test.ok) {
      const fresh = await call('getIntegration', { params: { name: saved.name } });
      adopt(fresh.integration);
      return { ...test, saved: true };
    }
    return test;
  };

  const onSave = async () => {
    setError(undefined);
    setSaving(true);
    try {
      if (saved) {
        await saveSettings();
        notifications.show({
          color: 'teal',
          title: 'Saved',
          message: `Integration ${saved.name} updated.`,
        });
      } else {
        if (!localCheck()) return;
        if (!pendingUser) {
          setError(
            new ApiError(400, 'CONFIG_INVALID', 'Set up the credentials first', {
              'mysql.user': 'Set up the credentials with the blue key first',
            }),
          );
          return;
        }
        const i = await create(pendingUser, pendingPassword, false);
        notifications.show({
          color: 'teal',
          title: 'Saved',
          message: `Integration ${i.name} created.`,
        });
      }
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const onToggle = async (enabled: boolean) => {
    if (!saved) return;
    setPendingEnabled(enabled);
    try {
      const res = await call('updateIntegration', {
        params: { name: saved.name },
        body: { enabled },
      });
      props.onChange(res.integration);
      notifications.show({
        color: enabled ? 'teal' : 'gray',
        title: enabled ? 'Integration on' : 'Integration off',
        message: enabled
          ? 'Receiving sections now run at their “run once in” interval.'
          : 'No new runs start; a running batch finishes.',
      });
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

  const userLabel = saved?.mysql.user || pendingUser;
  const credsError = fields['mysql.user'] ?? fields['mysql.password'] ?? fields['user'];
  const target = `${draft.host || 'hostname'}:${portOf(draft)}${draft.database ? `/${draft.database}` : ''}`;
  const generalError =
    error !== undefined &&
    ![
      'name',
      'mysql.host',
      'mysql.port',
      'mysql.database',
      'mysql.ssl',
      'mysql.ssl.ca',
      'mysql.user',
    ].some((f) => f in fields);

  return (
    <Card data-testid="mysql-card" data-integration={saved?.name ?? ''} shadow="xs">
      <Card.Section withBorder inheritPadding py="md">
        <Group justify="space-between" wrap="nowrap">
          <Group gap="md" wrap="nowrap">
            <ThemeIcon size={44} radius="md" variant="light" color="blue">
              <IconBrandMysql size={28} stroke={1.5} />
            </ThemeIcon>
            <div>
              <Group gap={8}>
                <Text fw={650} fz="lg">
                  MySQL
                </Text>
                {saved && (
                  <Badge
                    variant="light"
                    color="gray"
                    radius="sm"
                    tt="none"
                    data-testid="mysql-integration-name"
                  >
                    {saved.name}
                  </Badge>
                )}
              </Group>
              <Text fz="sm" c="dimmed">
                {saved
                  ? `${saved.sections.length} section${saved.sections.length === 1 ? '' : 's'} · ${
                      saved.mysql.user ? `user ${saved.mysql.user}` : 'no credentials yet'
                    }`
                  : 'Push usage data from MySQL as user activities or custom metrics'}
              </Text>
            </div>
          </Group>
          <Tooltip
            label={
              saved
                ? saved.enabled
                  ? 'On: sections sync on schedule'
                  : 'Off: nothing syncs'
                : 'Set up the credentials first'
            }
          >
            <div>
              <Switch
                size="lg"
                onLabel="On"
                offLabel="Off"
                checked={pendingEnabled ?? saved?.enabled ?? false}
                disabled={!saved || readOnly || pendingEnabled !== undefined}
                onChange={(e) => void onToggle(e.currentTarget.checked)}
                data-testid="mysql-toggle"
                aria-label="Integration on or off"
              />
            </div>
          </Tooltip>
        </Group>
      </Card.Section>

      <Stack gap="md" mt="md">
        {!saved && (
          <TextInput
            label="Integration name"
            description="How Sluice names this connection (letters, digits, space, . - _)"
            value={draft.name}
            onChange={(e) => set('name', e.currentTarget.value)}
            error={fields['name']}
            readOnly={readOnly}
            data-testid="mysql-name"
          />
        )}
        <Group align="flex-start" gap="sm" wrap="nowrap">
          <TextInput
            label="Hostname"
            placeholder="db.example.com"
            style={{ flex: 1 }}
            value={draft.host}
            onChange={(e) => set('host', e.currentTarget.value)}
            error={fields['mysql.host'] ?? fields['host']}
            readOnly={readOnly}
            data-testid="mysql-host"
          />
          <NumberInput
            label="Port"
            w={110}
            min={1}
            max={65535}
            hideControls
            value={draft.port}
            onChange={(v) => set('port', v)}
            error={fields['mysql.port'] ?? fields['port']}
            readOnly={readOnly}
            data-testid="mysql-port"
          />
          <Input.Wrapper label="Credentials" error={credsError}>
            <Tooltip
              label={userLabel ? `Credentials: ${userLabel}` : 'Set up username and password'}
            >
              <ActionIcon
                size={36}
                variant="filled"
                color="blue"
                onClick={creds.open}
                disabled={readOnly}
                aria-label="MySQL credentials"
                data-testid="mysql-credentials-button"
                style={{ display: 'flex' }}
              >
                <IconKey size={18} />
              </ActionIcon>
            </Tooltip>
          </Input.Wrapper>
        </Group>
        <TextInput
          label="Database name"
          placeholder="app"
          value={draft.database}
          onChange={(e) => set('database', e.currentTarget.value)}
          error={fields['mysql.database'] ?? fields['database']}
          readOnly={readOnly}
          data-testid="mysql-database"
        />
        <Input.Wrapper
          label="TLS"
          description={
            draft.tls === 'none'
              ? 'Unencrypted connection'
              : draft.tls === 'required'
                ? 'Encrypted; the server certificate is not verified'
                : 'Encrypted and verified against the CA file on the Sluice server'
          }
          error={fields['mysql.ssl']}
        >
          <SegmentedControl
            mt={6}
            value={draft.tls}
            onChange={(v) => set('tls', v as TlsChoice)}
            disabled={readOnly}
            data={[
              { value: 'none', label: 'No TLS' },
              { value: 'required', label: 'Required' },
              { value: 'verify-ca', label: 'Verify CA' },
            ]}
            data-testid="mysql-tls"
          />
        </Input.Wrapper>
        {draft.tls === 'verify-ca' && (
          <TextInput
            label="CA certificate file"
            description="Path of a PEM file on the Sluice server"
            placeholder="/etc/ssl/mysql-ca.pem"
            value={draft.ca}
            onChange={(e) => set('ca', e.currentTarget.value)}
            error={fields['mysql.ssl.ca']}
            readOnly={readOnly}
            data-testid="mysql-ca"
          />
        )}
        {generalError && (
          <Alert color="red" variant="light" data-testid="mysql-error">
            {errorMessage(error)}
          </Alert>
        )}
      </Stack>

      <Divider my="md" />
      <Group justify="space-between">
        {saved ? (
          <Button
            component={Link}
            to={`/integrations/${encodeURIComponent(saved.name)}`}
            variant="subtle"
            rightSection={<IconArrowRight size={16} />}
            data-testid="mysql-open"
          >
            Sections
          </Button>
        ) : props.onCancel ? (
          <Button variant="subtle" color="gray" onClick={props.onCancel}>
            Cancel
          </Button>
        ) : (
          <span />
        )}
        {!readOnly && (
          <Button
            onClick={() => void onSave()}
            loading={saving}
            disabled={saved !== undefined && !dirty}
            data-testid="mysql-save"
          >
            Save
          </Button>
        )}
      </Group>

      {credsOpen && (
        <CredentialsDialog
          opened={credsOpen}
          onClose={creds.close}
          initialUser={saved?.mysql.user ?? pendingUser}
          hasPassword={saved?.hasPassword ?? false}
          target={target}
          onSetUp={onSetUp}
        />
      )}
    </Card>
  );
}
