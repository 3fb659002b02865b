import {
  Alert,
  Button,
  Center,
  Code,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { IconAlertTriangle, IconInfoCircle } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { errorMessage, fieldErrors } from '../api';
import { useAuth } from '../auth';
import { Logo } from '../components/logo';

export function LoginPage() {
  const auth = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const next = params.get('next') ?? '/integrations';
  const safeNext = next.startsWith('/') && !next.startsWith('//') ? next : '/integrations';

  if (auth.user) return <Navigate to={safeNext} replace />;

  const fields = fieldErrors(error);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await auth.login(email.trim(), password);
      navigate(safeNext, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md" bg="gray.0">
      <Stack w={400} gap="lg">
        <Center>
          <Logo size="lg" />
        </Center>
        <Paper withBorder shadow="sm" p={32} radius="lg">
          <form onSubmit={(e) => void submit(e)} noValidate>
            <Stack gap="md">
              <div>
                <Title order={3}>Sign in</Title>
                <Text c="dimmed" fz="sm" mt={4}>
                  Sync MySQL tables into user activities and custom metrics.
                </Text>
              </div>
              {auth.setupMessage && (
                <Alert
                  color="blue"
                  variant="light"
                  icon={<IconInfoCircle size={18} />}
                  title="No users yet"
                  data-testid="setup-required"
                >
                  <Text fz="sm" style={{ whiteSpace: 'pre-wrap' }}>
                    {auth.setupMessage}
                  </Text>
                </Alert>
              )}
              {auth.unreachable && !error && (
                <Alert color="orange" variant="light" icon={<IconAlertTriangle size={18} />}>
                  {auth.unreachable}
                </Alert>
              )}
              <TextInput
                label="Email"
                placeholder="you@example.com"
                autoComplete="username"
                autoFocus
                required
                value={email}
                onChange={(e) => setEmail(e.currentTarget.value)}
                error={fields.email}
                data-testid="login-email"
              />
              <PasswordInput
                label="Password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.currentTarget.value)}
                error={fields.password}
                data-testid="login-password"
              />
              {error !== undefined && Object.keys(fields).length === 0 && (
                <Alert color="red" variant="light" data-testid="login-error">
                  {errorMessage(error)}
                </Alert>
              )}
              <Button type="submit" loading={busy} fullWidth size="md" data-testid="login-submit">
                Sign in
              </Button>
            </Stack>
          </form>
        </Paper>
        <Text c="dimmed" fz="xs" ta="center">
          Users are created by a super admin, or with <Code>sluice user add</Code>.
        </Text>
      </Stack>
    </Center>
  );
}
