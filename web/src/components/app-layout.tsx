import {
  AppShell,
  Avatar,
  Badge,
  Burger,
  Center,
  Group,
  Loader,
  Menu,
  NavLink,
  ScrollArea,
  Stack,
  Text,
  UnstyledButton,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconChartLine,
  IconChevronDown,
  IconLogout,
  IconPlugConnected,
  IconSettings,
  IconTerminal2,
} from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { Link, Navigate, Outlet, useLocation, useNavigate } from 'react-router';
import type { Role } from '../../../src/core/api';
import { ROLE_LABELS, useAuth } from '../auth';
import { Logo } from './logo';

interface NavItem {
  to: string;
  label: string;
  icon: ReactNode;
  testId: string;
  role: Role;
}

const NAV: NavItem[] = [
  {
    to: '/integrations',
    label: 'Integrations',
    icon: <IconPlugConnected size={18} stroke={1.6} />,
    testId: 'nav-integrations',
    role: 'viewer',
  },
  {
    to: '/data',
    label: 'Data',
    icon: <IconChartLine size={18} stroke={1.6} />,
    testId: 'nav-data',
    role: 'viewer',
  },
  {
    to: '/query',
    label: 'SQL query',
    icon: <IconTerminal2 size={18} stroke={1.6} />,
    testId: 'nav-query',
    role: 'superadmin',
  },
  {
    to: '/settings',
    label: 'Settings',
    icon: <IconSettings size={18} stroke={1.6} />,
    testId: 'nav-settings',
    role: 'viewer',
  },
];

/** The app shell: header with the user and logout, the left navigation, the page. */
export function AppLayout() {
  const auth = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const [opened, { toggle, close }] = useDisclosure();

  if (auth.user === undefined) {
    return (
      <Center h="100vh">
        <Loader />
      </Center>
    );
  }
  if (auth.user === null) {
    const next = auth.signedOut ? '/' : location.pathname + location.search;
    return (
      <Navigate to={`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace />
    );
  }
  const user = auth.user;

  return (
    <AppShell
      header={{ height: 58 }}
      navbar={{ width: 248, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="xl"
    >
      <AppShell.Header px="lg">
        <Group h="100%" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" />
            <UnstyledButton component={Link} to="/integrations" aria-label="Sluice home">
              <Logo />
            </UnstyledButton>
          </Group>
          <Menu position="bottom-end" width={220} shadow="md">
            <Menu.Target>
              <UnstyledButton data-testid="user-menu">
                <Group gap="xs">
                  <Avatar size={32} radius="xl" color="blue" name={user.email} />
                  <Stack gap={0} visibleFrom="xs">
                    <Text fz="sm" fw={600} lh={1.2} data-testid="current-user">
                      {user.email}
                    </Text>
                    <Text fz="xs" c="dimmed" lh={1.2}>
                      {ROLE_LABELS[user.role]}
                    </Text>
                  </Stack>
                  <IconChevronDown size={14} />
                </Group>
              </UnstyledButton>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>Signed in as</Menu.Label>
              <Menu.Item disabled>
                <Text fz="sm" truncate>
                  {user.email}
                </Text>
              </Menu.Item>
              <Menu.Divider />
              <Menu.Item
                leftSection={<IconSettings size={16} />}
                onClick={() => navigate('/settings')}
              >
                Settings
              </Menu.Item>
              <Menu.Item
                color="red"
                leftSection={<IconLogout size={16} />}
                data-testid="logout"
                onClick={() => void auth.logout()}
              >
                Log out
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </AppShell.Header>

      <AppShell.Navbar p="sm">
        <AppShell.Section grow component={ScrollArea}>
          <Text fz={11} fw={700} c="dimmed" tt="uppercase" px="sm" pt="xs" pb={6} lts={0.5}>
            Operations
          </Text>
          {NAV.filter((n) => auth.can(n.role)).map((n) => (
            <NavLink
              key={n.to}
              component={Link}
              to={n.to}
              label={n.label}
              leftSection={n.icon}
              active={location.pathname.startsWith(n.to)}
              onClick={close}
              data-testid={n.testId}
              rightSection={
                n.role === 'superadmin' ? (
                  <Badge size="xs" variant="light" color="grape">
                    Super
                  </Badge>
                ) : undefined
              }
              styles={{
                root: {
                  borderRadius: 'var(--mantine-radius-md)',
                  marginBottom: 4,
                  paddingBlock: 10,
                },
              }}
            />
          ))}
        </AppShell.Section>
        <AppShell.Section>
          <Text fz="xs" c="dimmed" px="sm" py="xs">
            Sluice · MySQL to activities and metrics
          </Text>
        </AppShell.Section>
      </AppShell.Navbar>

      <AppShell.Main>
        <div style={{ maxWidth: 1280, margin: '0 auto' }}>
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}
