import { Anchor, Breadcrumbs, Group, Stack, Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { Link } from 'react-router';

export interface Crumb {
  label: string;
  to?: string;
}

/** Title row of a page: breadcrumbs, title, a line of description and the page's actions. */
export function PageHeader(props: {
  title: ReactNode;
  description?: ReactNode;
  crumbs?: Crumb[];
  actions?: ReactNode;
  /** The browser tab's title; default: the title when it is text. */
  docTitle?: string;
}) {
  const text =
    props.docTitle ?? (typeof props.title === 'string' ? props.title : props.crumbs?.at(-1)?.label);
  useDocumentTitle(text ? `${text} · Sluice` : 'Sluice');
  return (
    <Stack gap={6} mb="lg">
      {props.crumbs && props.crumbs.length > 0 && (
        <Breadcrumbs separatorMargin={6} fz="sm">
          {props.crumbs.map((c) =>
            c.to ? (
              <Anchor key={c.label} component={Link} to={c.to} fz="sm">
                {c.label}
              </Anchor>
            ) : (
              <Text key={c.label} fz="sm" c="dimmed">
                {c.label}
              </Text>
            ),
          )}
        </Breadcrumbs>
      )}
      <Group justify="space-between" align="flex-end" wrap="wrap" gap="sm">
        <Stack gap={2}>
          <Title order={2}>{props.title}</Title>
          {props.description && (
            <Text c="dimmed" fz="sm">
              {props.description}
            </Text>
          )}
        </Stack>
        {props.actions && <Group gap="sm">{props.actions}</Group>}
      </Group>
    </Stack>
  );
}
