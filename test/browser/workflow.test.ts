/**
 * The MySQL workflow of the seed brief, end to end in Chromium: the built `sluice serve` on a
 * temp data folder, a real MariaDB database, and a user clicking through the UI. The steps run
 * in order and share the browser, the server and the database; once one fails the rest are
 * skipped (they would only fail for the same reason). Each visited page is saved as a full-page
 * screenshot under test-results/screenshots/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  choose,
  launchBrowser,
  removeFailureScreenshots,
  requireBuildAndBrowser,
  screenshot,
  serveSluice,
  type ServedSluice,
} from '../helpers/browser.js';
import { createTestDatabase, TEST_MYSQL, type TestDatabase } from '../helpers/mariadb.js';

const ADMIN = { email: 'ada@example.com', password: 'ada-has-a-long-password' };
const VIEWER = { email: 'vic@example.com', password: 'vic-has-a-long-password' };
/** Polls of what the UI shows once a request is answered. */
const QUICK = { timeout: 10_000, interval: 100 };
/** Polls that wait for a run (the integration page refreshes every 4 s, the logs every 5 s). */
const SLOW = { timeout: 20_000, interval: 200 };
/** `expect.poll` with room for a loaded machine (its default gives up after 1 s). */
const poll = <T>(fn: () => T | Promise<T>, options = QUICK) => expect.poll(fn, options);

/**
 * A schedule twelve hours away, so that after the first run (a new section runs at once) no
 * scheduled run comes between the test's own "Run now" and its checks.
 */
const farHour = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
const SCHEDULE_LABEL = `Day at ${farHour}:00`;

let db: TestDatabase;
let dataDir: string;
let server: ServedSluice | undefined;
let browser: Browser | undefined;
let adminContext: BrowserContext | undefined;
let page: Page;
let broken: string | undefined;
let integrationName = 'mysql';

/** One step of the flow: skipped once an earlier step failed; a failure leaves a screenshot. */
function step(name: string, fn: () => Promise<void>, timeout = 60_000) {
  it(
    name,
    async (ctx) => {
      if (broken) ctx.skip(`an earlier step failed: ${broken}`);
      ctx.onTestFailed(async () => {
        broken = name;
        await screenshot(page, `FAILED-${name.replace(/\W+/g, '-').slice(0, 60)}`).catch(
          () => undefined,
        );
        if (server) console.error(`sluice serve output:\n${server.output().slice(-4000)}`);
      });
      await fn();
    },
    timeout,
  );
}

const byTestId = (p: Page | Locator, id: string) => p.getByTestId(id);
const sectionRow = (name: string) =>
  page.locator(`[data-testid="section-row"][data-section="${name}"]`);
/** The text of a stat of a section row ("Landed" → "11"), without its label. */
async function stat(row: Locator, testId: string): Promise<string> {
  const text = await row.getByTestId(testId).innerText();
  return text.split('\n').slice(1).join(' ').trim();
}

async function login(p: Page, who: { email: string; password: string }) {
  await p.goto(server!.url);
  await byTestId(p, 'login-email').fill(who.email);
  await byTestId(p, 'login-password').fill(who.password);
  await byTestId(p, 'login-submit').click();
  await byTestId(p, 'user-menu').waitFor();
}

async function apiJson<T>(p: Page, path: string): Promise<T> {
  const res = await p.request.get(new URL(path, server!.url).toString());
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

async function seed(d: TestDatabase) {
  // Product events: two people, logins and feature clicks over four days. Row 7 names nobody
  // (no email, no user id): it cannot become an activity and must be rejected with its reason.
  await d.exec(`CREATE TABLE events (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_email VARCHAR(255) NULL,
    user_id VARCHAR(64) NULL,
    account_id VARCHAR(64) NULL,
    event_name VARCHAR(64) NOT NULL,
    qty INT NULL,
    created_at DATETIME NOT NULL,
    display_name VARCHAR(255) NULL
  )`);
  await d.exec(
    `INSERT INTO events (id, user_email, user_id, account_id, event_name, qty, created_at, display_name) VALUES
      (1, 'ann@acme.io', 'u-1', 'acme', 'login', 1, '2025-03-01 08:00:00', 'Ann Archer'),
      (2, 'ann@acme.io', 'u-1', 'acme', 'feature-click', 3, '2025-03-01 08:05:00', 'Ann Archer'),
      (3, 'bob@globex.io', 'u-2', 'globex', 'login', 1, '2025-03-01 09:00:00', 'Bob Brown'),
      (4, 'bob@globex.io', 'u-2', 'globex', 'feature-click', 2, '2025-03-02 10:00:00', 'Bob Brown'),
      (5, 'ann@acme.io', 'u-1', 'acme', 'login', 1, '2025-03-02 08:00:00', 'Ann Archer'),
      (6, 'ann@acme.io', 'u-1', 'acme', 'feature-click', 5, '2025-03-02 08:30:00', 'Ann Archer'),
      (7, NULL, NULL, 'acme', 'feature-click', 1, '2025-03-02 11:00:00', NULL),
      (8, 'bob@globex.io', 'u-2', 'globex', 'login', 1, '2025-03-03 09:00:00', 'Bob Brown'),
      (9, 'bob@globex.io', 'u-2', 'globex', 'feature-click', 4, '2025-03-03 09:10:00', 'Bob Brown'),
      (10, 'ann@acme.io', 'u-1', 'acme', 'login', 1, '2025-03-04 08:00:00', 'Ann Archer'),
      (11, 'ann@acme.io', 'u-1', 'acme', 'feature-click', 1, '2025-03-04 08:20:00', 'Ann Archer'),
      (12, 'bob@globex.io', 'u-2', 'globex', 'feature-click', NULL, '2025-03-04 12:00:00', 'Bob Brown')`,
  );
  // A daily usage export: seats per company for five days and API calls of acme for four. The
  // amount is text (as CSV imports often leave it); one row says 'n/a' and must be rejected.
  await d.exec(`CREATE TABLE daily_usage (
    seq INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    company_id VARCHAR(64) NOT NULL,
    metric VARCHAR(64) NOT NULL,
    amount VARCHAR(32) NULL,
    day DATE NOT NULL
  )`);
  const rows: string[] = [];
  for (let day = 1; day <= 5; day++) {
    const date = `2025-03-0${day}`;
    rows.push(`('acme', 'seats', '${10 + day}', '${date}')`);
    rows.push(`('globex', 'seats', '${20 + 2 * day}', '${date}')`);
    if (day <= 4) rows.push(`('acme', 'api_calls', '${1000 * day}', '${date}')`);
  }
  rows.push(`('globex', 'api_calls', 'n/a', '2025-03-05')`);
  await d.exec(
    `INSERT INTO daily_usage (company_id, metric, amount, day) VALUES ${rows.join(',')}`,
  );
}

beforeAll(async () => {
  requireBuildAndBrowser();
  await removeFailureScreenshots();
  db = await createTestDatabase('sluice_browser');
  await seed(db);
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-browser-'));
  await addUser(dataDir, ADMIN.email, 'superadmin', ADMIN.password);
  await addUser(dataDir, VIEWER.email, 'viewer', VIEWER.password);
  server = await serveSluice(dataDir);
  browser = await launchBrowser();
  adminContext = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  page = await adminContext.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  // Each part is closed even when another fails to; the server goes before its database.
  const results = [
    ...(await Promise.allSettled([browser?.close(), server?.stop()])),
    ...(await Promise.allSettled([
      db?.drop(),
      dataDir ? rm(dataDir, { recursive: true, force: true }) : undefined,
    ])),
  ];
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

describe('the web UI in Chromium, against the served Sluice and MariaDB', () => {
  step('logs in as the super admin and lands on the Integrations page', async () => {
    await page.goto(server!.url);
    await page.waitForURL(/\/login/);
    await byTestId(page, 'login-email').waitFor();
    await screenshot(page, '01-login');

    await byTestId(page, 'login-email').fill(ADMIN.email);
    await byTestId(page, 'login-password').fill('not the password');
    await byTestId(page, 'login-submit').click();
    await poll(() => byTestId(page, 'login-error').innerText()).toMatch(/email|password/i);

    await byTestId(page, 'login-password').fill(ADMIN.password);
    await byTestId(page, 'login-submit').click();
    await page.waitForURL(/\/integrations$/);
    await byTestId(page, 'mysql-card').waitFor();
    expect(await byTestId(page, 'current-user').innerText()).toBe(ADMIN.email);
    await screenshot(page, '02-integrations-new');
  });

  step(
    'sets up the MySQL connection: access denied first, then connected, and turns it on',
    async () => {
      const card = byTestId(page, 'mysql-card');
      await byTestId(card, 'mysql-host').fill(TEST_MYSQL.host);
      await byTestId(card, 'mysql-port').fill(String(TEST_MYSQL.port));
      await byTestId(card, 'mysql-database').fill(db.name);
      integrationName = await byTestId(card, 'mysql-name').inputValue();

      await byTestId(card, 'mysql-credentials-button').click();
      const dialog = byTestId(page, 'credentials-dialog');
      await dialog.waitFor();
      await byTestId(dialog, 'credentials-user').fill(TEST_MYSQL.user);
      await byTestId(dialog, 'credentials-password').fill('certainly-wrong');
      await byTestId(dialog, 'credentials-setup').click();
      const result = byTestId(dialog, 'credentials-result');
      await result.waitFor();
      expect(await result.getAttribute('data-ok')).toBe('false');
      expect(await result.getAttribute('data-code')).toBe('MYSQL_ACCESS_DENIED');
      expect(await result.innerText()).toMatch(/access denied/i);
      await screenshot(page, '03-credentials-denied');
      // Nothing is saved by a failed test.
      const none = await apiJson<{ integrations: unknown[] }>(page, '/api/integrations');
      expect(none.integrations).toEqual([]);

      await byTestId(dialog, 'credentials-password').fill(TEST_MYSQL.password);
      await byTestId(dialog, 'credentials-setup').click();
      await dialog.locator('[data-testid="credentials-result"][data-ok="true"]').waitFor();
      expect(await result.innerText()).toMatch(/MariaDB|MySQL/);
      await screenshot(page, '04-credentials-connected');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });

      // Set up saved the integration (off): the card now shows its name, Save has nothing to do.
      await poll(() => byTestId(card, 'mysql-integration-name').innerText()).toBe(integrationName);
      expect(await byTestId(card, 'mysql-save').isDisabled()).toBe(true);
      const toggle = byTestId(card, 'mysql-toggle');
      expect(await toggle.isChecked()).toBe(false);
      // The switch's input is visually hidden behind its track: click the label that holds it.
      await card.locator('label:has([data-testid="mysql-toggle"])').click();
      await poll(() => toggle.isChecked()).toBe(true);
      await poll(
        async () =>
          (
            await apiJson<{ integration: { enabled: boolean } }>(
              page,
              `/api/integrations/${integrationName}`,
            )
          ).integration.enabled,
      ).toBe(true);

      // A change of the database name is saved with Save (and put back the same way).
      await byTestId(card, 'mysql-database').fill(`${db.name}_typo`);
      await byTestId(card, 'mysql-save').click();
      await poll(
        async () =>
          (
            await apiJson<{ integration: { mysql: { database: string } } }>(
              page,
              `/api/integrations/${integrationName}`,
            )
          ).integration.mysql.database,
      ).toBe(`${db.name}_typo`);
      await byTestId(card, 'mysql-database').fill(db.name);
      await byTestId(card, 'mysql-save').click();
      await poll(() => byTestId(card, 'mysql-save').isDisabled()).toBe(true);
      await screenshot(page, '05-integrations-on');
    },
  );

  step(
    'adds an activities section: table, key, mappings, preview with a rejected row, save',
    async () => {
      await byTestId(page, 'mysql-open').click();
      await page.waitForURL(new RegExp(`/integrations/${integrationName}$`));
      await byTestId(page, 'sections-empty').waitFor();
      await screenshot(page, '06-integration-empty');

      await byTestId(page, 'add-section').first().click();
      await page.waitForURL(/\/sections\/new$/);
      await choose(page, byTestId(page, 'editor-data-type'), 'User activities');
      await choose(page, byTestId(page, 'editor-direction'), 'Receive from provider');
      await choose(page, byTestId(page, 'editor-table'), 'events');
      // The table's primary key is proposed as the key, and columns named like fields are mapped.
      await poll(() => byTestId(page, 'editor-key').inputValue()).toBe('id');
      await choose(page, byTestId(page, 'editor-key'), /^id\b/);
      await byTestId(page, 'editor-name').fill('feature-clicks');
      await byTestId(page, 'editor-batch-size').fill('5');
      await choose(page, byTestId(page, 'editor-schedule'), SCHEDULE_LABEL);
      const mapped = (target: string) =>
        page
          .locator(`[data-testid="mapping-row"][data-target="${target}"]`)
          .getByTestId('mapping-column');
      await poll(() => mapped('email').inputValue()).toBe('user_email');
      expect(await mapped('action').inputValue()).toBe('event_name');
      expect(await mapped('weight').inputValue()).toBe('qty');

      // display_name is not guessed: map it by hand with "Map a field".
      expect(await page.locator('[data-testid="mapping-row"][data-target="name"]').count()).toBe(0);
      await byTestId(page, 'map-field').click();
      const fresh = page.locator('[data-testid="mapping-row"][data-target=""]');
      await choose(page, byTestId(fresh, 'mapping-target'), /^name\b/);
      await choose(page, mapped('name'), /^display_name\b/);

      await byTestId(page, 'preview-button').click();
      const preview = byTestId(page, 'preview-panel');
      await preview.waitFor();
      const records = byTestId(preview, 'preview-records').locator('tbody tr');
      await poll(() => records.count()).toBe(11);
      expect(await records.first().innerText()).toContain('ann@acme.io');
      expect(await records.first().innerText()).toContain('Ann Archer');
      await screenshot(page, '07-editor-activities-preview');
      await byTestId(preview, 'preview-tab-rejects').click();
      const rejects = byTestId(preview, 'preview-rejects').locator('tbody tr');
      await poll(() => rejects.count()).toBe(1);
      const reject = await rejects.first().innerText();
      expect(reject).toMatch(/^7\b/);
      expect(reject).toMatch(/missing_identity/i);
      expect(reject).toContain('neither email nor externalId');
      await screenshot(page, '08-editor-activities-preview-rejects');

      await byTestId(page, 'save-section').click();
      await page.waitForURL(new RegExp(`/integrations/${integrationName}$`));
      await sectionRow('feature-clicks').waitFor();
      // A new section of an integration that is on runs at once: 12 rows, 11 land, 1 rejected.
      await poll(() => stat(sectionRow('feature-clicks'), 'section-landed'), SLOW).toBe('11');
      expect(await stat(sectionRow('feature-clicks'), 'section-rejected')).toBe('1');
      expect(await stat(sectionRow('feature-clicks'), 'section-cursor')).toBe('12');
      await screenshot(page, '09-integration-one-section');
    },
  );

  step(
    'refuses a metrics section with a mandatory mapping missing, beside the field, saving nothing',
    async () => {
      await byTestId(page, 'add-section').first().click();
      await page.waitForURL(/\/sections\/new$/);
      await choose(page, byTestId(page, 'editor-data-type'), 'Custom metrics');
      await choose(page, byTestId(page, 'editor-model'), 'Company');
      await choose(page, byTestId(page, 'editor-table'), 'daily_usage');
      await poll(() => byTestId(page, 'editor-key').inputValue()).toBe('seq');
      await byTestId(page, 'editor-name').fill('usage');
      await byTestId(page, 'editor-batch-size').fill('1000');
      await choose(page, byTestId(page, 'editor-schedule'), SCHEDULE_LABEL);
      const row = (target: string) =>
        page.locator(`[data-testid="mapping-row"][data-target="${target}"]`);
      await poll(() => byTestId(row('value'), 'mapping-column').inputValue()).toBe('amount');

      // Without a value mapping at all: the server's validation names mapping.value.
      await byTestId(row('value'), 'mapping-remove').click();
      await byTestId(page, 'save-section').click();
      const mappingError = byTestId(page, 'mapping-error');
      await poll(() => mappingError.innerText()).toMatch(/value/);
      await screenshot(page, '10-editor-metrics-missing-value');
      expect(page.url()).toMatch(/\/sections\/new$/);

      // A value row without its column: the error sits on that row's column.
      await byTestId(page, 'map-field').click();
      await choose(
        page,
        byTestId(page.locator('[data-testid="mapping-row"][data-target=""]'), 'mapping-target'),
        /^value\b/,
      );
      await byTestId(page, 'save-section').click();
      await poll(() => row('value').innerText()).toContain(
        'Choose the MySQL column for this field',
      );
      expect(await byTestId(row('value'), 'mapping-column').getAttribute('aria-invalid')).toBe(
        'true',
      );
      await screenshot(page, '11-editor-metrics-column-missing');
      const saved = await apiJson<{ integration: { sections: { name: string }[] } }>(
        page,
        `/api/integrations/${integrationName}`,
      );
      expect(saved.integration.sections.map((s) => s.name)).toEqual(['feature-clicks']);
    },
  );

  step('completes the metrics section, previews the n/a row as a reject, and saves', async () => {
    const row = (target: string) =>
      page.locator(`[data-testid="mapping-row"][data-target="${target}"]`);
    await choose(page, byTestId(row('value'), 'mapping-column'), /^amount\b/);

    await byTestId(page, 'preview-button').click();
    const preview = byTestId(page, 'preview-panel');
    await preview.waitFor();
    // The errors of the refused save are gone once the mapping is complete.
    expect(await row('value').innerText()).not.toContain('Choose the MySQL column');
    expect(await byTestId(page, 'mapping-error').count()).toBe(0);
    await poll(() => byTestId(preview, 'preview-records').locator('tbody tr').count()).toBe(14);
    await byTestId(preview, 'preview-tab-rejects').click();
    const rejects = byTestId(preview, 'preview-rejects').locator('tbody tr');
    await poll(() => rejects.count()).toBe(1);
    expect(await rejects.first().innerText()).toMatch(/not_a_number[\s\S]*n\/a/i);
    await screenshot(page, '12-editor-metrics-preview-rejects');

    // The "<>" beside Refresh fields opens the SQL interface on this table (super admins).
    await byTestId(page, 'open-sql').click();
    const modal = byTestId(page, 'sql-modal');
    await modal.waitFor();
    expect(await byTestId(modal, 'sql-editor').inputValue()).toContain('daily_usage');
    await byTestId(modal, 'sql-run').click();
    await poll(() => byTestId(modal, 'sql-results-table').locator('tbody tr').count()).toBe(15);
    await screenshot(page, '13-editor-sql-modal');
    await page.keyboard.press('Escape');
    await modal.waitFor({ state: 'hidden' });

    await byTestId(page, 'save-section').click();
    await page.waitForURL(new RegExp(`/integrations/${integrationName}$`));
    await poll(() => stat(sectionRow('usage'), 'section-landed'), SLOW).toBe('14');
    expect(await stat(sectionRow('usage'), 'section-rejected')).toBe('1');
  });

  step(
    'runs a section now: status arrow, the log line with read/landed/rejected, the run’s rejects',
    async () => {
      // Two new events: one lands, one names nobody.
      await db.exec(
        `INSERT INTO events (id, user_email, user_id, account_id, event_name, qty, created_at, display_name) VALUES
          (13, 'ann@acme.io', 'u-1', 'acme', 'login', 1, '2025-03-05 08:00:00', 'Ann Archer'),
          (14, NULL, NULL, 'globex', 'login', 1, '2025-03-05 09:00:00', NULL)`,
      );
      const row = sectionRow('feature-clicks');
      await row.locator('[data-testid="status-arrow"][data-state="active"]').waitFor();
      await byTestId(row, 'section-run-now').click();
      await poll(() => stat(row, 'section-landed'), SLOW).toBe('12');
      expect(await stat(row, 'section-rejected')).toBe('2');
      expect(await stat(row, 'section-cursor')).toBe('14');
      await row.locator('[data-testid="status-arrow"][data-state="active"]').waitFor();
      expect(await row.getAttribute('data-state')).toBe('active');
      await screenshot(page, '14-integration-sections-after-run');

      await byTestId(row, 'section-show-logs').click();
      await page.waitForURL(/\/logs$/);
      const manual = page.locator('[data-testid="log-row"]', { hasText: `api:${ADMIN.email}` });
      await manual.waitFor(SLOW);
      expect(await manual.getAttribute('data-status')).toBe('succeeded');
      const cells = async (r: Locator) =>
        (await r.locator('td').allInnerTexts()).map((t) => t.trim().toLowerCase());
      const [, , , status, read, landed, rejected, keys] = await cells(manual);
      expect([status, read, landed, rejected]).toEqual(['succeeded', '2', '1', '1']);
      expect(keys).toMatch(/14$/);
      const first = page.locator('[data-testid="log-row"]', { hasText: 'schedule' });
      const [, , , , read1, landed1, rejected1] = await cells(first);
      expect([read1, landed1, rejected1]).toEqual(['12', '11', '1']);
      // Newest first.
      const runIds = await Promise.all(
        (await page.locator('[data-testid="log-row"]').all()).map(async (r) =>
          Number(await r.getAttribute('data-run')),
        ),
      );
      expect(runIds).toEqual([...runIds].sort((a, b) => b - a));
      await screenshot(page, '15-logs');

      await manual.click();
      const drawer = byTestId(page, 'run-drawer');
      await drawer.waitFor();
      const rejects = byTestId(drawer, 'reject-row');
      await poll(() => rejects.count()).toBe(1);
      const reject = await rejects.first().innerText();
      expect(reject).toMatch(/^14\b/);
      expect(reject).toMatch(/missing_identity/i);
      await screenshot(page, '16-logs-run-rejects');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });
    },
  );

  step('re-syncs from the beginning after a confirmation, landing no row twice', async () => {
    await page.goto(new URL(`/integrations/${integrationName}`, server!.url).toString());
    const row = sectionRow('feature-clicks');
    await byTestId(row, 'section-resync').click();
    const modal = byTestId(page, 'resync-modal');
    await modal.waitFor();
    await byTestId(modal, 'resync-from-start').check();
    expect(await modal.innerText()).toMatch(/re-reads the whole table/);
    await screenshot(page, '17-resync-modal');
    await byTestId(modal, 'resync-confirm').click();
    await modal.waitFor({ state: 'hidden' });
    const runs = async () =>
      (
        await apiJson<{ runs: { trigger: string; status: string; rowsRead: number }[] }>(
          page,
          `/api/sections/${await sectionId('feature-clicks')}/runs`,
        )
      ).runs;
    await poll(
      async () => (await runs()).find((r) => r.trigger.startsWith('resync:'))?.status,
      SLOW,
    ).toBe('succeeded');
    const resync = (await runs()).find((r) => r.trigger.startsWith('resync:'));
    expect(resync?.rowsRead).toBe(14);
    await poll(() => stat(row, 'section-cursor'), SLOW).toBe('14');
    expect(await stat(row, 'section-landed')).toBe('12');
  });

  step('shows the landed metrics and activities as charts in the Data module', async () => {
    await byTestId(page, 'nav-data').click();
    await page.waitForURL(/\/data\/metrics$/);
    const metrics = byTestId(page, 'metric-row');
    await poll(() => metrics.count()).toBe(2);
    const chart = byTestId(page, 'metric-chart');
    const seats = page.locator('[data-testid="metric-row"][data-metric="seats"]');
    await seats.click();
    await page.locator('[data-testid="metric-chart"][data-points="5"]').waitFor();
    // Drawn by the charting library: a line through five dots.
    await chart.locator('.recharts-line-curve').waitFor();
    await poll(() => chart.locator('.recharts-line-dot').count()).toBe(5);
    expect(await seats.innerText()).toMatch(
      /seats\s+Company\s+10\s+2\s+Mar 1, 2025\s+Mar 5, 2025/i,
    );
    await screenshot(page, '18-data-metrics');

    await page.locator('[data-testid="metric-row"][data-metric="api_calls"]').click();
    await page.locator('[data-testid="metric-chart"][data-points="4"]').waitFor();
    await poll(() => chart.locator('.recharts-line-dot').count()).toBe(4);

    await byTestId(page, 'data-tab-activities').click();
    await page.waitForURL(/\/data\/activities$/);
    const clicks = page.locator('[data-testid="action-row"][data-action="feature-click"]');
    await clicks.click();
    const actionChart = byTestId(page, 'action-chart');
    // feature-click on Mar 1, 2, 3 and 4: six of them (row 7 was rejected), weighing 3 + 2 + 5
    // + 4 + 1 + 1 (row 12 has no qty: weight 1), by two endusers.
    await page.locator('[data-testid="action-chart"][data-points="4"]').waitFor();
    await poll(() => actionChart.locator('.recharts-bar-rectangle').count()).toBe(4);
    expect(await clicks.innerText()).toMatch(
      /feature-click\s+6\s+16\s+2\s+Mar 1, 2025\s+Mar 4, 2025/,
    );
    await screenshot(page, '19-data-activities');

    await byTestId(page, 'data-tab-endusers').click();
    const endusers = byTestId(page, 'enduser-row');
    await poll(() => endusers.count()).toBe(2);
    expect(await byTestId(page, 'endusers-table').innerText()).toContain('ann@acme.io');
    await screenshot(page, '19b-data-endusers');
    await byTestId(page, 'data-tab-companies').click();
    await poll(() => byTestId(page, 'company-row').allInnerTexts()).toEqual([
      expect.stringMatching(/acme/),
      expect.stringMatching(/globex/),
    ]);
    await screenshot(page, '19c-data-companies');
  });

  step('lists both users, with their roles, in Settings', async () => {
    await byTestId(page, 'nav-settings').click();
    await page.waitForURL(/\/settings/);
    await page.locator(`[data-testid="user-row"][data-email="${VIEWER.email}"]`).waitFor();
    expect(await byTestId(page, 'user-row').count()).toBe(2);
    await screenshot(page, '19d-settings-users');
  });

  step('lets the super admin run a SELECT, and shows MySQL’s refusal of an UPDATE', async () => {
    await byTestId(page, 'nav-query').click();
    await page.waitForURL(/\/query$/);
    const editor = byTestId(page, 'sql-editor');
    await editor.fill(
      'SELECT event_name, COUNT(*) AS n FROM events GROUP BY event_name ORDER BY event_name',
    );
    await byTestId(page, 'sql-run').click();
    const results = byTestId(page, 'sql-results');
    await results.waitFor();
    const rows = byTestId(results, 'sql-results-table').locator('tbody tr');
    await poll(() => rows.allInnerTexts()).toEqual(['feature-click\t7', 'login\t7']);
    await screenshot(page, '20-query-select');

    await editor.fill("UPDATE events SET event_name = 'hacked'");
    await byTestId(page, 'sql-run').click();
    const error = byTestId(page, 'sql-error');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/READ ONLY/i);
    await results.waitFor({ state: 'detached' });
    const [unchanged] = await db.conn.query(
      "SELECT COUNT(*) AS n FROM events WHERE event_name = 'hacked'",
    );
    expect(unchanged).toEqual([{ n: '0' }]);
    // Both queries are in the audit log, with who ran them.
    await poll(() => byTestId(page, 'audit-table').locator('tbody tr').count()).toBe(3);
    expect(await byTestId(page, 'audit-table').innerText()).toContain(ADMIN.email);
    await screenshot(page, '21-query-update-refused');
  });

  step('a viewer never sees the SQL interface, and the API refuses it with 403', async () => {
    const context = await browser!.newContext({
      viewport: { width: 1440, height: 900 },
      locale: 'en-US',
      // West of UTC: a UTC day must still show as that day.
      timezoneId: 'America/New_York',
    });
    const viewer = await context.newPage();
    viewer.setDefaultTimeout(15_000);
    try {
      await login(viewer, VIEWER);
      await byTestId(viewer, 'nav-integrations').waitFor();
      expect(await byTestId(viewer, 'nav-query').count()).toBe(0);
      await byTestId(viewer, 'mysql-card').waitFor();
      await screenshot(viewer, '22-viewer-integrations');

      await viewer.goto(new URL(`/integrations/${integrationName}`, server!.url).toString());
      await viewer.locator('[data-testid="section-row"]').first().waitFor();
      expect(await byTestId(viewer, 'add-section').count()).toBe(0);
      expect(await byTestId(viewer, 'section-run-now').count()).toBe(0);
      expect(await byTestId(viewer, 'section-resync').count()).toBe(0);
      expect(await byTestId(viewer, 'integration-sql').count()).toBe(0);
      await screenshot(viewer, '23-viewer-integration');

      await viewer.goto(new URL('/query', server!.url).toString());
      await byTestId(viewer, 'query-forbidden').waitFor();
      expect(await byTestId(viewer, 'sql-editor').count()).toBe(0);
      await screenshot(viewer, '24-viewer-query-forbidden');

      const me = await viewer.request.get(new URL('/api/auth/me', server!.url).toString());
      const { csrfToken } = (await me.json()) as { csrfToken: string };
      const res = await viewer.request.post(
        new URL(`/api/integrations/${integrationName}/query`, server!.url).toString(),
        { data: { sql: 'SELECT 1' }, headers: { 'x-csrf-token': csrfToken } },
      );
      expect(res.status()).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');

      await viewer.goto(new URL('/data/metrics', server!.url).toString());
      const seats = viewer.locator('[data-testid="metric-row"][data-metric="seats"]');
      await seats.waitFor();
      expect(await seats.innerText()).toContain('Mar 1, 2025');
      await seats.click();
      await viewer.locator('[data-testid="metric-chart"][data-points="5"]').waitFor();
      const firstTick = viewer
        .getByTestId('metric-chart')
        .locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value')
        .first();
      expect(await firstTick.textContent()).toBe('Mar 1, 2025');
      await screenshot(viewer, '25-viewer-data-metrics');

      await byTestId(viewer, 'user-menu').click();
      await byTestId(viewer, 'logout').click();
      await viewer.waitForURL(/\/login/);
    } finally {
      await context.close();
    }
  });
});

async function sectionId(name: string): Promise<number> {
  const res = await apiJson<{ integration: { sections: { id: number; name: string }[] } }>(
    page,
    `/api/integrations/${integrationName}`,
  );
  const found = res.integration.sections.find((s) => s.name === name);
  if (!found) throw new Error(`no section ${name}`);
  return found.id;
}
