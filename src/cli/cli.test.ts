import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createThrowawayDatabase } from '../../test/helpers/services.ts';
import { runPostern } from '../../test/helpers/cli.ts';

const PASSWORD = 'correct horse battery staple';

let env: Record<string, string>;
let dataDir: string;
let dropDatabase: (() => Promise<void>) | undefined;

/** postern runs the command-line tool with this file's environment. */
const postern = (args: string[], input = '') => runPostern(args, env, input);

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'postern-cli-'));
  env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dataDir,
    DATA_DIR: dataDir,
    SESSION_SECRET: 'cli-test-secret-cli-test-secret-0123456789',
  };
  const base = process.env.TEST_DATABASE_URL;
  if (base) {
    const db = await createThrowawayDatabase(base);
    env.DATABASE_URL = db.url;
    dropDatabase = db.drop;
  }
});

after(async () => {
  await dropDatabase?.();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('postern command line', () => {
  test('user add creates an administrator with the password read from stdin', async () => {
    const r = await postern(['user', 'add', 'alice@example.test', '--admin'], PASSWORD + '\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Created alice@example\.test \(administrator\)\.$/m);
  });

  test('adding the same address again is refused with a clear message', async () => {
    const r = await postern(['user', 'add', 'Alice@Example.test'], 'another long passphrase here\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /An account with this email address already exists\./);
    assert.doesNotMatch(r.stdout, /Created/);
  });

  test('a common password is refused with the reason', async () => {
    const r = await postern(['user', 'add', 'bob@example.test'], 'password1234\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /This password is too common and easy to guess\./);
    assert.doesNotMatch(r.stdout, /Created/);
  });

  test('user add without --admin creates an ordinary account with its display name', async () => {
    const r = await postern(['user', 'add', 'carol@example.test', '--name', 'Carol Jones'], PASSWORD + '\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Created carol@example\.test\.$/m);
  });

  test('user list shows the accounts and who is an administrator', async () => {
    const r = await postern(['user', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    assert.deepEqual(lines[0]!.split('\t'), ['alice@example.test', 'alice', 'admin 2fa:none']);
    assert.deepEqual(lines[1]!.split('\t'), ['carol@example.test', 'Carol Jones', '2fa:none']);
  });

  test('policy require-2fa on applies to everyone and says so', async () => {
    const r = await postern(['policy', 'require-2fa', 'on']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Two-step verification is now required for everyone\./);
  });

  test('policy require-2fa --user sets one account, and user list shows it', async () => {
    const off = await postern(['policy', 'require-2fa', 'off', '--user', 'carol@example.test']);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /Two-step verification is now not required for carol@example\.test\./);
    const on = await postern(['policy', 'require-2fa', 'on', '--user', 'alice@example.test']);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /Two-step verification is now required for alice@example\.test\./);

    const list = await postern(['user', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const flags = Object.fromEntries(list.stdout.trim().split('\n').map((l) => [l.split('\t')[0], l.split('\t')[2]]));
    assert.deepEqual(flags, {
      'alice@example.test': 'admin 2fa:none require-2fa:on',
      'carol@example.test': '2fa:none require-2fa:off',
    });
  });

  test('policy for an unknown account is refused', async () => {
    const r = await postern(['policy', 'require-2fa', 'on', '--user', 'nobody@example.test']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No account nobody@example\.test\./);
    assert.doesNotMatch(r.stdout, /Two-step verification is now/);
  });

  test('an unknown command prints the usage and exits 2', async () => {
    const r = await postern(['user', 'frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown command\./);
    assert.match(r.stderr, /Usage: postern <command>/);
    assert.match(r.stderr, /user add <email> \[--admin\]/);
    assert.match(r.stderr, /tokens import <file\.csv>/);
    assert.equal((await postern(['tokens', 'frobnicate'])).code, 2, 'nor is an unknown tokens verb');
  });

  test('tokens list reads the inventory (the commands themselves: src/twofactor/hardware/cli.test.ts)', async () => {
    const r = await postern(['tokens', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No hardware tokens yet/);
  });

  test('with the database unreachable it fails saying why', async () => {
    const saved = env;
    env = { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postern' };
    try {
      const r = await postern(['user', 'list']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ECONNREFUSED/, `the cause is not named in:\n${r.stderr}`);
      assert.equal(r.stdout, '');
    } finally {
      env = saved;
    }
  });

  test('no command at all prints the usage and exits 0', async () => {
    const r = await postern([]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: postern <command>/);
  });
});
