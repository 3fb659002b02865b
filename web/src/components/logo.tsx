import { Group, Text, ThemeIcon } from '@mantine/core';
import { IconArrowsExchange } from '@tabler/icons-react';

/** The Sluice wordmark. */
export function Logo(props: { size?: 'sm' | 'lg' }) {
  const big = props.size === 'lg';
  return (
    <Group gap={8} wrap="nowrap">
      <ThemeIcon
        size={big ? 40 : 30}
        radius="md"
        variant="gradient"
        gradient={{ from: 'blue.6', to: 'cyan.5', deg: 135 }}
      >
        <IconArrowsExchange size={big ? 24 : 18} />
      </ThemeIcon>
      <Text fw={750} fz={big ? 26 : 19} lts={-0.3}>
        Sluice
      </Text>
    </Group>
  );
}
