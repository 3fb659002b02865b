import { Alert, Button, Group, Modal, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { IconCircleCheck, IconPlugConnectedX } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import type { TestConnectionResponse } from '../../../src/core/api';
import { errorMessage, fieldErrors } from '../api';

/** What each failure of a connection test means, in words, and what to check. */
const FAILURES: Record<string, { title: string; hint: string }> = {
  MYSQL_UNREACHABLE: {
    title: 'Host unreachable',
    hint: 'Check the hostname and port, that MySQL listens on them, and that firewalls and IP allow-lists let Sluice in.',
  },
  MYSQL_ACCESS_DENIED: {
    title: 'Access denied',
    hint: 'MySQL refused this username and password (or this user may not connect from Sluice’s host).',
  },
  MYSQL_UNKNOWN_DATABASE: {
    title: 'Unknown database',
    hint: 'The server has no database by that name, or this user may not see it. Check the database name on the card.',
  },
  MYSQL_TLS: {
    title: 'TLS required or failed',
    hint: 'The server requires an encrypted connection, or the TLS handshake failed. Choose a TLS option on the card (and a CA file for verify-ca).',
  },
  PASSWORD_MISSING: {
    title: 'Password missing',
    hint: 'The environment variable named for the password is not set on the Sluice server.',
  },
  MYSQL_TIMEOUT: {
    title: 'Timed out',
    hint: 'The server did not answer in time. Check the network path to it.',
  },
};

/** "MariaDB 10.11.6", without repeating the flavor when the version already names it. */
function serverName(server: { flavor: 'mysql' | 'mariadb'; version: string }): string {
  const flavor = server.flavor === 'mariadb' ? 'MariaDB' : 'MySQL';
  const version = server.version.replace(/-MariaDB.*$/i, '');
  return `${flavor} ${version}`;
}

export type SetUpResult = TestConnectionResponse & { saved?: boolean };

/**
 * The credentials pop-up of the MySQL card: username and password, and "Set up", which tests
 * the connection and says plainly why it failed.
 */
export function CredentialsDialog(props: {
  opened: boolean;
  onClose: () => void;
  initialUser: string;
  hasPassword: boolean;
  target: string;
  onSetUp: (user: string, password: string) => Promise<SetUpResult>;
}) {
  const [user, setUser] = useState(props.initialUser);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SetUpResult>();
  const [error, setError] = useState<unknown>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setResult(undefined);
    setError(undefined);
    try {
      setResult(await props.onSetUp(user.trim(), password));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const fields = fieldErrors(error);
  const failure =
    result && !result.ok
      ? (FAILURES[result.code] ?? { title: 'Connection failed', hint: '' })
      : undefined;

  return (
    <Modal
      opened={props.opened}
      onClose={props.onClose}
      title={<Text fw={650}>MySQL credentials</Text>}
      centered
      size="md"
    >
      <form onSubmit={(e) => void submit(e)} noValidate data-testid="credentials-dialog">
        <Stack gap="md">
          <Text fz="sm" c="dimmed">
            Sluice connects to <b>{props.target}</b> with these credentials. A read-only user is
            enough.
          </Text>
          <TextInput
            label="Username"
            required
            autoComplete="off"
            value={user}
            onChange={(e) => setUser(e.currentTarget.value)}
            error={fields['user'] ?? fields['mysql.user']}
            data-testid="credentials-user"
          />
          <PasswordInput
            label="Password"
            autoComplete="new-password"
            placeholder={props.hasPassword ? '•••••••• (stored; leave empty to keep it)' : ''}
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={fields['password'] ?? fields['mysql.password']}
            description="Stored encrypted on the Sluice server; never shown again."
            data-testid="credentials-password"
          />
          {result?.ok && (
            <Alert
              color="teal"
              variant="light"
              icon={<IconCircleCheck size={18} />}
              title="Connected"
              data-testid="credentials-result"
              data-ok="true"
            >
              {serverName(result.server)} answered.
              {result.saved ? ' The credentials are saved: turn the integration on.' : ''}
            </Alert>
          )}
          {failure && result && !result.ok && (
            <Alert
              color="red"
              variant="light"
              icon={<IconPlugConnectedX size={18} />}
              title={failure.title}
              data-testid="credentials-result"
              data-ok="false"
              data-code={result.code}
            >
              <Stack gap={6}>
                <Text fz="sm">{result.message}</Text>
                {failure.hint && (
                  <Text fz="xs" c="dimmed">
                    {failure.hint}
                  </Text>
                )}
              </Stack>
            </Alert>
          )}
          {error !== undefined && Object.keys(fields).length === 0 && (
            <Alert color="red" variant="light" data-testid="credentials-result" data-ok="false">
              {errorMessage(error)}
            </Alert>
          )}
          <Group justify="flex-end" gap="sm" mt="xs">
            <Button variant="default" onClick={props.onClose}>
              {result?.ok ? 'Close' : 'Cancel'}
            </Button>
            <Button type="submit" loading={busy} data-testid="credentials-setup">
              Set up
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
