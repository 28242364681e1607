import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServices, type TestServices } from '../../../test/helpers/services.ts';
import { tokensCommand } from './cli.ts';

const HEADER = 'upn,serial number,secret key,time interval,manufacturer,model';
const KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

let s: TestServices;
let dir: string;

/** tokens runs `postern tokens <verb> <arg>` in process, as the command line does, and keeps what it printed. */
async function tokens(verb: string | undefined, arg?: string) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await tokensCommand(s, verb, arg, { log: (l) => stdout.push(l), error: (l) => stderr.push(l) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

function csvFile(name: string, rows: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, [HEADER, ...rows].join('\n') + '\n');
  return path;
}

before(async () => {
  s = await startServices();
  dir = mkdtempSync(join(tmpdir(), 'postern-tokens-cli-'));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('postern tokens', () => {
  test('tokens list on an empty inventory says how to fill it', async () => {
    const r = await tokens('list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No hardware tokens yet\. Import some with: postern tokens import <file\.csv>/);
  });

  test('tokens import adds every token of a good file, and tokens list shows serial, model, status and user', async () => {
    await s.userService.create({ email: 'ana@tokens-cli.test', password: 'correct horse battery staple' });
    const file = csvFile('good.csv', [`Ana@Tokens-CLI.test,CLI-1,${KEY},30,Feitian,c200`, `,CLI-2,${KEY.toLowerCase()},60,Feitian,c100`]);
    const r = await tokens('import', file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'Imported 2 tokens.');
    const list = await tokens('list');
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n').sort(), ['CLI-1\tc200\tassigned\tana@tokens-cli.test', 'CLI-2\tc100\tavailable\t-']);
    assert.ok(!list.stdout.includes(KEY), 'the key is never printed');
  });

  test('a file with any bad row imports nothing, prints each row’s problem and exits 1', async () => {
    const file = csvFile('bad.csv', [`,CLI-3,${KEY},30,,`, `nobody@tokens-cli.test,CLI-4,${KEY},30,,`, `,cli-1,${KEY},30,,`, `,CLI-5,${KEY},45,,`]);
    const r = await tokens('import', file);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'Row 3: There is no account nobody@tokens-cli.test.',
      'Row 4: Serial number cli-1 is already in the inventory.',
      'Row 5: The time interval must be 30 or 60.',
      'Nothing was imported.',
    ]);
    const list = await tokens('list');
    assert.equal(list.stdout.trim().split('\n').length, 2, 'CLI-3 was not imported');
  });

  test('a missing file is refused plainly; other words are no tokens command', async () => {
    const missing = await tokens('import', join(dir, 'nope.csv'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read .*nope\.csv: no such file/);
    assert.equal((await tokens('frobnicate')).code, undefined);
    assert.equal((await tokens('import')).code, undefined);
  });
});
