import { Badge, Loader } from '@mantine/core';
import type { Run } from '../../../src/core/api';

const COLORS: Record<Run['status'], string> = { running: 'blue', succeeded: 'teal', failed: 'red' };

/** A run's status as a coloured badge. */
export function RunStatusBadge(props: { status: Run['status'] }) {
  return (
    <Badge
      color={COLORS[props.status]}
      variant="light"
      leftSection={props.status === 'running' ? <Loader size={10} color="blue" /> : undefined}
      data-testid="run-status"
      data-status={props.status}
      styles={{ label: { overflow: 'visible' } }}
    >
      {props.status}
    </Badge>
  );
}
