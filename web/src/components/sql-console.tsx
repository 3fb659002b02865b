import {
  Alert,
  Badge,
  Button,
  Group,
  Kbd,
  Modal,
  ScrollArea,
  Stack,
  Table,
  Text,
  Textarea,
} from '@mantine/core';
import { IconAlertTriangle, IconPlayerPlay, IconShieldLock } from '@tabler/icons-react';
import { useState } from 'react';
import { QUERY_ROW_CAP, QUERY_TIMEOUT_MS, type QueryResponse } from '../../../src/core/api';
import { ApiError, call, errorMessage } from '../api';
import { formatNumber } from '../format';

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * The SQL query interface for super admins: one read-only statement against the integration's
 * MySQL, results in a table, errors as MySQL gives them. Every query is audited.
 */
export function SqlConsole(props: {
  integration: string;
  initialSql?: string;
  onRan?: () => void;
}) {
  const [sql, setSql] = useState(props.initialSql ?? '');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<QueryResponse>();
  const [error, setError] = useState<unknown>();

  const run = async () => {
    if (!sql.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      setResult(await call('runQuery', { params: { name: props.integration }, body: { sql } }));
    } catch (err) {
      setResult(undefined);
      setError(err);
    } finally {
      setBusy(false);
      props.onRan?.();
    }
  };

  return (
    <Stack gap="sm">
      <Alert
        color="grape"
        variant="light"
        icon={<IconShieldLock size={18} />}
        data-testid="sql-note"
        py="xs"
      >
        <Text fz="sm">
          Queries are <b>read-only</b> (a read-only transaction), one statement at a time, stopped
          after {QUERY_TIMEOUT_MS / 1000} s and cut at {formatNumber(QUERY_ROW_CAP)} rows. Every
          query is written to the audit log with your name and the time.
        </Text>
      </Alert>
      <Textarea
        value={sql}
        onChange={(e) => setSql(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void run();
          }
        }}
        placeholder="SELECT * FROM events ORDER BY id DESC LIMIT 20"
        autosize
        minRows={6}
        maxRows={16}
        spellCheck={false}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
        data-testid="sql-editor"
        aria-label="SQL"
      />
      <Group justify="space-between">
        <Text fz="xs" c="dimmed">
          <Kbd size="xs">Ctrl</Kbd> + <Kbd size="xs">Enter</Kbd> runs the query
        </Text>
        <Button
          leftSection={<IconPlayerPlay size={16} />}
          onClick={() => void run()}
          loading={busy}
          disabled={!sql.trim()}
          data-testid="sql-run"
        >
          Run
        </Button>
      </Group>
      {error !== undefined && (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertTriangle size={18} />}
          title={queryErrorTitle(error)}
          data-testid="sql-error"
        >
          <Text fz="sm" className="mono" style={{ whiteSpace: 'pre-wrap' }}>
            {errorMessage(error)}
          </Text>
        </Alert>
      )}
      {result && (
        <Stack gap={6} data-testid="sql-results">
          <Group gap="xs">
            <Text fz="sm" fw={600}>
              {formatNumber(result.rows.length)} row{result.rows.length === 1 ? '' : 's'}
            </Text>
            <Text fz="sm" c="dimmed">
              in {result.durationMs} ms
            </Text>
            {result.truncated && (
              <Badge color="orange" variant="light">
                Cut at {formatNumber(QUERY_ROW_CAP)} rows
              </Badge>
            )}
          </Group>
          {result.columns.length === 0 ? (
            <Text fz="sm" c="dimmed">
              The statement returned no columns.
            </Text>
          ) : (
            <ScrollArea.Autosize
              mah={420}
              type="auto"
              style={{ border: '1px solid var(--mantine-color-gray-3)', borderRadius: 8 }}
            >
              <Table striped stickyHeader withColumnBorders fz="xs" data-testid="sql-results-table">
                <Table.Thead>
                  <Table.Tr>
                    {result.columns.map((c, i) => (
                      <Table.Th key={`${c}-${i}`} style={{ whiteSpace: 'nowrap' }}>
                        {c}
                      </Table.Th>
                    ))}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {result.rows.map((row, r) => (
                    <Table.Tr key={r}>
                      {row.map((v, c) => (
                        <Table.Td
                          key={c}
                          className="mono"
                          c={v === null ? 'dimmed' : undefined}
                          style={{
                            whiteSpace: 'nowrap',
                            maxWidth: 360,
                            overflow: 'hidden',
                            textOverflow: 'ellipsis',
                          }}
                        >
                          {cell(v)}
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea.Autosize>
          )}
        </Stack>
      )}
    </Stack>
  );
}

/** The console in a dialog: the "<>" beside "Refresh fields", and the integration page's button. */
export function SqlConsoleModal(props: {
  integration: string;
  initialSql?: string;
  onClose: () => void;
}) {
  return (
    <Modal
      opened
      onClose={props.onClose}
      size="80rem"
      centered
      title={
        <Group gap="xs">
          <Text fw={650}>SQL query interface</Text>
          <Badge variant="light" color="gray" tt="none">
            {props.integration}
          </Badge>
        </Group>
      }
    >
      <div data-testid="sql-modal">
        <SqlConsole integration={props.integration} initialSql={props.initialSql} />
      </div>
    </Modal>
  );
}

/** A heading a person reads; the code stays available to the browser tests and the logs. */
function queryErrorTitle(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Query failed';
  switch (error.code) {
    case 'QUERY_REJECTED':
    case 'MYSQL_QUERY_FAILED':
      return 'MySQL refused the query';
    case 'MYSQL_TIMEOUT':
      return 'The query ran past its time limit';
    case 'MYSQL_UNREACHABLE':
      return 'MySQL cannot be reached';
    default:
      return 'Query failed';
  }
}
