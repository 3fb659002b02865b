import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/core/errors.js';
import { ACTIVITY_FIELDS, METRIC_FIELDS } from '../../src/core/ingest.js';
import type { ActivityRecord, MetricRecord } from '../../src/core/types.js';
import { PlanhatSink, parseRetryAfter, toPlanhatActivity } from '../../src/sink/planhat-sink.js';
import { SinkDeliveryError, type Body, type OutgoingBody } from '../../src/sink/sink.js';

/** The field names Planhat's analytics API documents (issue 4), pinned here on purpose. */
const DOCUMENTED_ACTIVITY = [
  'email',
  'externalId',
  'name',
  'companyExternalId',
  'action',
  'weight',
  'date',
  'info',
];
const DOCUMENTED_METRIC = ['dimensionId', 'value', 'externalId', 'model', 'date'];

const sink = new PlanhatSink({ baseUrl: 'https://analytics.planhat.com', token: 't0k' });

function activity(i: number, extra: Partial<ActivityRecord> = {}): ActivityRecord {
  return {
    rowId: `r${i}`,
    key: String(i),
    email: `u${i}@x.io`,
    weight: 1,
    date: '2024-03-01T09:00:00.000Z',
    ...extra,
  };
}

/** A body's bytes, its chunks joined. */
function bytesOf(body: Body | undefined): Buffer {
  return Buffer.concat(body ?? []);
}

/** A body's items. */
function json(body: Body | undefined): unknown {
  return JSON.parse(bytesOf(body).toString('utf8'));
}

/** A body held in memory, to send (copies of its chunks, which the sender frees). */
function outgoing(body: Body): OutgoingBody {
  return {
    bytes: body.reduce((n, chunk) => n + chunk.byteLength, 0),
    chunks: () => body.map((chunk) => Buffer.from(chunk)),
  };
}

/** A body of one chunk. */
function bodyOf(text: string): OutgoingBody {
  return outgoing([Buffer.from(text)]);
}

describe('Planhat request bodies', () => {
  it('hands over the chunks done with once they come to enough, and finishes with the rest', () => {
    const small = new PlanhatSink({ baseUrl: 'http://x', token: 't', maxBodyBytes: 150_000 });
    const records = Array.from({ length: 3_000 }, (_, i) => activity(i, { name: 'n'.repeat(40) }));
    const whole = small.encode('activities', records).map((body) => bytesOf(body));
    expect(whole.length).toBeGreaterThan(2);
    const encoder = small.encoder('activities');
    const taken: Buffer[][] = [];
    let calls = 0;
    for (let at = 0; at < records.length; at += 256) {
      encoder.add(records.slice(at, at + 256));
      const handed = encoder.take(100_000);
      if (handed.length > 0) calls++;
      for (const { body, chunks } of handed) {
        (taken[body] ??= []).push(...chunks.map((c) => Buffer.from(c)));
      }
      if (handed.length > 0) {
        expect(
          handed.flatMap((h) => h.chunks).reduce((n, c) => n + c.byteLength, 0),
        ).toBeGreaterThanOrEqual(100_000);
      }
    }
    expect(calls).toBeGreaterThan(1);
    const rest = encoder.finish();
    expect(rest).toHaveLength(whole.length);
    const joined = rest.map((body, i) => Buffer.concat([...(taken[i] ?? []), ...body]));
    expect(joined).toEqual(whole);
    // Nothing is handed over under the minimum.
    const fresh = small.encoder('activities');
    fresh.add(records.slice(0, 10));
    expect(fresh.take(100_000)).toEqual([]);
  });

  it('sends activities with the documented field names, absent targets absent, info as an object', () => {
    const [body] = sink.encode('activities', [
      activity(1, {
        externalId: 'u-1',
        name: 'Ann',
        companyExternalId: 'acme',
        action: 'login',
        weight: 3,
        info: '{"plan":"pro"}',
      }),
      activity(2),
    ]);
    expect(json(body)).toEqual([
      {
        email: 'u1@x.io',
        externalId: 'u-1',
        name: 'Ann',
        companyExternalId: 'acme',
        action: 'login',
        weight: 3,
        date: '2024-03-01T09:00:00.000Z',
        info: { plan: 'pro' },
      },
      { email: 'u2@x.io', weight: 1, date: '2024-03-01T09:00:00.000Z' },
    ]);
  });

  it('sends metric points with the documented field names (EndUser as Planhat spells it)', () => {
    const records: MetricRecord[] = [
      {
        rowId: 'r1',
        key: '1',
        model: 'Enduser',
        externalId: 'u-1',
        dimensionId: 'seats',
        value: 2.5,
        date: '2024-03-01T00:00:00.000Z',
      },
    ];
    const [body] = sink.encode('metrics', records);
    const items = json(body) as Record<string, unknown>[];
    expect(items).toEqual([
      {
        dimensionId: 'seats',
        value: 2.5,
        externalId: 'u-1',
        model: 'EndUser',
        date: '2024-03-01T00:00:00.000Z',
      },
    ]);
    expect(Object.keys(items[0] ?? {}).sort()).toEqual([...DOCUMENTED_METRIC].sort());
  });

  it('uses only names the Sluice ingest API (our Planhat-compatible receiver) accepts', () => {
    for (const f of DOCUMENTED_ACTIVITY) expect(ACTIVITY_FIELDS).toContain(f);
    for (const f of DOCUMENTED_METRIC) expect(METRIC_FIELDS).toContain(f);
  });

  it('splits a batch into bodies under the size limit, in order, none lost', () => {
    const small = new PlanhatSink({ baseUrl: 'http://h', token: 't', maxBodyBytes: 1000 });
    const records = Array.from({ length: 100 }, (_, i) => activity(i));
    const bodies = small.encode('activities', records);
    expect(bodies.length).toBeGreaterThan(5);
    for (const b of bodies) expect(bytesOf(b).byteLength).toBeLessThanOrEqual(1000);
    const emails = bodies.flatMap((b) => (json(b) as { email: string }[]).map((a) => a.email));
    expect(emails).toEqual(records.map((r) => r.email));
  });

  it('writes a body in chunks of 64 KiB, items and multi-byte characters across their edges', () => {
    // Names of 1 to 700 emoji (4 bytes each): items of every length, one split at every place.
    const records = Array.from({ length: 400 }, (_, i) =>
      activity(i, { name: `${'🚀'.repeat((i * 7) % 701)}é` }),
    );
    const [body, ...more] = sink.encode('activities', records);
    expect(more).toEqual([]);
    const sizes = (body ?? []).map((c) => c.byteLength);
    expect(sizes.length).toBeGreaterThan(5);
    expect(sizes.slice(0, -1).every((n) => n === 64 * 1024)).toBe(true);
    const items = json(body) as { email: string; name: string }[];
    expect(items.map((a) => a.name)).toEqual(records.map((r) => r.name));
    expect(bytesOf(body).toString('utf8')).toBe(
      JSON.stringify(records.map((r) => toPlanhatActivity(r))),
    );
  });

  it('keeps the default body limit under the documented 32 MB', () => {
    const big = 'x'.repeat(1024 * 1024);
    const records = Array.from({ length: 40 }, (_, i) => activity(i, { name: big }));
    const bodies = sink.encode('activities', records);
    expect(bodies).toHaveLength(2);
    for (const b of bodies) expect(bytesOf(b).byteLength).toBeLessThan(32 * 1024 * 1024);
  });

  it('posts to the documented paths, and logs them with the token redacted', () => {
    expect(sink.redactedUrl('activities')).toBe('https://analytics.planhat.com/analytics/bulk/***');
    expect(sink.redactedUrl('metrics')).toBe('https://analytics.planhat.com/dimensiondata/***');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2024-03-01T09:00:00Z');
    expect(parseRetryAfter('Fri, 01 Mar 2024 09:00:05 GMT', now)).toBe(5000);
  });
});

describe('Planhat requests over HTTP', () => {
  /** A local endpoint answering each request with `answer`; closed after the test. */
  async function endpoint(
    answer: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
  ): Promise<{ baseUrl: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => answer(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      close: () => {
        server.closeAllConnections();
        return new Promise((ok) => server.close(() => ok()));
      },
    };
  }

  it('posts the body bytes as they are, with their length, to the path of the kind', async () => {
    const seen: { url?: string; type?: string; length?: string; body?: string }[] = [];
    const e = await endpoint((req, res, body) => {
      seen.push({
        url: req.url,
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        body: body.toString('utf8'),
      });
      res.end('{"processed":1}');
    });
    try {
      const s = new PlanhatSink({ baseUrl: e.baseUrl, token: 't/0k' });
      const [body] = s.encode('activities', [activity(1, { name: 'Zoë 🚀' })]);
      await s.send('activities', outgoing(body ?? []));
      await s.send('metrics', bodyOf('[]'));
      expect(seen).toEqual([
        {
          url: '/analytics/bulk/t%2F0k',
          type: 'application/json',
          length: String(bytesOf(body).byteLength),
          body: '[{"weight":1,"date":"2024-03-01T09:00:00.000Z","email":"u1@x.io","name":"Zoë 🚀"}]',
        },
        { url: '/dimensiondata/t%2F0k', type: 'application/json', length: '2', body: '[]' },
      ]);
    } finally {
      await e.close();
    }
  });

  it('writes a body as its chunks are read, no faster than the endpoint takes them, and frees each once written', async () => {
    const CHUNK = 64 * 1024;
    const CHUNKS = 512; // 32 MiB
    let produced = 0;
    let producedWhilePaused = -1;
    const given: Uint8Array[] = [];
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < CHUNKS; i++) {
        const chunk = Buffer.alloc(CHUNK, i === 0 ? 0x5b : 0x20); // '[' then spaces
        if (i === CHUNKS - 1) chunk[CHUNK - 1] = 0x5d; // ']'
        given.push(chunk);
        produced += CHUNK;
        yield chunk;
      }
    }
    let received = 0;
    const server = createServer((req, res) => {
      // The endpoint takes nothing for a while: the sender must wait rather than read on.
      req.pause();
      setTimeout(() => {
        producedWhilePaused = produced;
        req.on('data', (c: Buffer) => (received += c.byteLength));
        req.on('end', () => res.end('{"processed":0}'));
        req.resume();
      }, 300);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const { port } = server.address() as AddressInfo;
      const s = new PlanhatSink({ baseUrl: `http://127.0.0.1:${port}`, token: 't' });
      await s.send('activities', { bytes: CHUNK * CHUNKS, chunks });
      expect(received).toBe(CHUNK * CHUNKS);
      // Only what the sockets' buffers hold was read ahead (a few MiB on loopback).
      expect(producedWhilePaused).toBeGreaterThan(0);
      expect(producedWhilePaused).toBeLessThan((CHUNK * CHUNKS) / 2);
      // Each chunk freed once written, not left for a collection.
      expect(given.filter((c) => c.byteLength > 0)).toHaveLength(0);
    } finally {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it('abandons a request whose body cannot be read, or does not come to its size, with the error', async () => {
    const complete: string[] = [];
    const e = await endpoint((_req, res, body) => {
      complete.push(body.toString());
      res.end('{"processed":1}');
    });
    try {
      const s = new PlanhatSink({ baseUrl: e.baseUrl, token: 't' });
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('[{"email":');
        throw new SluiceError('STORE_FAILED', 'outbox entry 1 lost its chunk 1 while it was sent');
      }
      await expect(s.send('activities', { bytes: 20, chunks: failing })).rejects.toMatchObject({
        code: 'STORE_FAILED',
        message: 'outbox entry 1 lost its chunk 1 while it was sent',
      });
      await expect(
        s.send('activities', { bytes: 20, chunks: () => [Buffer.from('[]')] }),
      ).rejects.toMatchObject({
        code: 'STORE_FAILED',
        message: 'a request body of 20 bytes came to 2',
      });
      await expect(
        s.send('activities', { bytes: 1, chunks: () => [Buffer.from('[]')] }),
      ).rejects.toMatchObject({
        code: 'STORE_FAILED',
        message: 'a request body of 1 bytes came to more',
      });
      // None of them reached the endpoint whole; a good body after them does.
      await s.send('activities', bodyOf('[]'));
      expect(complete).toEqual(['[]']);
    } finally {
      await e.close();
    }
  });

  it('retries an endpoint that does not answer within the time limit, or closes mid-answer', async () => {
    const silent = await endpoint(() => undefined);
    const cut = await endpoint((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"proc');
      setTimeout(() => res.destroy(), 20);
    });
    try {
      const slow = new PlanhatSink({ baseUrl: silent.baseUrl, token: 't', timeoutMs: 200 });
      await expect(slow.send('activities', bodyOf('[]'))).rejects.toMatchObject({
        name: 'SinkDeliveryError',
        retryable: true,
        message: 'network error: no answer within 200 ms',
      });
      const broken = new PlanhatSink({ baseUrl: cut.baseUrl, token: 't' });
      await expect(broken.send('activities', bodyOf('[]'))).rejects.toMatchObject({
        name: 'SinkDeliveryError',
        retryable: true,
        message: expect.stringMatching(/^network error: (ECONNRESET|aborted)/),
      });
    } finally {
      await silent.close();
      await cut.close();
    }
  });

  it('refuses with the status, the start of the answer and Retry-After', async () => {
    const e = await endpoint((_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end('slow down '.repeat(100));
    });
    try {
      const s = new PlanhatSink({ baseUrl: e.baseUrl, token: 't' });
      const err = (await s
        .send('activities', bodyOf('[]'))
        .catch((x: unknown) => x)) as SinkDeliveryError;
      expect(err).toBeInstanceOf(SinkDeliveryError);
      expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
      expect(err.message).toBe(`HTTP 429: ${'slow down '.repeat(30)}`);
    } finally {
      await e.close();
    }
  });
});
