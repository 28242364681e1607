import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createThrowawayDatabase } from '../../test/helpers/services.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'postern.js');
const PASSWORD = 'correct horse battery staple';
const STACK_LINE = /^\s*at .*:\d+(:\d+)?\)?\s*$/m;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let env: Record<string, string>;
let dataDir: string;
let dropDatabase: (() => Promise<void>) | undefined;

/** postern runs the command-line tool as an administrator would, with `input` typed on stdin. */
function postern(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`postern ${args.join(' ')} did not finish in 60 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Whatever the outcome, an administrator never gets a stack trace.
      if (STACK_LINE.test(stderr)) reject(new Error(`stack trace on stderr of postern ${args.join(' ')}:\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

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
