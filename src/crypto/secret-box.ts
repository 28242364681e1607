import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FILE = 'secrets-key';

/** SecretBoxError is thrown when a sealed value cannot be opened: bad format, unknown key or tampering. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

interface Key {
  id: string;
  bytes: Buffer;
}

interface Sealed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
}

/**
 * SecretBox encrypts secrets that must be read back (TOTP seeds) with
 * AES-256-GCM. Each sealed value names the key it was made with, so keys can
 * be rotated: new values use the first key, older ones still open with the
 * keys after it until they are re-sealed.
 */
export class SecretBox {
  private readonly keys: Key[];

  /** keys: the current key first, older keys after (rotation). Each key is 32 bytes. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.keys = keys.map((k, i) => {
      if (k.length !== KEY_BYTES) throw new Error(`SecretBox key ${i + 1} is ${k.length} bytes, not ${KEY_BYTES}`);
      // A copy, so a caller wiping or reusing its buffer cannot change ours.
      return { id: keyIdOf(k), bytes: Buffer.from(k) };
    });
  }

  /** seal encrypts with the current key under a fresh random IV: "v1.<keyId>.<iv>.<tag>.<ciphertext>". */
  seal(plain: string | Buffer): string {
    const key = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
    const ct = Buffer.concat([cipher.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, key.id, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.');
  }

  /** open decrypts a sealed value with whichever of the keys made it. */
  open(sealed: string): Buffer {
    const s = parse(sealed);
    const key = this.keyOf(s.keyId);
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, s.iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(s.tag);
    try {
      return Buffer.concat([decipher.update(s.ct), decipher.final()]);
    } catch {
      throw new SecretBoxError('sealed value was altered or made with another key');
    }
  }

  /** openText is open for values sealed from a string. */
  openText(sealed: string): string {
    return this.open(sealed).toString('utf8');
  }

  /**
   * needsRekey tells whether a sealed value was made with an older key
   * (rotation: re-seal it with the current one). It does not authenticate the
   * value; a bad format or a key not among ours throws, as open would.
   */
  needsRekey(sealed: string): boolean {
    return this.keyOf(parse(sealed).keyId) !== this.keys[0];
  }

  private keyOf(id: string): Key {
    const key = this.keys.find((k) => k.id === id);
    if (!key) throw new SecretBoxError(`sealed value was made with an unknown key (${id})`);
    return key;
  }
}

/** keyIdOf names a key without revealing it: the first 8 hex characters of its SHA-256. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** parse splits a sealed value into its parts, refusing anything not exactly as seal writes it. */
function parse(sealed: string): Sealed {
  // Bounded before splitting, so a huge value costs nothing; no secret here comes near this size.
  if (typeof sealed !== 'string' || sealed.length > 1_000_000) throw new SecretBoxError('not a sealed value');
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed value');
  const [, keyId, iv, tag, ct] = parts as [string, string, string, string, string];
  if (!/^[0-9a-f]{8}$/.test(keyId)) throw new SecretBoxError('not a sealed value');
  const out = { keyId, iv: fromBase64url(iv), tag: fromBase64url(tag), ct: fromBase64url(ct) };
  if (out.iv.length !== IV_BYTES || out.tag.length !== TAG_BYTES) throw new SecretBoxError('not a sealed value');
  return out;
}

/** fromBase64url decodes strictly: Node's decoder skips characters it does not know, which would hide damage. */
function fromBase64url(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new SecretBoxError('not a sealed value');
  return bytes;
}

/**
 * parseSecretsKeys reads SECRETS_KEY: one or more comma-separated keys, each
 * 64 hex characters or the base64/base64url of 32 bytes; the first is the
 * current one. Messages never repeat the key.
 */
export function parseSecretsKeys(value: string): Buffer[] {
  return parseKeys(value, 'SECRETS_KEY');
}

function parseKeys(value: string, source: string): Buffer[] {
  const entries = value.split(',').map((e) => e.trim());
  if (entries.every((e) => e === '')) throw new Error(`${source} is empty: give one or more keys of 32 bytes (64 hex characters or base64), separated by commas`);
  return entries.map((entry, i) => {
    const which = entries.length > 1 ? `${source} key ${i + 1}` : source;
    const key = decodeKey(entry);
    if (!key) {
      throw new Error(
        `${which} is not a 32-byte key: give 64 hex characters or 32 bytes in base64/base64url (for example from "openssl rand -base64 32")`,
      );
    }
    return key;
  });
}

/** decodeKey reads one key as hex or base64/base64url, or returns undefined unless it is exactly 32 bytes written canonically. */
function decodeKey(entry: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(entry)) return Buffer.from(entry, 'hex');
  // 32 bytes take 43 characters, plus one '=' when padded.
  if (!/^[A-Za-z0-9+\/_-]{43}=?$/.test(entry)) return undefined;
  const bytes = Buffer.from(entry, 'base64');
  // The last character carries 4 spare bits; a typo there would otherwise be silently ignored.
  const canonical = bytes.toString('base64url');
  const given = entry.replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_');
  return bytes.length === KEY_BYTES && canonical === given ? bytes : undefined;
}

/**
 * loadOrCreateSecretsKey returns the keys from SECRETS_KEY when it is set
 * (an empty value counts as unset), else the one kept in <dataDir>/secrets-key,
 * creating that file (mode 0600, 32 random bytes as base64url) and its folder
 * on first use. generatedPath is set only when the file was just created.
 */
export function loadOrCreateSecretsKey(secretsKey: string | undefined, dataDir: string): { keys: Buffer[]; generatedPath?: string } {
  if (secretsKey !== undefined && secretsKey.trim() !== '') return { keys: parseSecretsKeys(secretsKey) };
  const path = join(dataDir, KEY_FILE);
  const existing = readKeyFile(path);
  if (existing) return { keys: existing };

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written in full to a private temporary file, then linked into place: link never replaces an
  // existing file, so two servers starting together end up sharing whichever key landed first,
  // and neither can read a half-written one.
  const tmp = join(dataDir, `.${KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // the umask may have taken more than asked, never give more
    writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64url')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let created = true;
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    created = false;
  } finally {
    unlinkSync(tmp);
  }
  const keys = readKeyFile(path);
  if (!keys) throw new Error(`${path} vanished right after it was written`);
  return created ? { keys, generatedPath: path } : { keys };
}

/** readKeyFile reads the key file, or returns undefined when there is none. */
function readKeyFile(path: string): Buffer[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseKeys(text.trim(), path);
}
