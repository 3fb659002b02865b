import { Alert, Button, Group, Modal, Radio, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useState } from 'react';
import type { ResyncRequest, SectionView } from '../../../src/core/api';
import { call, errorMessage, fieldErrors } from '../api';

type From = ResyncRequest['from'];

/**
 * The red sync button's confirmation: says what will happen and lets the user choose where the
 * re-fetch starts (the last sync point, a given key, or the beginning).
 */
export function ResyncModal(props: {
  section: SectionView | undefined;
  onClose: () => void;
  onDone: () => void;
}) {
  const s = props.section;
  const [from, setFrom] = useState<From>('last');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const fields = fieldErrors(error);

  const what =
    from === 'last'
      ? s?.cursor
        ? `The cursor stays at ${s.cursor}; Sluice runs the section now and fetches every row with a key after it.`
        : 'Nothing has landed yet: Sluice runs the section now from the beginning of the table.'
      : from === 'key'
        ? `The cursor moves to ${key.trim() || 'the key you give'}; the run re-reads every row with a greater key.`
        : `The cursor is cleared; the run re-reads the whole table ${s?.table ? `\`${s.table}\`` : ''}.`;

  const confirm = async () => {
    if (!s) return;
    setBusy(true);
    setError(undefined);
    try {
      const res = await call('resyncSection', {
        params: { id: s.id },
        body: from === 'key' ? { from, key: key.trim() } : { from },
      });
      notifications.show({
        color: 'blue',
        title: `Re-sync of ${s.name} queued`,
        message:
          res.cursorBefore === res.cursorAfter
            ? `Fetching from ${res.cursorAfter ?? 'the beginning'}.`
            : `Cursor ${res.cursorBefore ?? '(start)'} → ${res.cursorAfter ?? '(start)'}.`,
      });
      props.onDone();
      props.onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      opened={s !== undefined}
      onClose={props.onClose}
      title={<Text fw={650}>Re-sync {s?.name}</Text>}
      centered
      size="lg"
    >
      <Stack gap="md" data-testid="resync-modal">
        <Text fz="sm">
          Re-fetch rows of <b>{s?.table}</b> from MySQL. Rows that already landed are not landed
          twice, so a re-sync is safe; it only costs reading the rows again.
        </Text>
        <Radio.Group
          value={from}
          onChange={(v) => setFrom(v as From)}
          label="Fetch from"
          data-testid="resync-from"
        >
          <Stack gap="sm" mt="xs">
            <Radio
              value="last"
              label="The last sync point"
              description={s?.cursor ? `Key ${s.cursor}` : 'Nothing landed yet'}
              data-testid="resync-from-last"
            />
            <Radio
              value="key"
              label="A given key"
              description="Rows with a key greater than this one are read again"
              data-testid="resync-from-key"
            />
            {from === 'key' && (
              <TextInput
                ml={32}
                placeholder={s?.cursor ?? 'e.g. 2104'}
                value={key}
                onChange={(e) => setKey(e.currentTarget.value)}
                error={fields['key']}
                maxLength={32}
                data-testid="resync-key"
                autoFocus
              />
            )}
            <Radio
              value="start"
              label="The beginning"
              description="The whole table is read again"
              data-testid="resync-from-start"
            />
          </Stack>
        </Radio.Group>
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          title="What will happen"
        >
          {what}
        </Alert>
        {error !== undefined && !fields['key'] && (
          <Alert color="red" variant="filled">
            {errorMessage(error)}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Cancel
          </Button>
          <Button
            color="red"
            onClick={() => void confirm()}
            loading={busy}
            disabled={from === 'key' && !key.trim()}
            data-testid="resync-confirm"
          >
            Re-sync now
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
