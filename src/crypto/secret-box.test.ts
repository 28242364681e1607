import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSecretsKey, parseSecretsKeys, SecretBox, SecretBoxError } from './secret-box.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'postern-secret-box-'));
  dirs.push(d);
  return d;
}

/** flipBit changes one bit of one base64url part of a sealed value and writes it back canonically. */
function flipBit(sealed: string, part: 2 | 3 | 4, byte = 0): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[byte] = bytes[byte]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

const SEED = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('SecretBox', () => {
  test('opens what it sealed, as text or bytes', () => {
    const box = new SecretBox([randomBytes(32)]);
    assert.equal(box.openText(box.seal(SEED)), SEED);
    assert.equal(box.openText(box.seal('')), '');
    assert.equal(box.openText(box.seal('名前 ✓')), '名前 ✓');
    const bytes = randomBytes(100);
    assert.deepEqual(box.open(box.seal(bytes)), bytes);
  });

  test('writes v1.<keyId>.<iv>.<tag>.<ciphertext>, naming the key by its SHA-256 and never showing the secret', () => {
    const key = randomBytes(32);
    const sealed = new SecretBox([key]).seal(SEED);
    const parts = sealed.split('.');
    assert.equal(parts.length, 5);
    assert.equal(parts[0], 'v1');
    assert.equal(parts[1], createHash('sha256').update(key).digest('hex').slice(0, 8));
    assert.equal(Buffer.from(parts[2]!, 'base64url').length, 12);
    assert.equal(Buffer.from(parts[3]!, 'base64url').length, 16);
    assert.equal(Buffer.from(parts[4]!, 'base64url').length, Buffer.byteLength(SEED));
    for (const p of parts.slice(2)) assert.match(p, /^[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes(SEED));
  });

  test('uses a fresh IV each time, so the same secret never seals the same way twice', () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = Array.from({ length: 50 }, () => box.seal(SEED));
    assert.equal(new Set(sealed).size, 50);
    assert.equal(new Set(sealed.map((s) => s.split('.')[2])).size, 50);
  });

  test('refuses a value with any bit of its ciphertext, tag or IV flipped', () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(SEED);
    for (const part of [2, 3, 4] as const) {
      for (const byte of [0, 5, 11]) {
        assert.throws(() => box.open(flipBit(sealed, part, byte)), SecretBoxError, `part ${part} byte ${byte}`);
      }
    }
    // The untouched value still opens: the failures above came from the flips.
    assert.equal(box.openText(sealed), SEED);
  });

  test('refuses a value sealed with another key', () => {
    const sealed = new SecretBox([randomBytes(32)]).seal(SEED);
    assert.throws(() => new SecretBox([randomBytes(32)]).open(sealed), (err: Error) => err instanceof SecretBoxError && /unknown key/.test(err.message));
  });

  test('refuses a value whose key id was changed to one it knows', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const box = new SecretBox([a, b]);
    const parts = box.seal(SEED).split('.');
    parts[1] = new SecretBox([b]).seal('x').split('.')[1]!;
    assert.throws(() => box.open(parts.join('.')), SecretBoxError);
  });

  test('refuses anything not shaped like a sealed value', () => {
    const box = new SecretBox([randomBytes(32)]);
    const good = box.seal(SEED);
    const [, id, iv, tag, ct] = good.split('.');
    const bad = [
      '',
      'v1',
      SEED,
      `v2.${id}.${iv}.${tag}.${ct}`,
      `v1.${id}.${iv}.${tag}`,
      `v1.${id}.${iv}.${tag}.${ct}.x`,
      `v1.${id!.toUpperCase()}.${iv}.${tag}.${ct}`,
      `v1.${id}.${iv}A.${tag}.${ct}`, // IV too long
      `v1.${id}.${iv}.${tag!.slice(0, 10)}.${ct}`, // short tag
      `v1.${id}.${iv}.${tag}.${ct}!`, // a character base64url does not have
      `v1.${id}.${iv}.${tag}.${ct}=`, // padding seal never writes
      `${good}\n`,
      `v1.${id}.${iv}.${tag}.${'A'.repeat(2_000_000)}`,
    ];
    for (const s of bad) {
      assert.throws(() => box.open(s), SecretBoxError, JSON.stringify(s.slice(0, 80)));
      assert.throws(() => box.needsRekey(s), SecretBoxError);
    }
  });

  test('opens values sealed with an older key after rotation, and tells they need re-sealing', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const before = new SecretBox([oldKey]).seal(SEED);
    const rotated = new SecretBox([newKey, oldKey]);
    assert.equal(rotated.openText(before), SEED);
    assert.equal(rotated.needsRekey(before), true);

    const resealed = rotated.seal(rotated.open(before));
    assert.equal(rotated.needsRekey(resealed), false);
    assert.equal(new SecretBox([newKey]).openText(resealed), SEED);

    // Once the old key is dropped, what was not re-sealed is lost.
    assert.throws(() => new SecretBox([newKey]).open(before), SecretBoxError);
    assert.throws(() => new SecretBox([newKey]).needsRekey(before), SecretBoxError);
  });

  test('needs at least one key, each of 32 bytes', () => {
    assert.throws(() => new SecretBox([]), /at least one key/);
    assert.throws(() => new SecretBox([randomBytes(16)]), /key 1 is 16 bytes/);
    assert.throws(() => new SecretBox([randomBytes(32), randomBytes(33)]), /key 2 is 33 bytes/);
  });

  test('keeps its own copy of the keys', () => {
    const key = randomBytes(32);
    const box = new SecretBox([key]);
    const sealed = box.seal(SEED);
    key.fill(0);
    assert.equal(box.openText(sealed), SEED);
  });
});

describe('parseSecretsKeys', () => {
  const key = randomBytes(32);

  test('reads a key as 64 hex characters, either case', () => {
    assert.deepEqual(parseSecretsKeys(key.toString('hex')), [key]);
    assert.deepEqual(parseSecretsKeys(key.toString('hex').toUpperCase()), [key]);
  });

  test('reads a key as base64, padded or not, or base64url', () => {
    // Bytes chosen so standard and URL-safe base64 differ.
    const k = Buffer.alloc(32, 0xfb);
    assert.ok(/[+/]/.test(k.toString('base64')));
    assert.deepEqual(parseSecretsKeys(k.toString('base64')), [k]);
    assert.deepEqual(parseSecretsKeys(k.toString('base64').replace(/=/g, '')), [k]);
    assert.deepEqual(parseSecretsKeys(k.toString('base64url')), [k]);
    assert.deepEqual(parseSecretsKeys(key.toString('base64')), [key]);
  });

  test('reads several comma-separated keys, current first, ignoring spaces around them', () => {
    const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    assert.deepEqual(parseSecretsKeys(` ${a.toString('hex')} , ${b.toString('base64')},${c.toString('base64url')} `), [a, b, c]);
  });

  test('refuses keys of the wrong length or encoding with a message naming SECRETS_KEY but not the key', () => {
    const bad = [
      '',
      '  ',
      ',',
      randomBytes(16).toString('hex'),
      randomBytes(31).toString('hex'),
      randomBytes(33).toString('hex'),
      randomBytes(16).toString('base64'),
      randomBytes(48).toString('base64'),
      `${key.toString('hex').slice(0, 63)}g`,
      `${key.toString('base64url').slice(0, 42)}*`,
      'correct horse battery staple',
    ];
    for (const value of bad) {
      assert.throws(
        () => parseSecretsKeys(value),
        (err: Error) => /SECRETS_KEY/.test(err.message) && (value.trim().length < 8 || !err.message.includes(value.trim())),
        JSON.stringify(value),
      );
    }
  });

  test('refuses base64 whose last character carries bits a 32-byte key cannot have (a typo)', () => {
    const k = Buffer.alloc(32, 0); // base64url "AAAA…AAA": the last character holds 2 bits of data and 4 spare
    const text = k.toString('base64url');
    assert.deepEqual(parseSecretsKeys(text), [k]);
    assert.throws(() => parseSecretsKeys(`${text.slice(0, -1)}B`), /SECRETS_KEY/);
  });

  test('names which key of several is wrong', () => {
    assert.throws(() => parseSecretsKeys(`${key.toString('hex')},abc`), /SECRETS_KEY key 2 /);
    assert.throws(() => parseSecretsKeys(`${key.toString('hex')},`), /SECRETS_KEY key 2 /);
  });
});

describe('loadOrCreateSecretsKey', () => {
  test('uses SECRETS_KEY when set, without touching the data folder', () => {
    const dir = join(tempDir(), 'data');
    const key = randomBytes(32);
    assert.deepEqual(loadOrCreateSecretsKey(key.toString('hex'), dir), { keys: [key] });
    assert.throws(() => statSync(dir), /ENOENT/);
    assert.throws(() => loadOrCreateSecretsKey('short', dir), /SECRETS_KEY/);
  });

  test('creates <dataDir>/secrets-key once, mode 0600, with its folder, then reuses it', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const path = join(dir, 'secrets-key');
    const first = loadOrCreateSecretsKey(undefined, dir);
    assert.equal(first.generatedPath, path);
    assert.equal(first.keys.length, 1);
    assert.equal(first.keys[0]!.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, 'utf8'), /^[A-Za-z0-9_-]{43}\n$/);
    assert.deepEqual(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url'), first.keys[0]);
    assert.deepEqual(readdirSync(dir), ['secrets-key'], 'no temporary file left behind');

    const second = loadOrCreateSecretsKey(undefined, dir);
    assert.deepEqual(second, { keys: first.keys });
    assert.equal(loadOrCreateSecretsKey('', dir).generatedPath, undefined, 'an empty SECRETS_KEY counts as unset');

    // A value sealed with the file's key opens after a restart.
    const sealed = new SecretBox(first.keys).seal(SEED);
    assert.equal(new SecretBox(loadOrCreateSecretsKey(undefined, dir).keys).openText(sealed), SEED);
  });

  test('each data folder gets its own key', () => {
    const a = loadOrCreateSecretsKey(undefined, tempDir());
    const b = loadOrCreateSecretsKey(undefined, tempDir());
    assert.notDeepEqual(a.keys[0], b.keys[0]);
  });

  test('refuses a damaged key file, naming it, rather than replacing it', () => {
    const dir = tempDir();
    const path = join(dir, 'secrets-key');
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadOrCreateSecretsKey(undefined, dir), (err: Error) => err.message.includes(path));
    assert.equal(readFileSync(path, 'utf8'), 'not a key\n');
  });
});
