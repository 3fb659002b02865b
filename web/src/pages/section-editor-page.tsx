import {
  Accordion,
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Grid,
  Group,
  MultiSelect,
  NumberInput,
  Paper,
  PasswordInput,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import {
  IconAlertTriangle,
  IconCode,
  IconDeviceFloppy,
  IconEye,
  IconRefresh,
  IconTrash,
} from '@tabler/icons-react';
import { useRef, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import {
  MODELS_LIST,
  SCHEDULE_CHOICES,
  type ColumnView,
  type PreviewResponse,
  type SectionInput,
  type SectionView,
  type TableDetail,
  type TableList,
} from '../section-contract';
import { ApiError, call, errorMessage, fieldErrors } from '../api';
import { useAuth } from '../auth';
import { FieldMappings, type MappingRow } from '../components/field-mappings';
import { PageHeader } from '../components/page-header';
import { PreviewPanel } from '../components/preview-panel';
import { SqlConsoleModal } from '../components/sql-console';
import { ErrorState, LoadingState } from '../components/states';
import { DATA_TYPE_LABELS, DIRECTION_LABELS, scheduleLabel } from '../format';
import { guessColumn, initialTargets, targetsFor } from '../targets';
import { useResource } from '../use-resource';

type DataType = SectionInput['dataType'];
type Direction = NonNullable<SectionInput['direction']>;
type Model = NonNullable<SectionInput['model']>;
type SinkType = NonNullable<SectionInput['sink']>['type'];

/** Planhat's analytics host: the default base URL of a planhat sink. */
const PLANHAT_BASE_URL = 'https://analytics.planhat.com';

const SINK_CHOICES: { value: SinkType; label: string }[] = [
  { value: 'store', label: 'Sluice store' },
  { value: 'planhat', label: 'Planhat (instead)' },
  { value: 'both', label: 'Both' },
];

interface FormState {
  name: string;
  dataType: DataType;
  direction: Direction;
  table: string | null;
  key: string | null;
  batchSize: number | string;
  schedule: string;
  model: Model;
  info: string[];
  lookback: string;
  alertWebhook: string;
  rejectThreshold: number | string;
  sinkType: SinkType;
  sinkBaseUrl: string;
  sinkTokenEnv: string;
  /** Write-only: empty keeps the stored token (unless a token env variable is named). */
  sinkToken: string;
}

function formOf(s: SectionView | undefined): FormState {
  return {
    name: s?.name ?? '',
    dataType: s?.dataType ?? 'activities',
    direction: s?.direction ?? 'receive',
    table: s?.table ?? null,
    key: s?.key ?? null,
    batchSize: s?.batchSize ?? 10_000,
    schedule: s?.schedule ?? 'every 1h',
    model: s?.model ?? 'Company',
    info: s?.info ?? [],
    lookback: s?.lookback ?? '',
    alertWebhook: s?.alerts?.webhook ?? '',
    rejectThreshold: s?.alerts?.rejectThreshold ?? '',
    sinkType: s?.sink?.type ?? 'store',
    sinkBaseUrl: s?.sink?.planhat?.baseUrl ?? PLANHAT_BASE_URL,
    sinkTokenEnv: s?.sink?.planhat?.tokenEnv ?? '',
    sinkToken: '',
  };
}

let rowSeq = 0;
const newRow = (target: string | null = null, column: string | null = null): MappingRow => ({
  id: ++rowSeq,
  target,
  column,
});

function rowsOf(s: SectionView | undefined, dataType: DataType): MappingRow[] {
  if (s) return Object.entries(s.mapping).map(([t, c]) => newRow(t, c));
  return initialTargets(dataType).map((t) => newRow(t));
}

/**
 * `sections.0.mapping.email` (as apply reports it) -> `mapping.email`; and beside its field a
 * message need not repeat the section and field it names (`section "x": key: ...`).
 */
/** Form fields whose errors the server names differently. */
const ERROR_FIELD: Partial<Record<keyof FormState, string>> = {
  alertWebhook: 'alerts.webhook',
  rejectThreshold: 'alerts.rejectThreshold',
  sinkType: 'sink.type',
  sinkBaseUrl: 'sink.planhat.baseUrl',
  sinkTokenEnv: 'sink.planhat.tokenEnv',
  sinkToken: 'sink.planhat.token',
};

/** Server error fields shown beside the "Deliver to" fields (the rest beside the type). */
const SINK_FIELDS = [
  'sink',
  'sink.type',
  'sink.planhat',
  'sink.planhat.baseUrl',
  'sink.planhat.tokenEnv',
  'sink.planhat.token',
];

function normaliseFields(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    const key = k.replace(/^sections\.\d+\./, '');
    let message = v.replace(/^section "[^"]*": /, '');
    if (message.startsWith(`${key}: `)) message = message.slice(key.length + 2);
    if (!(key in out)) out[key] = message;
  }
  return out;
}

const SCHEDULE_DATA = [
  {
    group: 'Every',
    items: SCHEDULE_CHOICES.filter((s) => s.startsWith('every')).map((s) => ({
      value: s,
      label: scheduleLabel(s),
    })),
  },
  {
    group: 'Once a day',
    items: SCHEDULE_CHOICES.filter((s) => s.startsWith('daily')).map((s) => ({
      value: s,
      label: scheduleLabel(s),
    })),
  },
];

function SectionCard(props: {
  title: string;
  description?: string;
  right?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Card padding="lg">
      <Group justify="space-between" align="flex-start" mb="md">
        <div>
          <Title order={4}>{props.title}</Title>
          {props.description && (
            <Text fz="sm" c="dimmed" mt={2}>
              {props.description}
            </Text>
          )}
        </div>
        {props.right}
      </Group>
      {props.children}
    </Card>
  );
}

function SectionForm(props: {
  integration: string;
  section: SectionView | undefined;
  tables: TableList['tables'] | undefined;
  tablesError: unknown;
}) {
  const navigate = useNavigate();
  const auth = useAuth();
  const readOnly = !auth.can('admin');
  const isNew = props.section === undefined;
  const [form, setForm] = useState<FormState>(() => formOf(props.section));
  const [rows, setRows] = useState<MappingRow[]>(() =>
    rowsOf(props.section, props.section?.dataType ?? 'activities'),
  );
  const [nameTouched, setNameTouched] = useState(!isNew);
  const [detail, setDetail] = useState<{
    table: string;
    detail?: TableDetail['table'];
    error?: unknown;
  }>();
  const [columnsLoading, setColumnsLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const [previewing, setPreviewing] = useState(false);
  const [preview, setPreview] = useState<PreviewResponse>();
  const [consoleOpen, setConsoleOpen] = useState(false);
  const [advanced, setAdvanced] = useState(
    Boolean(
      props.section?.lookback ||
      props.section?.alerts?.webhook ||
      props.section?.alerts?.rejectThreshold !== undefined ||
      props.section?.sink !== undefined,
    ),
  );
  const latestTable = useRef<string | null>(form.table);
  // A field's error goes away as soon as the field is edited, not at the next Save or Preview.
  // Edits are remembered against the error they answer: a new error starts with none.
  const [editedSince, setEditedSince] = useState<{ error: unknown; fields: ReadonlySet<string> }>({
    error: undefined,
    fields: new Set(),
  });
  const edited = editedSince.error === error ? editedSince.fields : new Set<string>();
  const markEdited = (field: string) =>
    setEditedSince((e) => ({
      error,
      fields: new Set(e.error === error ? e.fields : []).add(field),
    }));
  const fields = Object.fromEntries(
    Object.entries(normaliseFields(fieldErrors(error))).filter(
      ([field]) => !edited.has(field) && !(field.startsWith('mapping') && edited.has('mapping')),
    ),
  );
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => {
    markEdited(ERROR_FIELD[k] ?? k);
    setForm((f) => ({ ...f, [k]: v }));
  };

  // Columns of the chosen table: loaded with the page for an existing section, then on demand.
  const initial = useResource(
    (signal) =>
      props.section && !readOnly
        ? call('describeTable', {
            params: { name: props.integration, table: props.section.table },
            signal,
          })
        : Promise.resolve(undefined),
    `describe:${props.integration}:${readOnly ? '' : (props.section?.table ?? '')}`,
  );
  const currentDetail =
    detail?.table === form.table
      ? detail.detail
      : form.table === props.section?.table
        ? initial.data?.table
        : undefined;
  const columnsError =
    detail?.table === form.table
      ? detail.error
      : form.table === props.section?.table
        ? initial.error
        : undefined;
  const columns: ColumnView[] | undefined = currentDetail?.columns;

  const loadColumns = async (table: string, autofill: boolean) => {
    latestTable.current = table;
    setColumnsLoading(true);
    try {
      const res = await call('describeTable', { params: { name: props.integration, table } });
      if (latestTable.current !== table) return;
      setDetail({ table, detail: res.table });
      if (autofill) autofillFrom(res.table);
    } catch (err) {
      if (latestTable.current === table) setDetail({ table, error: err });
    } finally {
      if (latestTable.current === table) setColumnsLoading(false);
    }
  };

  /** After a table is chosen: its key, and columns whose names match the mapped fields. */
  const autofillFrom = (t: TableDetail['table']) => {
    const names = t.columns.map((c) => c.name);
    const candidates = t.columns.filter((c) => c.keyCandidate);
    const pk =
      t.primaryKey.length === 1 ? candidates.find((c) => c.name === t.primaryKey[0]) : undefined;
    const key = pk ?? candidates.find((c) => c.indexed) ?? candidates[0];
    setForm((f) => ({ ...f, key: key?.name ?? null }));
    setRows((rs) => {
      const kept = rs.map((r) =>
        r.target && (!r.column || !names.includes(r.column))
          ? { ...r, column: guessColumn(form.dataType, r.target, names) ?? null }
          : r,
      );
      // Fields whose column is plain from its name are mapped too; the user removes what is wrong.
      const extra = targetsFor(form.dataType)
        .filter((t) => !kept.some((r) => r.target === t.name))
        .flatMap((t) => {
          const column = guessColumn(form.dataType, t.name, names);
          return column ? [newRow(t.name, column)] : [];
        });
      return [...kept, ...extra];
    });
  };

  const onTable = (table: string | null) => {
    markEdited('table');
    setForm((f) => ({ ...f, table, key: null, name: nameTouched || !table ? f.name : table }));
    setPreview(undefined);
    if (table) void loadColumns(table, true);
  };

  const onDataType = (dataType: DataType) => {
    const valid = new Set(targetsFor(dataType).map((t) => t.name));
    const kept = rows.filter((r) => r.target === null || valid.has(r.target));
    const names = (columns ?? []).map((c) => c.name);
    const added = initialTargets(dataType)
      .filter((t) => !kept.some((r) => r.target === t))
      .map((t) => newRow(t, guessColumn(dataType, t, names) ?? null));
    setRows([...kept, ...added]);
    setForm((f) => ({ ...f, dataType }));
    setPreview(undefined);
  };

  const input = (): SectionInput => {
    const mapping: Record<string, string> = {};
    for (const r of rows) if (r.target && r.column) mapping[r.target] = r.column;
    const webhook = form.alertWebhook.trim();
    const threshold = form.rejectThreshold === '' ? undefined : Number(form.rejectThreshold);
    const alerts =
      webhook || threshold !== undefined
        ? {
            ...(webhook ? { webhook } : {}),
            ...(threshold !== undefined ? { rejectThreshold: threshold } : {}),
          }
        : undefined;
    const baseUrl = form.sinkBaseUrl.trim();
    const tokenEnv = form.sinkTokenEnv.trim();
    const sink: NonNullable<SectionInput['sink']> =
      form.sinkType === 'store'
        ? { type: 'store' }
        : {
            type: form.sinkType,
            // Neither token nor tokenEnv keeps the token stored before.
            planhat: {
              ...(baseUrl ? { baseUrl } : {}),
              ...(tokenEnv ? { tokenEnv } : {}),
              ...(form.sinkToken ? { token: form.sinkToken } : {}),
            },
          };
    return {
      name: form.name.trim(),
      dataType: form.dataType,
      direction: form.direction,
      table: form.table ?? '',
      key: form.key ?? '',
      batchSize: typeof form.batchSize === 'number' ? form.batchSize : Number(form.batchSize),
      schedule: form.schedule,
      ...(form.dataType === 'metrics' ? { model: form.model } : {}),
      mapping,
      ...(form.dataType === 'activities' ? { info: form.info } : {}),
      ...(form.lookback.trim() ? { lookback: form.lookback.trim() } : {}),
      ...(alerts ? { alerts } : {}),
      sink,
    };
  };

  /** Rows with a field but no column are reported before anything is sent. */
  const localIssues = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const r of rows) {
      if (r.target && !r.column)
        out[`mapping.${r.target}`] = 'Choose the MySQL column for this field';
      if (!r.target && r.column)
        out['mapping'] =
          `Column ${r.column} is not mapped to a field: choose one or remove the row`;
    }
    return out;
  };

  const runPreview = async () => {
    setPreviewing(true);
    setError(undefined);
    try {
      const local = localIssues();
      if (Object.keys(local).length > 0)
        throw new ApiError(400, 'CONFIG_INVALID', 'Finish the field mappings first', local);
      setPreview(
        await call('previewSection', {
          params: { name: props.integration },
          query: { limit: 20 },
          body: input(),
        }),
      );
    } catch (err) {
      setPreview(undefined);
      setError(err);
    } finally {
      setPreviewing(false);
    }
  };

  const save = async () => {
    setSaving(true);
    setError(undefined);
    try {
      const local = localIssues();
      if (Object.keys(local).length > 0)
        throw new ApiError(400, 'CONFIG_INVALID', 'Finish the field mappings first', local);
      const res = props.section
        ? await call('updateSection', { params: { id: props.section.id }, body: input() })
        : await call('createSection', { params: { name: props.integration }, body: input() });
      notifications.show({
        color: 'teal',
        title: isNew ? 'Section added' : 'Section saved',
        message: `${res.section.name} ${res.section.direction === 'receive' ? `syncs ${scheduleLabel(res.section.schedule).toLowerCase().startsWith('day') ? 'once a day' : 'every ' + scheduleLabel(res.section.schedule)}` : 'is saved, not syncing'}.`,
      });
      for (const w of res.warnings) {
        notifications.show({
          color: 'yellow',
          title: 'Saved with a warning',
          message: w.message,
          autoClose: 10_000,
        });
      }
      navigate(`/integrations/${encodeURIComponent(props.integration)}`);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const confirmDelete = () => {
    const s = props.section;
    if (!s) return;
    modals.openConfirmModal({
      title: `Delete section ${s.name}?`,
      children: (
        <Text fz="sm">
          The section, its run logs, rejects and the {s.landed.toLocaleString()} records it landed
          are deleted. The MySQL table is not touched.
        </Text>
      ),
      labels: { confirm: 'Delete section', cancel: 'Cancel' },
      confirmProps: { color: 'red', 'data-testid': 'delete-confirm' } as Record<string, unknown>,
      onConfirm: () => {
        void call('deleteSection', { params: { id: s.id } })
          .then(() => {
            notifications.show({ color: 'gray', title: 'Section deleted', message: s.name });
            navigate(`/integrations/${encodeURIComponent(props.integration)}`);
          })
          .catch((err: unknown) =>
            notifications.show({
              color: 'red',
              title: 'Could not delete',
              message: errorMessage(err),
            }),
          );
      },
    });
  };

  const tableData = (() => {
    const list = props.tables ?? [];
    const known = new Set(list.map((t) => t.name));
    const extra =
      form.table && !known.has(form.table)
        ? [{ value: form.table, label: `${form.table} (not found)` }]
        : [];
    const tables = list
      .filter((t) => t.kind === 'table')
      .map((t) => ({ value: t.name, label: t.name }));
    const views = list
      .filter((t) => t.kind === 'view')
      .map((t) => ({ value: t.name, label: t.name }));
    return [
      ...(tables.length || extra.length ? [{ group: 'Tables', items: [...tables, ...extra] }] : []),
      ...(views.length ? [{ group: 'Views', items: views }] : []),
    ];
  })();

  const candidates = (columns ?? []).filter((c) => c.keyCandidate);
  const keyData = candidates.map((c) => ({ value: c.name, label: c.name }));
  if (form.key && !keyData.some((k) => k.value === form.key))
    keyData.push({ value: form.key, label: form.key });
  const keyColumn = (columns ?? []).find((c) => c.name === form.key);
  const keyWarning = keyColumn
    ? (keyColumn.warning ??
      (keyColumn.indexed
        ? undefined
        : 'This column has no index: each sync scans the whole table.'))
    : undefined;
  const generalError =
    error !== undefined &&
    !Object.keys(fields).some((f) =>
      [
        'name',
        'dataType',
        'direction',
        'table',
        'key',
        'batchSize',
        'schedule',
        'model',
        'info',
        'lookback',
        'mapping',
        'alerts',
        'sink',
      ].some((k) => f === k || f.startsWith(`${k}.`)),
    );
  const otherFieldErrors = Object.entries(fields).filter(
    ([f]) =>
      ![
        'name',
        'dataType',
        'direction',
        'table',
        'key',
        'batchSize',
        'schedule',
        'model',
        'info',
        'lookback',
      ].includes(f) &&
      !f.startsWith('mapping') &&
      f !== 'alerts.webhook' &&
      f !== 'alerts.rejectThreshold' &&
      !SINK_FIELDS.includes(f),
  );
  const sinkTypeError = fields['sink.type'] ?? fields['sink.planhat'] ?? fields['sink'];

  return (
    <>
      <PageHeader
        crumbs={[
          { label: 'Integrations', to: '/integrations' },
          {
            label: props.integration,
            to: `/integrations/${encodeURIComponent(props.integration)}`,
          },
          { label: isNew ? 'New section' : (props.section?.name ?? '') },
        ]}
        title={isNew ? 'Add new section' : `Section ${props.section?.name}`}
        description="One table synced one way: what it holds, where it lands, how often, and which column is which."
        actions={
          !isNew && (
            <Button
              variant="default"
              component={Link}
              to={`/integrations/${encodeURIComponent(props.integration)}/sections/${props.section?.id}/logs`}
            >
              Show logs
            </Button>
          )
        }
      />

      <Stack gap="lg" pb={90}>
        {props.tablesError !== undefined && (
          <ErrorState error={props.tablesError} title="Cannot read the tables of this database" />
        )}

        <SectionCard
          title="Sync"
          description="What the table holds, which table, and how often Sluice fetches it."
        >
          <Grid gap="md">
            <Grid.Col span={{ base: 12, md: 6 }}>
              <TextInput
                label="Section name"
                placeholder="feature-clicks"
                required
                value={form.name}
                onChange={(e) => {
                  setNameTouched(true);
                  set('name', e.currentTarget.value);
                }}
                error={fields['name']}
                readOnly={readOnly || !isNew}
                variant={isNew ? 'default' : 'filled'}
                description={isNew ? 'Unique within the integration' : 'The name cannot change'}
                data-testid="editor-name"
              />
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Select
                label="Data type"
                required
                data={[
                  { value: 'activities', label: DATA_TYPE_LABELS['activities'] ?? 'activities' },
                  { value: 'metrics', label: DATA_TYPE_LABELS['metrics'] ?? 'metrics' },
                ]}
                value={form.dataType}
                onChange={(v) => v && onDataType(v as DataType)}
                allowDeselect={false}
                error={fields['dataType']}
                description={
                  form.dataType === 'activities'
                    ? 'Events of an enduser (login, feature-click)'
                    : 'Values for a company, enduser, project or asset on a date'
                }
                readOnly={readOnly}
                data-testid="editor-data-type"
              />
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Select
                label="Sync direction"
                data={[
                  { value: 'off', label: DIRECTION_LABELS['off'] ?? 'off' },
                  { value: 'receive', label: DIRECTION_LABELS['receive'] ?? 'receive' },
                ]}
                value={form.direction}
                onChange={(v) => v && set('direction', v as Direction)}
                allowDeselect={false}
                description="“Not syncing” keeps the section but never runs it"
                error={fields['direction']}
                readOnly={readOnly}
                data-testid="editor-direction"
              />
            </Grid.Col>
            {form.dataType === 'metrics' && (
              <Grid.Col span={{ base: 12, md: 6 }}>
                <Select
                  label="Model"
                  description="The object the metric lands on"
                  data={MODELS_LIST.map((m) => ({ value: m, label: m }))}
                  value={form.model}
                  onChange={(v) => v && set('model', v as Model)}
                  allowDeselect={false}
                  error={fields['model']}
                  readOnly={readOnly}
                  data-testid="editor-model"
                />
              </Grid.Col>
            )}
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Select
                label="Model in MySQL"
                description="The table or view to read"
                placeholder={props.tables ? 'Choose a table' : 'Loading tables…'}
                required
                searchable
                nothingFoundMessage="No such table"
                data={tableData}
                value={form.table}
                onChange={onTable}
                error={fields['table']}
                readOnly={readOnly}
                data-testid="editor-table"
              />
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Select
                label="Key in MySQL"
                description="The unique, incrementing column that orders rows"
                placeholder={
                  !form.table
                    ? 'Choose a table first'
                    : columnsLoading
                      ? 'Loading columns…'
                      : candidates.length
                        ? 'Choose the key'
                        : 'No column can serve as key'
                }
                required
                data={keyData}
                value={form.key}
                onChange={(v) => set('key', v)}
                allowDeselect={false}
                renderOption={({ option }) => {
                  const c = candidates.find((x) => x.name === option.value);
                  return (
                    <Group justify="space-between" w="100%" wrap="nowrap" gap="md">
                      <Text fz="sm" className="mono">
                        {option.label}
                      </Text>
                      <Group gap={6} wrap="nowrap">
                        <Text fz="xs" c="dimmed">
                          {c?.columnType}
                        </Text>
                        {c && !c.indexed && (
                          <Badge size="xs" color="yellow" variant="light">
                            no index
                          </Badge>
                        )}
                      </Group>
                    </Group>
                  );
                }}
                error={fields['key']}
                disabled={!form.table}
                readOnly={readOnly}
                data-testid="editor-key"
              />
              {keyWarning && !fields['key'] && (
                <Group gap={6} mt={6} wrap="nowrap" data-testid="editor-key-warning">
                  <IconAlertTriangle size={14} color="var(--mantine-color-yellow-7)" />
                  <Text fz="xs" c="yellow.8">
                    {keyWarning}
                  </Text>
                </Group>
              )}
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <NumberInput
                label="Batch size"
                description="Rows per request to MySQL and per commit (1–100,000)"
                min={1}
                max={100_000}
                step={1000}
                thousandSeparator=","
                value={form.batchSize}
                onChange={(v) => set('batchSize', v)}
                error={fields['batchSize']}
                readOnly={readOnly}
                data-testid="editor-batch-size"
              />
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Select
                label="Run once in"
                description="How often Sluice fetches new rows"
                data={SCHEDULE_DATA}
                value={form.schedule}
                onChange={(v) => v && set('schedule', v)}
                allowDeselect={false}
                maxDropdownHeight={320}
                error={fields['schedule']}
                readOnly={readOnly}
                data-testid="editor-schedule"
              />
            </Grid.Col>
          </Grid>
        </SectionCard>

        <SectionCard
          title="Field mappings"
          description="Left: the Sluice field. Right: the MySQL column it comes from."
          right={
            <Group gap={8}>
              {auth.can('superadmin') && (
                <Tooltip label="SQL query interface (super admins)">
                  <ActionIcon
                    variant="default"
                    size={36}
                    onClick={() => setConsoleOpen(true)}
                    aria-label="Open the SQL query interface"
                    data-testid="open-sql"
                  >
                    <IconCode size={18} />
                  </ActionIcon>
                </Tooltip>
              )}
              <Button
                leftSection={<IconRefresh size={16} />}
                onClick={() => form.table && void loadColumns(form.table, false)}
                loading={columnsLoading}
                disabled={!form.table}
                data-testid="refresh-fields"
              >
                Refresh fields
              </Button>
            </Group>
          }
        >
          {columnsError !== undefined && (
            <Alert
              color="red"
              variant="light"
              mb="md"
              title={`Cannot read the columns of ${form.table}`}
            >
              {errorMessage(columnsError)}
            </Alert>
          )}
          <FieldMappings
            dataType={form.dataType}
            rows={rows}
            columns={columns}
            columnsLoading={columnsLoading || initial.fetching}
            errors={fields}
            readOnly={readOnly}
            onChange={(r) => {
              markEdited('mapping');
              setRows(r);
              setPreview(undefined);
            }}
            onAdd={() => setRows((r) => [...r, newRow()])}
          />
          {form.dataType === 'activities' && (
            <MultiSelect
              mt="lg"
              label="Extra info columns"
              description="Copied into each activity’s info object (optional)"
              placeholder={columns ? 'Choose columns' : undefined}
              data={(columns ?? []).map((c) => c.name)}
              value={form.info}
              onChange={(v) => set('info', v)}
              searchable
              clearable
              error={fields['info']}
              readOnly={readOnly}
              data-testid="editor-info"
            />
          )}
          <Accordion
            variant="default"
            mt="md"
            chevronPosition="left"
            value={
              advanced ||
              ['lookback', 'alerts.webhook', 'alerts.rejectThreshold', ...SINK_FIELDS].some(
                (f) => f in fields,
              )
                ? 'advanced'
                : null
            }
            onChange={(v) => setAdvanced(v === 'advanced')}
          >
            <Accordion.Item value="advanced">
              <Accordion.Control>
                <Text fz="sm" fw={500}>
                  Advanced: lookback, alerts and delivery
                </Text>
              </Accordion.Control>
              <Accordion.Panel>
                <TextInput
                  label="Lookback"
                  description="Re-read this window behind the cursor on every run, for rows that commit out of key order: key units (100) for numeric keys, a duration (10m, 2h) for date keys. Empty: off."
                  placeholder="off"
                  value={form.lookback}
                  onChange={(e) => set('lookback', e.currentTarget.value)}
                  error={fields['lookback']}
                  readOnly={readOnly}
                  maw={420}
                  data-testid="editor-lookback"
                />
                <Group grow align="flex-start" mt="md">
                  <TextInput
                    label="Alert webhook"
                    description="Where this section's alerts go (default: the integration's webhook)"
                    placeholder="https://hooks.example.com/sluice"
                    value={form.alertWebhook}
                    onChange={(e) => set('alertWebhook', e.currentTarget.value)}
                    error={fields['alerts.webhook']}
                    readOnly={readOnly}
                    data-testid="editor-alert-webhook"
                  />
                  <NumberInput
                    label="Reject threshold"
                    description="Alert when one run rejects more rows than this (empty: never)"
                    placeholder="never"
                    min={0}
                    allowDecimal={false}
                    value={form.rejectThreshold}
                    onChange={(v) => set('rejectThreshold', v)}
                    error={fields['alerts.rejectThreshold']}
                    readOnly={readOnly}
                    data-testid="editor-reject-threshold"
                  />
                </Group>
                <Select
                  label="Deliver to"
                  description="Where the section's records go: the Sluice store, a Planhat-compatible endpoint instead, or both"
                  data={SINK_CHOICES}
                  value={form.sinkType}
                  onChange={(v) => v && set('sinkType', v as SinkType)}
                  allowDeselect={false}
                  error={sinkTypeError}
                  readOnly={readOnly}
                  maw={420}
                  mt="md"
                  data-testid="editor-sink-type"
                />
                {form.sinkType !== 'store' && (
                  <Stack gap="md" mt="md">
                    <TextInput
                      label="Base URL"
                      description="The Planhat-compatible endpoint (http or https)"
                      placeholder={PLANHAT_BASE_URL}
                      value={form.sinkBaseUrl}
                      onChange={(e) => set('sinkBaseUrl', e.currentTarget.value)}
                      error={fields['sink.planhat.baseUrl']}
                      readOnly={readOnly}
                      maw={420}
                      data-testid="editor-sink-base-url"
                    />
                    <Group grow align="flex-start">
                      <TextInput
                        label="Token env variable"
                        description="Name of the environment variable holding the tenant token (recommended)"
                        placeholder="PLANHAT_TOKEN"
                        value={form.sinkTokenEnv}
                        onChange={(e) => set('sinkTokenEnv', e.currentTarget.value)}
                        error={fields['sink.planhat.tokenEnv']}
                        readOnly={readOnly}
                        data-testid="editor-sink-token-env"
                      />
                      <PasswordInput
                        label="Or a token"
                        description="Stored encrypted, never shown again"
                        placeholder={
                          props.section?.sink?.planhat?.hasToken
                            ? 'stored — leave empty to keep'
                            : 'tenant token'
                        }
                        autoComplete="new-password"
                        value={form.sinkToken}
                        onChange={(e) => set('sinkToken', e.currentTarget.value)}
                        error={fields['sink.planhat.token']}
                        readOnly={readOnly}
                        data-testid="editor-sink-token"
                      />
                    </Group>
                  </Stack>
                )}
              </Accordion.Panel>
            </Accordion.Item>
          </Accordion>
        </SectionCard>

        <SectionCard
          title="Preview"
          description="The first rows of the table as they would land, and the rows that would be rejected and why. Nothing is saved."
          right={
            <Button
              variant="light"
              leftSection={<IconEye size={16} />}
              onClick={() => void runPreview()}
              loading={previewing}
              disabled={!form.table || readOnly}
              data-testid="preview-button"
            >
              {preview ? 'Preview again' : 'Preview'}
            </Button>
          }
        >
          {preview ? (
            <PreviewPanel dataType={form.dataType} preview={preview} />
          ) : (
            <Text c="dimmed" fz="sm" ta="center" py="lg">
              Choose a table and map the fields, then preview the first 20 rows.
            </Text>
          )}
        </SectionCard>

        {(generalError || otherFieldErrors.length > 0) && (
          <Alert
            color="red"
            variant="light"
            icon={<IconAlertTriangle size={18} />}
            title="The section was not saved"
            data-testid="editor-error"
          >
            <Stack gap={4}>
              {generalError && <Text fz="sm">{errorMessage(error)}</Text>}
              {otherFieldErrors.map(([f, m]) => (
                <Text fz="sm" key={f}>
                  <b>{f}</b>: {m}
                </Text>
              ))}
            </Stack>
          </Alert>
        )}
      </Stack>

      {!readOnly && (
        <Paper
          withBorder
          shadow="md"
          p="sm"
          px="lg"
          style={{ position: 'sticky', bottom: 16, zIndex: 5 }}
        >
          <Group justify="space-between">
            <Group gap="sm">
              {!isNew && (
                <Button
                  variant="subtle"
                  color="red"
                  leftSection={<IconTrash size={16} />}
                  onClick={confirmDelete}
                  data-testid="delete-section"
                >
                  Delete section
                </Button>
              )}
              {Object.keys(fields).length > 0 && (
                <Text fz="sm" c="red">
                  {Object.keys(fields).length} field{Object.keys(fields).length === 1 ? '' : 's'} to
                  fix
                </Text>
              )}
            </Group>
            <Group gap="sm">
              <Button
                variant="default"
                component={Link}
                to={`/integrations/${encodeURIComponent(props.integration)}`}
              >
                Cancel
              </Button>
              <Button
                leftSection={<IconDeviceFloppy size={16} />}
                onClick={() => void save()}
                loading={saving}
                data-testid="save-section"
              >
                Save section
              </Button>
            </Group>
          </Group>
        </Paper>
      )}

      {consoleOpen && form.table !== undefined && (
        <SqlConsoleModal
          integration={props.integration}
          initialSql={
            form.table
              ? `SELECT * FROM \`${form.table}\`${form.key ? ` ORDER BY \`${form.key}\` DESC` : ''} LIMIT 20`
              : ''
          }
          onClose={() => setConsoleOpen(false)}
        />
      )}
    </>
  );
}

/** Add new section / edit a section: the field configuration of the seed, with a preview. */
export function SectionEditorPage() {
  const { name = '', id } = useParams();
  const auth = useAuth();
  const section = useResource(
    (signal) => (id ? call('getSection', { params: { id }, signal }) : Promise.resolve(null)),
    `section:${id ?? 'new'}`,
  );
  const tables = useResource(
    (signal) =>
      auth.can('admin') ? call('listTables', { params: { name }, signal }) : Promise.resolve(null),
    `tables:${name}`,
  );
  if (section.loading) return <LoadingState label="Loading section…" />;
  if (section.error !== undefined && !section.data)
    return <ErrorState error={section.error} title="Cannot open this section" />;
  return (
    <SectionForm
      key={id ?? 'new'}
      integration={name}
      section={section.data?.section}
      tables={tables.data?.tables}
      tablesError={tables.error}
    />
  );
}
