/**
 * The receiving half of the Planhat-compatible API, as a user meets it: create a tenant token in
 * Settings, push activities and metric points to the served Sluice with plain HTTP (as a script
 * written for Planhat would), and find them in the Data module labelled with the token, the
 * invalid item among the token's rejects, and a revoked token refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  launchBrowser,
  requireBuildAndBrowser,
  screenshot,
  serveSluice,
  type ServedSluice,
} from '../helpers/browser.js';

const ADMIN = { email: 'ivy@example.com', password: 'ivy-has-a-long-password' };
const QUICK = { timeout: 10_000, interval: 100 };

let dataDir: string;
let server: ServedSluice | undefined;
let browser: Browser | undefined;
let page: Page;
let token = '';

beforeAll(async () => {
  requireBuildAndBrowser();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-browser-ingest-'));
  await addUser(dataDir, ADMIN.email, 'admin', ADMIN.password);
  server = await serveSluice(dataDir);
  browser = await launchBrowser();
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    timezoneId: 'UTC',
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await Promise.allSettled([browser?.close(), server?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function push(path: string, body: unknown): Promise<Response> {
  return fetch(new URL(path, server!.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('pushing data through a tenant token, seen in the web UI', () => {
  it('creates a token in Settings and shows it once', async () => {
    await page.goto(server!.url);
    await page.getByTestId('login-email').fill(ADMIN.email);
    await page.getByTestId('login-password').fill(ADMIN.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('user-menu').waitFor();
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-tab-tokens').click();
    await page.getByTestId('add-token').click();
    await page.getByTestId('token-name').fill('billing-script');
    await page.getByTestId('create-token').click();
    token = (await page.getByTestId('token-secret').innerText()).trim();
    expect(token).toMatch(/^slt_[A-Za-z0-9_-]{20,}$/);
    await screenshot(page, '30-token-created');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="token-row"][data-token="billing-script"]').waitFor();
  }, 60_000);

  it('lands pushed activities and metric points, and answers every bad item with its reason', async () => {
    const bulk = await push(`/analytics/bulk/${token}`, [
      { email: 'ann@acme.io', action: 'export', cId: 'acme', date: '2025-03-01T10:00:00Z' },
      { id: 'u-2', action: 'export', count: 3, date: '2025-03-02T10:00:00Z' },
      { email: 'new@nowhere.io', action: 'export', weight: 2, date: '2025-03-02T11:00:00Z' },
      { action: 'export' },
    ]);
    expect(bulk.status).toBe(200);
    const answer = (await bulk.json()) as {
      processed: number;
      errors: { index: number; reason: string }[];
    };
    expect(answer.processed).toBe(3);
    expect(answer.errors).toEqual([
      { index: 3, reason: expect.stringMatching(/email|externalId/) },
    ]);

    const points = await push(`/dimensiondata/${token}`, [
      { dimensionId: 'invoices', value: 120.5, externalId: 'acme', date: '2025-03-01' },
      { dimensionId: 'invoices', value: 80, externalId: 'acme', date: '2025-03-02' },
    ]);
    expect(await points.json()).toMatchObject({ processed: 2, errors: [] });

    await page.getByTestId('nav-data').click();
    const metric = page.locator('[data-testid="metric-row"][data-metric="invoices"]');
    await metric.waitFor();
    // The badge is upper-cased by CSS; its text is the token's name.
    expect(await metric.getByTestId('origins').textContent()).toContain('token: billing-script');
    await screenshot(page, '31-data-pushed-metric');

    await page.getByTestId('data-tab-activities').click();
    const action = page.locator('[data-testid="action-row"][data-action="export"]');
    await action.waitFor();
    expect(await action.getByTestId('origins').textContent()).toContain('token: billing-script');
    // 1 + 3 (count) + 2 (weight): the weight-multiplied count.
    await expect.poll(() => action.innerText(), QUICK).toMatch(/\b6\b/);
    await screenshot(page, '32-data-pushed-activities');
  }, 60_000);

  it('keeps the bad item among the token rejects, and refuses the token once revoked', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-tab-tokens').click();
    const row = page.locator('[data-testid="token-row"][data-token="billing-script"]');
    await row.getByRole('button', { name: 'Rejects' }).click();
    const rejects = page.getByTestId('token-rejects');
    await rejects.waitFor();
    expect(await rejects.innerText()).toMatch(/email|externalId/);
    await screenshot(page, '33-token-rejects');
    await page.keyboard.press('Escape');

    await row.getByRole('button', { name: 'Revoke billing-script' }).click();
    await page.getByRole('button', { name: 'Revoke token' }).click();
    await expect.poll(async () => (await row.textContent()) ?? '', QUICK).toContain('revoked');
    await screenshot(page, '34-token-revoked');
    const refused = await push(`/analytics/${token}`, { email: 'ann@acme.io', action: 'login' });
    expect(refused.status).toBe(401);
  }, 60_000);
});
