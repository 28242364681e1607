import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createThrowawayDatabase } from '../../test/helpers/services.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'postern.js');
const STACK_LINE = /^\s*at .*:\d+(:\d+)?\)?\s*$/m;
const HEADER = 'upn,serial number,secret key,time interval,manufacturer,model';
const KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

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
      if (STACK_LINE.test(stderr)) reject(new Error(`stack trace on stderr of postern ${args.join(' ')}:\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** csvFile writes a token file into the data folder and returns its path. */
function csvFile(name: string, rows: string[]): string {
  const path = join(dataDir, name);
  writeFileSync(path, [HEADER, ...rows].join('\n') + '\n');
  return path;
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'postern-tokens-cli-'));
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

describe('postern tokens', () => {
  test('the usage names the tokens commands', async () => {
    const r = await postern(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /tokens import <file\.csv>/);
    assert.match(r.stdout, /tokens list/);
  });

  test('tokens list on an empty inventory says how to fill it', async () => {
    const r = await postern(['tokens', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No hardware tokens yet\. Import some with: postern tokens import <file\.csv>/);
  });

  test('tokens import adds every token of a good file, and tokens list shows serial, model, status and user', async () => {
    assert.equal((await postern(['user', 'add', 'ana@example.test'], 'correct horse battery staple\n')).code, 0);
    const file = csvFile('good.csv', [`Ana@Example.test,CLI-1,${KEY},30,Feitian,c200`, `,CLI-2,${KEY.toLowerCase()},60,Feitian,c100`]);
    const r = await postern(['tokens', 'import', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'Imported 2 tokens.');
    const list = await postern(['tokens', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n').sort(), ['CLI-1\tc200\tassigned\tana@example.test', 'CLI-2\tc100\tavailable\t-']);
    assert.ok(!list.stdout.includes(KEY), 'the key is never printed');
  });

  test('a file with any bad row imports nothing, prints each row’s problem and exits 1', async () => {
    const file = csvFile('bad.csv', [`,CLI-3,${KEY},30,,`, `nobody@example.test,CLI-4,${KEY},30,,`, `,cli-1,${KEY},30,,`, `,CLI-5,${KEY},45,,`]);
    const r = await postern(['tokens', 'import', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'Row 3: There is no account nobody@example.test.',
      'Row 4: Serial number cli-1 is already in the inventory.',
      'Row 5: The time interval must be 30 or 60.',
      'Nothing was imported.',
    ]);
    const list = await postern(['tokens', 'list']);
    assert.equal(list.stdout.trim().split('\n').length, 2, 'CLI-3 was not imported');
  });

  test('a missing file or a wrong verb is refused plainly', async () => {
    const missing = await postern(['tokens', 'import', join(dataDir, 'nope.csv')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read .*nope\.csv: no such file/);
    const wrong = await postern(['tokens', 'frobnicate']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /Unknown command\./);
    const noFile = await postern(['tokens', 'import']);
    assert.equal(noFile.code, 2);
  });
});
