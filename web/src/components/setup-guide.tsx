import { Anchor, Card, Text, ThemeIcon, Timeline, Title } from '@mantine/core';
import { IconCheck } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import type { IntegrationView } from '../../../src/core/api';

interface Step {
  title: string;
  body: ReactNode;
  done: boolean;
}

/** The seed's workflow as a checklist beside the MySQL card, ticked off as the user goes. */
export function SetupGuide(props: { integration: IntegrationView | undefined }) {
  const i = props.integration;
  const sectionsLink = i ? `/integrations/${encodeURIComponent(i.name)}` : undefined;
  const steps: Step[] = [
    {
      title: 'Hostname, port and database',
      body: 'Where your MySQL or MariaDB server listens. Let Sluice’s address through any IP allow-list.',
      done: Boolean(i?.mysql.host),
    },
    {
      title: 'Credentials',
      body: 'Click the blue key, enter the username and password, and press “Set up”: Sluice tests the connection and tells you plainly what is wrong.',
      done: Boolean(i && (i.hasPassword || i.mysql.passwordEnv || i.mysql.user)),
    },
    {
      title: 'Turn the integration on',
      body: 'Switch the toggle from Off to On. Sections of an integration that is off never run.',
      done: Boolean(i?.enabled),
    },
    {
      title: 'Add a section per table',
      body: (
        <>
          Choose the data type, the table, the key, how often it runs and the field mappings;
          preview, then save.{' '}
          {sectionsLink && (
            <Anchor component={Link} to={`${sectionsLink}/sections/new`} fz="sm">
              Add new section
            </Anchor>
          )}
        </>
      ),
      done: (i?.sections.length ?? 0) > 0,
    },
    {
      title: 'Check the arrow is green',
      body: (
        <>
          A green arrow means the section is on and receiving; “Show logs” tells how each run went,
          and the{' '}
          <Anchor component={Link} to="/data/metrics" fz="sm">
            Data
          </Anchor>{' '}
          pages show what landed.
        </>
      ),
      done: Boolean(
        i?.enabled &&
        i.sections.some((s) => s.status.state === 'active' || s.status.state === 'running'),
      ),
    },
  ];
  const active = steps.findIndex((s) => !s.done);
  return (
    <Card data-testid="setup-guide" bg="var(--mantine-color-body)">
      <Title order={4}>Getting started</Title>
      <Text fz="sm" c="dimmed" mb="lg">
        {active === -1 ? 'All set: your data is flowing.' : `Step ${active + 1} of ${steps.length}`}
      </Text>
      <Timeline active={active === -1 ? steps.length : active - 1} bulletSize={26} lineWidth={2}>
        {steps.map((s, n) => (
          <Timeline.Item
            key={s.title}
            bullet={
              s.done ? (
                <IconCheck size={14} />
              ) : (
                <ThemeIcon
                  size={22}
                  radius="xl"
                  variant={n === active ? 'filled' : 'light'}
                  color={n === active ? 'blue' : 'gray'}
                >
                  <Text fz={11} fw={700}>
                    {n + 1}
                  </Text>
                </ThemeIcon>
              )
            }
            title={
              <Text fw={600} fz="sm" c={s.done ? 'dimmed' : undefined}>
                {s.title}
              </Text>
            }
          >
            <Text fz="sm" c="dimmed" mt={2}>
              {s.body}
            </Text>
          </Timeline.Item>
        ))}
      </Timeline>
    </Card>
  );
}
