import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STACK_LINE = /^\s*at .*:\d+(:\d+)?\)?\s*$/m;
const START_MS = 60_000;

interface Server {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** exited resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
}

const started: ChildProcess[] = [];
const dirs: string[] = [];

after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-lock-'));
  dirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** startServer runs `npm start` the way an operator would, on the embedded database in dataDir. */
function startServer(dataDir: string, port: number): Server {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dataDir,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      SESSION_SECRET: 'lock-test-secret-lock-test-secret-012345',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, ms = START_MS) {
      const deadline = Date.now() + ms;
      while (!pattern.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before ${pattern}\nstdout: ${out}\nstderr: ${err}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms\nstdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** within resolves with what `p` gives, or rejects after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}

async function health(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return res.status;
}

const lockFile = (dir: string) => join(dir, 'postern.lock');
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('one server per embedded data directory', () => {
  test('a second server on the same data directory refuses to start and names it', async () => {
    const dir = tempDir();
    const port = await freePort();
    const first = startServer(dir, port);
    await first.waitFor(/Postern is listening/);
    assert.equal(readFileSync(lockFile(dir), 'utf8').trim(), String(first.pid));

    const second = startServer(dir, 0);
    const code = await within(second.exited, 20_000, 'the second server exiting');
    assert.notEqual(code, 0);
    assert.equal(typeof code, 'number', `ended by ${code}, not by exiting`);
    assert.match(second.stderr(), new RegExp(`The data directory ${reEscape(dir)} is in use by another Postern process \\(pid ${first.pid}\\)`));
    assert.doesNotMatch(second.stderr(), STACK_LINE);
    assert.doesNotMatch(second.stdout(), /Postern is listening/);

    // The command-line tool refuses the same way.
    const cli = spawn(process.execPath, [join(root, 'bin', 'postern.js'), 'user', 'list'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, DATA_DIR: dir, SESSION_SECRET: 'lock-test-secret-lock-test-secret-012345' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(cli);
    let cliErr = '';
    cli.stderr!.setEncoding('utf8').on('data', (d: string) => (cliErr += d));
    const cliCode = await within(new Promise((resolve) => cli.on('exit', (c, sig) => resolve(c ?? sig))), 20_000, 'the command line exiting');
    assert.equal(cliCode, 1);
    assert.match(cliErr, new RegExp(`The data directory ${reEscape(dir)} is in use by another Postern process \\(pid ${first.pid}\\)`));
    assert.doesNotMatch(cliErr, STACK_LINE);

    // The first server is untouched: it still answers and still holds the lock.
    assert.equal(first.child.exitCode, null);
    assert.equal(await health(port), 200);
    assert.equal(readFileSync(lockFile(dir), 'utf8').trim(), String(first.pid));

    first.child.kill('SIGTERM');
    assert.equal(await within(first.exited, 30_000, 'the first server stopping'), 0);
    assert.equal(existsSync(lockFile(dir)), false, 'a clean stop releases the lock');
  });

  test('the lock of a server that crashed is taken over', async () => {
    const dir = tempDir();
    const crashed = startServer(dir, await freePort());
    await crashed.waitFor(/Postern is listening/);
    crashed.child.kill('SIGKILL');
    await within(crashed.exited, 30_000, 'the killed server ending');
    assert.equal(readFileSync(lockFile(dir), 'utf8').trim(), String(crashed.pid), 'the crash left its lock behind');

    const port = await freePort();
    const next = startServer(dir, port);
    await next.waitFor(/Postern is listening/);
    assert.equal(readFileSync(lockFile(dir), 'utf8').trim(), String(next.pid));
    assert.equal(await health(port), 200);
    assert.doesNotMatch(next.stderr(), STACK_LINE);
    next.child.kill('SIGTERM');
    assert.equal(await within(next.exited, 30_000, 'the server stopping'), 0);
  });

  test('a stale lock file naming a process that no longer runs is taken over', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const deadPid = gone.pid!;
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(lockFile(dir), String(deadPid));

    const port = await freePort();
    const server = startServer(dir, port);
    await server.waitFor(/Postern is listening/);
    assert.equal(readFileSync(lockFile(dir), 'utf8').trim(), String(server.pid));
    assert.equal(await health(port), 200);
    server.child.kill('SIGTERM');
    assert.equal(await within(server.exited, 30_000, 'the server stopping'), 0);
    assert.equal(existsSync(lockFile(dir)), false);
  });

  test('processes racing for one stale lock: exactly one wins', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(lockFile(dir), String(gone.pid));
    const script = `import('${join(root, 'src/db/lock.ts')}').then((m) => { try { m.acquireDirLock(${JSON.stringify(dir)}); console.log('won'); setTimeout(() => {}, 2000); } catch (e) { console.log('refused'); } })`;
    const racers = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      return new Promise<string>((resolve) => child.on('exit', () => resolve(out.trim())));
    });
    const outcomes = await within(Promise.all(racers), 30_000, 'the racers');
    assert.deepEqual(outcomes.filter((o) => o === 'won').length, 1, outcomes.join(', '));
    assert.equal(outcomes.filter((o) => o === 'refused').length, 3);
  });
});
