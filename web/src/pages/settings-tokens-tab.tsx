import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Drawer,
  Group,
  Modal,
  ScrollArea,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { IconAlertTriangle, IconBan, IconCopy, IconKey, IconPlus } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import type { ApiToken } from '../../../src/core/api';
import { call, errorMessage, fieldErrors } from '../api';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { formatDateTime } from '../format';
import { useResource } from '../use-resource';

/** The items a token pushed that could not land, newest first. */
function TokenRejects({ token, onClose }: { token: ApiToken | undefined; onClose: () => void }) {
  const rejects = useResource(
    (signal) =>
      token === undefined
        ? Promise.resolve({ rejects: [] })
        : call('listTokenRejects', { params: { id: token.id }, query: { limit: 200 }, signal }),
    `token-rejects-${token?.id ?? 'none'}`,
  );
  return (
    <Drawer
      opened={token !== undefined}
      onClose={onClose}
      position="right"
      size="xl"
      title={token !== undefined ? `Rejects of token ${token.name}` : ''}
    >
      {rejects.loading ? (
        <LoadingState />
      ) : rejects.error !== undefined && !rejects.data ? (
        <ErrorState error={rejects.error} />
      ) : (rejects.data?.rejects.length ?? 0) === 0 ? (
        <Text c="dimmed" fz="sm">
          Every item this token pushed landed.
        </Text>
      ) : (
        <ScrollArea type="auto">
          <Table data-testid="token-rejects" verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Index</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Input</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rejects.data?.rejects.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{formatDateTime(r.createdAt)}</Table.Td>
                  <Table.Td>{r.dataType}</Table.Td>
                  <Table.Td ta="right">{r.index}</Table.Td>
                  <Table.Td>{r.reason}</Table.Td>
                  <Table.Td>
                    <Code fz="xs">{r.input ?? ''}</Code>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Drawer>
  );
}

/** Create a token; the answer shows it once. */
function CreateToken({ onCreated }: { onCreated: (token: ApiToken) => void }) {
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [secret, setSecret] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const close = () => {
    setOpened(false);
    setName('');
    setError(undefined);
    setSecret(undefined);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const res = await call('createToken', { body: { name } });
      setSecret(res.secret);
      onCreated(res.token);
    } catch (err) {
      setError(fieldErrors(err).name ?? errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button
        leftSection={<IconPlus size={16} />}
        onClick={() => setOpened(true)}
        data-testid="add-token"
      >
        Create token
      </Button>
      <Modal opened={opened} onClose={close} title="Create a tenant token">
        {secret === undefined ? (
          <form onSubmit={(e) => void submit(e)}>
            <Stack>
              <TextInput
                label="Name"
                description="Labels the data this token pushes (e.g. the script using it)."
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
                error={error}
                data-autofocus
                data-testid="token-name"
              />
              <Group justify="flex-end">
                <Button type="submit" loading={busy} data-testid="create-token">
                  Create
                </Button>
              </Group>
            </Stack>
          </form>
        ) : (
          <Stack>
            <Alert color="yellow" icon={<IconAlertTriangle size={16} />}>
              Copy the token now: it is shown only this once (Sluice keeps only a hash of it).
            </Alert>
            <Group gap="xs" wrap="nowrap">
              <Code block style={{ flex: 1, wordBreak: 'break-all' }} data-testid="token-secret">
                {secret}
              </Code>
              <CopyButton value={secret}>
                {({ copied, copy }) => (
                  <Tooltip label={copied ? 'Copied' : 'Copy'}>
                    <ActionIcon variant="light" onClick={copy} aria-label="Copy the token">
                      <IconCopy size={16} />
                    </ActionIcon>
                  </Tooltip>
                )}
              </CopyButton>
            </Group>
            <Text fz="sm" c="dimmed">
              Send data with <Code>POST /analytics/&lt;token&gt;</Code>,{' '}
              <Code>/analytics/bulk/&lt;token&gt;</Code> or{' '}
              <Code>/dimensiondata/&lt;token&gt;</Code> on this server, as to Planhat.
            </Text>
            <Group justify="flex-end">
              <Button onClick={close}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </>
  );
}

/** Tenant tokens of the Planhat-compatible ingest API (admins): list, create, revoke, rejects. */
export function TokensTab() {
  const tokens = useResource((signal) => call('listTokens', { signal }), 'tokens');
  const [showing, setShowing] = useState<ApiToken | undefined>();
  const list = tokens.data?.tokens ?? [];

  const revoke = (t: ApiToken) =>
    modals.openConfirmModal({
      title: `Revoke token ${t.name}?`,
      children: (
        <Text fz="sm">
          Requests with it get 401 from now on. What it pushed stays, labelled with its name.
        </Text>
      ),
      labels: { confirm: 'Revoke token', cancel: 'Cancel' },
      confirmProps: { color: 'red' },
      onConfirm: () => {
        void call('revokeToken', { params: { id: t.id } })
          .then((res) =>
            tokens.setData({ tokens: list.map((x) => (x.id === t.id ? res.token : x)) }),
          )
          .catch((err: unknown) =>
            notifications.show({
              color: 'red',
              title: 'Could not revoke the token',
              message: errorMessage(err),
            }),
          );
      },
    });

  if (tokens.loading) return <LoadingState />;
  if (tokens.error !== undefined && !tokens.data) return <ErrorState error={tokens.error} />;
  return (
    <Card padding={0}>
      <Group justify="space-between" p="md">
        <div>
          <Title order={4}>API tokens</Title>
          <Text fz="sm" c="dimmed">
            Tenant tokens for the Planhat-compatible ingest API: scripts push activities and metrics
            with them.
          </Text>
        </div>
        <CreateToken onCreated={(t) => tokens.setData({ tokens: [t, ...list] })} />
      </Group>
      {list.length === 0 ? (
        <EmptyState
          icon={<IconKey size={20} />}
          title="No tokens yet"
          description="Create one to push data to this server."
        />
      ) : (
        <ScrollArea type="auto">
          <Table data-testid="tokens-table" verticalSpacing="sm" horizontalSpacing="md">
            <Table.Thead bg="gray.0">
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Token</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((t) => (
                <Table.Tr key={t.id} data-testid="token-row" data-token={t.name}>
                  <Table.Td fw={600}>{t.name}</Table.Td>
                  <Table.Td>
                    <Code>{t.prefix}…</Code>
                  </Table.Td>
                  <Table.Td>
                    {formatDateTime(t.createdAt)}{' '}
                    <Text span c="dimmed" fz="xs">
                      by {t.createdBy}
                    </Text>
                  </Table.Td>
                  <Table.Td>{t.lastUsedAt !== null ? formatDateTime(t.lastUsedAt) : '—'}</Table.Td>
                  <Table.Td>
                    {t.revokedAt !== null ? (
                      <Tooltip label={`Revoked ${formatDateTime(t.revokedAt)}`}>
                        <Badge color="gray">revoked</Badge>
                      </Tooltip>
                    ) : (
                      <Badge color="teal">active</Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Group gap="xs" justify="flex-end" wrap="nowrap">
                      <Button size="xs" variant="subtle" onClick={() => setShowing(t)}>
                        Rejects
                      </Button>
                      {t.revokedAt === null && (
                        <Tooltip label="Revoke">
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            onClick={() => revoke(t)}
                            aria-label={`Revoke ${t.name}`}
                          >
                            <IconBan size={16} />
                          </ActionIcon>
                        </Tooltip>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
      <TokenRejects token={showing} onClose={() => setShowing(undefined)} />
    </Card>
  );
}
