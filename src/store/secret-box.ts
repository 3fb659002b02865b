import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../core/errors.js';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: string,
  keylen: number,
) => Promise<Buffer>;

/** Encrypts and decrypts the secrets the store keeps (MySQL passwords). */
export interface SecretBox {
  /** Returns `v1:<iv b64>:<tag b64>:<ciphertext b64>`; a fresh random IV each call. */
  encrypt(plain: string): string;
  /** Reverses {@link SecretBox.encrypt}; throws SluiceError('SECRET_KEY_INVALID') when the key does not fit. */
  decrypt(box: string): string;
}

export interface SecretBoxOptions {
  /** Folder holding `secret.key`, used when no `secretKey` is given. */
  dataDir: string;
  /**
   * A passphrase from the caller (the CLI passes SLUICE_SECRET_KEY). Stretched to 32 bytes with
   * scrypt; when given, no key file is read or created.
   */
  secretKey?: string;
}

/** The key file's name inside the data folder: 32 raw random bytes, mode 0600. */
export const SECRET_KEY_FILE = 'secret.key';

const KEY_BYTES = 32;
const IV_BYTES = 12; // the GCM standard nonce size
const TAG_BYTES = 16;
// A fixed salt is fine here: the salt's job (defeating precomputed tables across many users'
// passwords) does not apply to one operator-chosen key, and a random salt would need storing.
const SCRYPT_SALT = 'sluice-secret-box-v1';

/**
 * Builds the SecretBox for a data folder: from `secretKey` when given, else from
 * `<dataDir>/secret.key`, which is created on first use (32 random bytes, owner-only).
 */
export async function openSecretBox(options: SecretBoxOptions): Promise<SecretBox> {
  if (options.secretKey !== undefined) {
    if (options.secretKey === '') {
      throw new SluiceError('SECRET_KEY_INVALID', 'the secret key (SLUICE_SECRET_KEY) is empty');
    }
    const key = await scrypt(options.secretKey, SCRYPT_SALT, KEY_BYTES);
    return createSecretBox(key, 'the secret key given (SLUICE_SECRET_KEY)');
  }
  const file = join(options.dataDir, SECRET_KEY_FILE);
  let key: Buffer;
  try {
    key = await readOrCreateKeyFile(options.dataDir, file);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new SluiceError(
      'SECRET_KEY_INVALID',
      `cannot read or create the key file ${file}: ${(err as Error).message}`,
      { file },
      { cause: err },
    );
  }
  return createSecretBox(key, `the key file ${file}`);
}

/** A SecretBox over a raw 32-byte key; `keySource` names the key in error messages. */
export function createSecretBox(key: Buffer, keySource: string): SecretBox {
  if (key.length !== KEY_BYTES) {
    throw new SluiceError('SECRET_KEY_INVALID', `${keySource} must be ${KEY_BYTES} bytes`);
  }
  return {
    encrypt(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `v1:${iv.toString('base64')}:${tag.toString('base64')}:${ct.toString('base64')}`;
    },
    decrypt(box) {
      const parts = box.split(':');
      if (parts.length !== 4 || parts[0] !== 'v1') {
        throw new SluiceError(
          'SECRET_KEY_INVALID',
          'a stored secret is not in the v1:<iv>:<tag>:<ciphertext> format',
        );
      }
      const iv = Buffer.from(parts[1] ?? '', 'base64');
      const tag = Buffer.from(parts[2] ?? '', 'base64');
      const ct = Buffer.from(parts[3] ?? '', 'base64');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new SluiceError('SECRET_KEY_INVALID', 'a stored secret has a malformed IV or tag');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
      } catch (err) {
        // GCM reports a wrong key and a tampered ciphertext the same way: the tag does not verify.
        throw new SluiceError(
          'SECRET_KEY_INVALID',
          `a stored secret cannot be decrypted with ${keySource}: it was encrypted with another key`,
          undefined,
          { cause: err },
        );
      }
    },
  };
}

async function readOrCreateKeyFile(dataDir: string, file: string): Promise<Buffer> {
  const existing = await readKeyFile(file);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  // Write the key to a private temp file, then link it into place: link() fails if the name
  // exists, so two processes starting together agree on one key and nobody reads a half-written file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
  try {
    await chmod(tmp, 0o600); // the mode given to writeFile is filtered by the umask
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  const key = await readKeyFile(file);
  if (!key) throw new SluiceError('SECRET_KEY_INVALID', `the key file ${file} cannot be created`);
  return key;
}

async function readKeyFile(file: string): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (key.length !== KEY_BYTES) {
    throw new SluiceError(
      'SECRET_KEY_INVALID',
      `the key file ${file} holds ${key.length} bytes, not ${KEY_BYTES}: it is damaged`,
    );
  }
  return key;
}
