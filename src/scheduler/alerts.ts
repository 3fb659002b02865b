/**
 * Alerts: one JSON POST to a webhook when a section starts failing, one when it recovers, and
 * one when a run rejects more rows than the section's threshold. Which alerts a run raises is
 * decided by a pure function; delivery is best effort: a webhook that fails is logged and never
 * fails the run.
 */
import type { SectionResult } from '../engine/engine.js';
import type { StoredIntegration, StoredSection } from '../store/store.js';

export type AlertEvent = 'section_failing' | 'section_recovered' | 'rejects_exceeded';

/** The JSON body of one webhook POST. */
export interface Alert {
  event: AlertEvent;
  integration: string;
  section: string;
  /** The run that raised it; null when the run failed before it was recorded (store down). */
  runId: number | null;
  /** section_failing: the run's error. */
  error?: string;
  /** rejects_exceeded: rows the run rejected, and the section's threshold. */
  rejected?: number;
  threshold?: number;
  /** ISO-8601 UTC: when the run finished. */
  at: string;
}

/** Delivers one alert to a webhook URL. Never throws: resolves true when delivered. */
export interface AlertSender {
  send(url: string, alert: Alert): Promise<boolean>;
}

/** The webhook a section's alerts go to: its own, else its integration's, else none. */
export function webhookFor(
  integration: Pick<StoredIntegration, 'alerts'>,
  section: Pick<StoredSection, 'alerts'>,
): string | undefined {
  return section.alerts?.webhook ?? integration.alerts?.webhook;
}

/**
 * The alerts one finished run raises. `failingBefore`: the section's previous run failed (its
 * `section_failing` alert already went out), so a failure now raises nothing new and a success
 * raises `section_recovered`. Skipped runs (another process held the section) raise nothing.
 */
export function alertsForRun(
  result: Pick<
    SectionResult,
    'integration' | 'section' | 'status' | 'runId' | 'error' | 'rejected'
  >,
  failingBefore: boolean,
  rejectThreshold: number | undefined,
  at: string,
): Alert[] {
  if (result.status === 'skipped') return [];
  const base = {
    integration: result.integration,
    section: result.section,
    runId: result.runId,
  };
  const alerts: Alert[] = [];
  if (result.status === 'failed' && !failingBefore) {
    alerts.push({ event: 'section_failing', ...base, error: result.error ?? 'failed', at });
  } else if (result.status === 'succeeded' && failingBefore) {
    alerts.push({ event: 'section_recovered', ...base, at });
  }
  // A failed run may have landed (and rejected) batches before it failed: they count too.
  if (rejectThreshold !== undefined && result.rejected > rejectThreshold) {
    alerts.push({
      event: 'rejects_exceeded',
      ...base,
      rejected: result.rejected,
      threshold: rejectThreshold,
      at,
    });
  }
  return alerts;
}

/** Options of {@link createWebhookSender}. */
export interface WebhookSenderOptions {
  /** Time allowed per attempt for the webhook's answer, ms; default 5000. */
  timeoutMs?: number;
  /** Pause before the one retry, ms; default 1000. */
  retryDelayMs?: number;
  log?: (event: Record<string, unknown>) => void;
}

/**
 * Posts alerts as JSON with the global fetch: an attempt that errors, times out or gets a non-2xx
 * answer is retried once; a second failure is logged (with the webhook's origin only: hook URLs
 * often carry a token in their path) and dropped.
 */
export function createWebhookSender(options: WebhookSenderOptions = {}): AlertSender {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const log = options.log ?? (() => undefined);
  return {
    async send(url, alert) {
      const body = JSON.stringify(alert);
      let problem = '';
      for (let attempt = 1; attempt <= 2; attempt++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'sluice' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          // Drain the answer so the connection goes back to the pool.
          await res.arrayBuffer().catch(() => undefined);
          if (res.ok) {
            log({ level: 'info', event: 'alert_sent', alert: alert.event, section: alert.section });
            return true;
          }
          problem = `the webhook answered HTTP ${res.status}`;
        } catch (err) {
          problem = describeFetchError(err, timeoutMs);
        }
        if (attempt === 1) await new Promise((r) => setTimeout(r, retryDelayMs));
      }
      log({
        level: 'warn',
        event: 'alert_failed',
        alert: alert.event,
        integration: alert.integration,
        section: alert.section,
        webhook: originOf(url),
        error: problem,
      });
      return false;
    },
  };
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  if (err instanceof Error) {
    // undici reports "fetch failed" and keeps the reason (ECONNREFUSED, ...) in `cause`.
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
