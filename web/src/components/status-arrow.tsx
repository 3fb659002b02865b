import { Group, Text, ThemeIcon, Tooltip } from '@mantine/core';
import {
  IconArrowBigDownLinesFilled,
  IconArrowBigDownFilled,
  IconLoader2,
  IconPlayerPauseFilled,
} from '@tabler/icons-react';
import classes from './status-arrow.module.css';

/** The four states a section shows: the seed's green arrow and its companions. */
export type SectionState = 'active' | 'off' | 'running' | 'failing';

const LOOK: Record<SectionState, { color: string; label: string; hint: string }> = {
  active: {
    color: 'teal',
    label: 'Active',
    hint: 'On and receiving: runs at its "run once in" interval',
  },
  off: { color: 'gray', label: 'Off', hint: 'Not syncing: the section or its integration is off' },
  running: { color: 'blue', label: 'Running', hint: 'A run is in progress now' },
  failing: { color: 'red', label: 'Failing', hint: 'The last run failed' },
};

/**
 * The status arrow of a section: green = active (on and receiving), grey = off, blue and spinning
 * = running now, red = failing (the tooltip carries the last error).
 */
export function StatusArrow(props: {
  state: SectionState;
  error?: string | null;
  withLabel?: boolean;
  size?: number;
}) {
  const look = LOOK[props.state];
  const size = props.size ?? 30;
  const iconSize = Math.round(size * 0.6);
  const icon =
    props.state === 'running' ? (
      <IconLoader2 size={iconSize} className={classes.spin} />
    ) : props.state === 'off' ? (
      <IconPlayerPauseFilled size={iconSize - 2} />
    ) : props.state === 'failing' ? (
      <IconArrowBigDownFilled size={iconSize} />
    ) : (
      <IconArrowBigDownLinesFilled size={iconSize} />
    );
  const tip =
    props.state === 'failing' && props.error ? (
      <>
        <Text fz="xs" fw={600}>
          Failing — last error
        </Text>
        <Text fz="xs">{props.error}</Text>
      </>
    ) : (
      look.hint
    );
  return (
    <Tooltip label={tip}>
      <Group gap={8} wrap="nowrap" data-testid="status-arrow" data-state={props.state}>
        <ThemeIcon
          size={size}
          radius="xl"
          color={look.color}
          variant={props.state === 'off' ? 'light' : 'filled'}
          aria-label={`Status: ${look.label}`}
        >
          {icon}
        </ThemeIcon>
        {props.withLabel && (
          <Text fz="sm" fw={600} c={props.state === 'off' ? 'dimmed' : look.color}>
            {look.label}
          </Text>
        )}
      </Group>
    </Tooltip>
  );
}
