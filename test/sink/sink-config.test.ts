import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/core/config.js';
import { exportConfig } from '../../src/engine/config-ops.js';
import { openOutboxStore, openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const TOKEN = 'plain-tenant-token-4711';

function doc(integrationSink: unknown, sectionSink?: unknown) {
  return {
    integration: {
      name: 'shop',
      mysql: { host: 'db', user: 'u', database: 'app' },
      ...(integrationSink !== undefined ? { sink: integrationSink } : {}),
    },
    sections: [
      {
        name: 'events',
        dataType: 'activities',
        table: 'events',
        key: 'id',
        mapping: { email: 'email' },
        ...(sectionSink !== undefined ? { sink: sectionSink } : {}),
      },
      {
        name: 'usage',
        dataType: 'metrics',
        table: 'usage',
        key: 'id',
        mapping: { externalId: 'c', dimensionId: 'm', value: 'v' },
      },
    ],
  };
}

function messages(input: unknown): string[] {
  const parsed = parseConfig(input);
  return parsed.ok ? [] : parsed.issues.map((i) => i.message);
}

describe('sink config', () => {
  it("gives sections their integration's sink, with Planhat's host by default, unless they set their own", () => {
    const parsed = parseConfig(
      doc({ type: 'planhat', planhat: { tokenEnv: 'PLANHAT_TOKEN' } }, { type: 'store' }),
    );
    expect(parsed.ok).toBe(true);
    const [events, usage] = parsed.config?.sections ?? [];
    expect(events?.sink).toBeUndefined();
    expect(usage?.sink).toEqual({
      type: 'planhat',
      planhat: { baseUrl: 'https://analytics.planhat.com', tokenEnv: 'PLANHAT_TOKEN' },
    });
  });

  it('strips a trailing slash from baseUrl', () => {
    const parsed = parseConfig(
      doc(undefined, { type: 'both', planhat: { baseUrl: 'http://127.0.0.1:9/', token: 'x' } }),
    );
    expect(parsed.config?.sections[0]?.sink?.planhat?.baseUrl).toBe('http://127.0.0.1:9');
  });

  it('refuses bad sinks with errors naming the section and field', () => {
    expect(messages(doc(undefined, { type: 'planhat' }))).toEqual([
      expect.stringMatching(/^section "events": sink\.planhat: sink type planhat needs planhat:/),
    ]);
    expect(messages(doc(undefined, { type: 'kafka' }))).toEqual([
      expect.stringMatching(/^section "events": sink\.type: /),
    ]);
    expect(
      messages(doc(undefined, { type: 'planhat', planhat: { token: 'a', tokenEnv: 'B' } })),
    ).toEqual(['section "events": sink.planhat.token: give either token or tokenEnv, not both']);
    expect(
      messages(doc(undefined, { type: 'planhat', planhat: { baseUrl: 'ftp://x', token: 'a' } })),
    ).toEqual([
      'section "events": sink.planhat.baseUrl: "ftp://x" is not an http(s) URL (like https://analytics.planhat.com)',
    ]);
    expect(messages(doc(undefined, { type: 'planhat', planhat: { tokenEnv: 'no-dash' } }))).toEqual(
      ['section "events": sink.planhat.tokenEnv: must be an environment variable name'],
    );
    expect(messages(doc({ type: 'planhat', planhat: { token: 'a', url: 'x' } }))).toEqual([
      'integration.sink.planhat: unknown field(s): url',
    ]);
  });
});

describe('sink storage and export', () => {
  let dataDir: string;
  let store: Store;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-sinkcfg-'));
    store = await openStore({ dataDir, secretKey: 'test-secret-key-0123456789' });
  });
  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function apply(input: unknown) {
    const parsed = parseConfig(input);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return store.applyConfig(parsed.config.integration, parsed.config.sections);
  }

  it('stores a literal token encrypted, never returns or exports it, and keeps it when the exported file is applied', async () => {
    await apply(doc({ type: 'planhat', planhat: { baseUrl: 'http://127.0.0.1:9', token: TOKEN } }));
    const sections = await store.listSections('shop');
    expect(JSON.stringify(sections)).not.toContain(TOKEN);
    expect(sections[0]?.sink).toEqual({
      type: 'planhat',
      planhat: { baseUrl: 'http://127.0.0.1:9' },
    });

    const raw = new Database(join(dataDir, 'sluice.db'), { readonly: true });
    const stored = raw.prepare('SELECT sink FROM sections').all() as { sink: string }[];
    raw.close();
    expect(JSON.stringify(stored)).not.toContain(TOKEN);

    const outbox = openOutboxStore(store);
    expect(await outbox.sinkToken(sections[0]?.id ?? -1)).toBe(TOKEN);

    const text = await exportConfig(store);
    expect(text).not.toContain(TOKEN);
    expect(text).toContain('Planhat tenant tokens stored in Sluice are encrypted and not exported');
    const exported = parse(text) as { sections: { sink?: unknown }[] };
    expect(exported.sections[0]?.sink).toEqual({
      type: 'planhat',
      planhat: { baseUrl: 'http://127.0.0.1:9' },
    });

    // Re-applying the same file is no change; applying the export keeps the stored token.
    const again = await apply(
      doc({ type: 'planhat', planhat: { baseUrl: 'http://127.0.0.1:9', token: TOKEN } }),
    );
    expect(again.sections.map((s) => s.action)).toEqual(['unchanged', 'unchanged']);
    const back = await apply(exported);
    expect(back.sections.map((s) => s.action)).toEqual(['unchanged', 'unchanged']);
    expect(await outbox.sinkToken(sections[0]?.id ?? -1)).toBe(TOKEN);
  });

  it('exports a token from the environment as its variable name', async () => {
    await apply(doc(undefined, { type: 'both', planhat: { tokenEnv: 'PLANHAT_TOKEN' } }));
    const text = await exportConfig(store);
    const exported = parse(text) as { sections: { name: string; sink?: unknown }[] };
    expect(exported.sections.map((s) => [s.name, s.sink])).toEqual([
      [
        'events',
        {
          type: 'both',
          planhat: { baseUrl: 'https://analytics.planhat.com', tokenEnv: 'PLANHAT_TOKEN' },
        },
      ],
      ['usage', undefined],
    ]);
    expect(text).not.toContain('not exported;');
  });
});
