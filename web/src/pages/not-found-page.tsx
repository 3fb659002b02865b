import { Button } from '@mantine/core';
import { IconMapPinOff } from '@tabler/icons-react';
import { Link } from 'react-router';
import { EmptyState } from '../components/states';

export function NotFoundPage() {
  return (
    <EmptyState
      icon={<IconMapPinOff size={26} stroke={1.5} />}
      title="This page does not exist"
      description="The link may be old, or the integration or section was deleted."
      action={
        <Button component={Link} to="/integrations" variant="light">
          Back to integrations
        </Button>
      }
    />
  );
}
