import { Badge, Group, Tooltip } from '@mantine/core';
import type { Origin } from '../../../src/core/api';

/** Where data came from: a MySQL section (pulled) or a tenant token of the ingest API (pushed). */
export function OriginBadges({ origins }: { origins: Origin[] }) {
  return (
    <Group gap={4} wrap="wrap" data-testid="origins">
      {origins.map((o) => (
        <Tooltip
          key={`${o.kind}:${o.integration ?? ''}:${o.name}`}
          label={
            o.kind === 'pulled'
              ? `Pulled by section ${o.name}${o.integration !== undefined ? ` of ${o.integration}` : ''}`
              : `Pushed through the ingest API with token ${o.name}`
          }
        >
          <Badge
            variant="light"
            size="sm"
            color={o.kind === 'pulled' ? 'blue' : 'grape'}
            data-origin={o.kind}
          >
            {o.kind === 'pushed' ? `token: ${o.name}` : o.name}
          </Badge>
        </Tooltip>
      ))}
    </Group>
  );
}
