import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SECRET_KEY_FILE, createSecretBox, openSecretBox } from './secret-box.js';

describe('SecretBox', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-secret-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('round-trips a secret through the self-describing v1 format', async () => {
    const box = await openSecretBox({ dataDir, secretKey: 'passphrase' });
    const sealed = box.encrypt('pässwörd:with:colons');
    expect(sealed).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain('pässwörd');
    expect(box.decrypt(sealed)).toBe('pässwörd:with:colons');
    expect(box.decrypt(box.encrypt(''))).toBe('');
  });

  it('uses a fresh IV each time, so equal secrets do not look equal', async () => {
    const box = createSecretBox(Buffer.alloc(32, 7), 'a test key');
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('derives the same key from the same passphrase, and writes no key file for it', async () => {
    const a = await openSecretBox({ dataDir, secretKey: 'passphrase' });
    const b = await openSecretBox({ dataDir, secretKey: 'passphrase' });
    expect(b.decrypt(a.encrypt('pw'))).toBe('pw');
    await expect(stat(join(dataDir, SECRET_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails with SECRET_KEY_INVALID when the key is not the one that encrypted', async () => {
    const sealed = (await openSecretBox({ dataDir, secretKey: 'right' })).encrypt('pw');
    const wrong = await openSecretBox({ dataDir, secretKey: 'wrong' });
    expect(() => wrong.decrypt(sealed)).toThrow(
      expect.objectContaining({
        code: 'SECRET_KEY_INVALID',
        message: expect.stringContaining('another key'),
      }),
    );
  });

  it('fails with SECRET_KEY_INVALID on a tampered or malformed secret', () => {
    const box = createSecretBox(Buffer.alloc(32, 1), 'a test key');
    const [v, iv, tag, ct] = box.encrypt('password').split(':');
    const flipped = Buffer.from(ct!, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    for (const bad of [
      `${v}:${iv}:${tag}:${flipped.toString('base64')}`,
      'not a secret',
      `v2:${iv}:${tag}:${ct}`,
      `v1:${iv}:AAAA:${ct}`,
    ]) {
      expect(() => box.decrypt(bad), bad).toThrow(
        expect.objectContaining({ code: 'SECRET_KEY_INVALID' }),
      );
    }
  });

  it('creates secret.key on first use with 32 random bytes, owner-only, and reuses it', async () => {
    const first = await openSecretBox({ dataDir });
    const file = join(dataDir, SECRET_KEY_FILE);
    const info = await stat(file);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(32);
    const key = await readFile(file);

    const second = await openSecretBox({ dataDir });
    expect(second.decrypt(first.encrypt('pw'))).toBe('pw');
    expect(await readFile(file)).toEqual(key);
  });

  it('agrees on one key file when two opens race on a new data folder', async () => {
    const boxes = await Promise.all([1, 2, 3, 4].map(() => openSecretBox({ dataDir })));
    const sealed = boxes[0]!.encrypt('pw');
    for (const box of boxes) expect(box.decrypt(sealed)).toBe('pw');
  });

  it('creates the data folder when it is missing', async () => {
    const nested = join(dataDir, 'a', 'b');
    await openSecretBox({ dataDir: nested });
    expect((await stat(join(nested, SECRET_KEY_FILE))).size).toBe(32);
  });

  it('refuses a damaged key file and an empty passphrase', async () => {
    await writeFile(join(dataDir, SECRET_KEY_FILE), 'too short');
    await expect(openSecretBox({ dataDir })).rejects.toMatchObject({ code: 'SECRET_KEY_INVALID' });
    await expect(openSecretBox({ dataDir, secretKey: '' })).rejects.toMatchObject({
      code: 'SECRET_KEY_INVALID',
    });
  });

  it('does not read SLUICE_SECRET_KEY itself: the caller passes it', async () => {
    const saved = process.env.SLUICE_SECRET_KEY;
    process.env.SLUICE_SECRET_KEY = 'from the environment';
    try {
      const fromFile = await openSecretBox({ dataDir });
      const fromEnv = await openSecretBox({ dataDir, secretKey: 'from the environment' });
      expect(() => fromEnv.decrypt(fromFile.encrypt('pw'))).toThrow(
        expect.objectContaining({ code: 'SECRET_KEY_INVALID' }),
      );
    } finally {
      if (saved === undefined) delete process.env.SLUICE_SECRET_KEY;
      else process.env.SLUICE_SECRET_KEY = saved;
    }
  });
});
