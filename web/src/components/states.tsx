import { Alert, Center, Loader, Paper, Stack, Text, ThemeIcon } from '@mantine/core';
import { IconAlertTriangle, IconInbox } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { errorMessage } from '../api';

/** Shown while a page's data loads for the first time. */
export function LoadingState(props: { label?: string }) {
  return (
    <Center py={64} data-testid="loading">
      <Stack align="center" gap="xs">
        <Loader size="md" />
        <Text c="dimmed" fz="sm">
          {props.label ?? 'Loading…'}
        </Text>
      </Stack>
    </Center>
  );
}

/** A friendly "nothing here yet", with what to do about it. */
export function EmptyState(props: {
  title: string;
  description?: ReactNode;
  action?: ReactNode;
  icon?: ReactNode;
  testId?: string;
}) {
  return (
    <Paper withBorder p="xl" radius="md" data-testid={props.testId ?? 'empty-state'}>
      <Stack align="center" gap="xs" py="md">
        <ThemeIcon size={48} radius="xl" variant="light" color="gray">
          {props.icon ?? <IconInbox size={26} stroke={1.5} />}
        </ThemeIcon>
        <Text fw={600}>{props.title}</Text>
        {props.description && (
          <Text c="dimmed" fz="sm" ta="center" maw={460}>
            {props.description}
          </Text>
        )}
        {props.action && <div style={{ marginTop: 8 }}>{props.action}</div>}
      </Stack>
    </Paper>
  );
}

/** An API failure, in words. */
export function ErrorState(props: { error: unknown; title?: string; action?: ReactNode }) {
  return (
    <Alert
      color="red"
      variant="light"
      title={props.title ?? 'Could not load this page'}
      icon={<IconAlertTriangle size={18} />}
      data-testid="error-state"
    >
      <Stack gap="xs">
        <Text fz="sm">{errorMessage(props.error)}</Text>
        {props.action}
      </Stack>
    </Alert>
  );
}
