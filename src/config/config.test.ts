import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './load.ts';
import { startupWarnings } from './warnings.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STACK_LINE = /^\s*at .*:\d+(:\d+)?\)?\s*$/m;

/** problemsOf returns the problems loadConfig reports for env, keyed by variable. */
function problemsOf(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return Object.fromEntries(err.problems.map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1).trim()]));
  }
  assert.fail('the configuration was accepted');
}

describe('loadConfig', () => {
  test('lists every problem at once', () => {
    const problems = problemsOf({ PORT: 'eighty', SMS_PROVIDER: 'twilio', DATABASE_URL: 'mysql://db.example.test/postern' });
    assert.deepEqual(Object.keys(problems).sort(), ['DATABASE_URL', 'PORT', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM']);
    assert.match(problems.DATABASE_URL!, /postgres:\/\//);
    assert.match(problems.TWILIO_ACCOUNT_SID!, /required when SMS_PROVIDER=twilio/);
    assert.match(problems.TWILIO_FROM!, /TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID/);
  });

  test('lists out-of-range values, malformed ids and a short secret together', () => {
    const problems = problemsOf({
      PORT: '70000',
      TRUSTED_DEVICE_DAYS: '365',
      SESSION_SECRET: 'too-short',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC123',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: '+15005550006',
      LOG_LEVEL: 'chatty',
    });
    assert.deepEqual(Object.keys(problems).sort(), ['LOG_LEVEL', 'PORT', 'SESSION_SECRET', 'TRUSTED_DEVICE_DAYS', 'TWILIO_ACCOUNT_SID']);
    assert.match(problems.SESSION_SECRET!, /at least 32 characters/);
    assert.match(problems.TWILIO_ACCOUNT_SID!, /AC followed by 32 hex digits/);
  });

  test('the error message has one problem per line', () => {
    assert.throws(
      () => loadConfig({ PORT: '-1', SMS_PROVIDER: 'carrier-pigeon' }),
      (err: Error) => {
        const lines = err.message.split('\n');
        assert.equal(lines[0], 'Invalid configuration:');
        assert.equal(lines.length, 3);
        assert.match(lines[1]!, /^ {2}- PORT: /);
        assert.match(lines[2]!, /^ {2}- SMS_PROVIDER: /);
        return true;
      },
    );
  });

  test('an empty environment gives the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8080);
    assert.equal(c.HOST, '127.0.0.1');
    assert.equal(c.TRUSTED_DEVICE_DAYS, 7);
    assert.equal(c.SMS_PROVIDER, 'console');
    assert.equal(c.SERVICE_NAME, 'Postern');
    assert.equal(c.DATA_DIR, './data');
    assert.equal(c.DATABASE_URL, undefined);
    assert.equal(c.SESSION_SECRET, undefined);
    assert.equal(c.TWILIO_API_BASE_URL, 'https://api.twilio.com');
    assert.deepEqual(c.SMS_ALLOWED_COUNTRIES, []);
  });

  test('empty strings count as unset', () => {
    const blank = loadConfig({
      PORT: '',
      TRUSTED_DEVICE_DAYS: '',
      SMS_PROVIDER: '',
      DATABASE_URL: '',
      SESSION_SECRET: '',
      TWILIO_ACCOUNT_SID: '',
      TWILIO_API_BASE_URL: '',
      LOG_LEVEL: '',
    });
    assert.deepEqual(blank, loadConfig({}));
  });

  test('the shipped .env.example, copied as is, behaves like the defaults', () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(join(root, '.env.example'), 'utf8').split('\n')) {
      const m = line.match(/^([A-Z][A-Z0-9_]*)=(.*)$/);
      if (m) env[m[1]!] = m[2]!;
    }
    assert.ok(Object.keys(env).length > 10, 'the example lists the settings');
    assert.deepEqual(loadConfig(env), loadConfig({}));
  });

  test('reads numbers, lists and a Twilio messaging service', () => {
    const c = loadConfig({
      PORT: '8443',
      TRUSTED_DEVICE_DAYS: '30',
      SMS_ALLOWED_COUNTRIES: 'CN, HK ,,US',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC' + 'a1'.repeat(16),
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_MESSAGING_SERVICE_SID: 'MG' + 'b2'.repeat(16),
    });
    assert.equal(c.PORT, 8443);
    assert.equal(c.TRUSTED_DEVICE_DAYS, 30);
    assert.deepEqual(c.SMS_ALLOWED_COUNTRIES, ['CN', 'HK', 'US']);
    assert.equal(c.TWILIO_FROM, undefined);
  });

  test('refuses the console SMS provider, which prints codes to the log, when PUBLIC_URL is https', () => {
    const problems = problemsOf({ PUBLIC_URL: 'https://mail.example.edu' });
    assert.deepEqual(Object.keys(problems), ['SMS_PROVIDER']);
    assert.match(problems.SMS_PROVIDER!, /prints every code to the log/);
    assert.match(problems.SMS_PROVIDER!, /SMS_PROVIDER=twilio/);
    assert.match(problems.SMS_PROVIDER!, /SMS_CONSOLE_IN_PRODUCTION=1/);
  });

  test('accepts the console SMS provider over plain http, or over https when told to', () => {
    assert.equal(loadConfig({ PUBLIC_URL: 'http://localhost:8080' }).SMS_PROVIDER, 'console');
    const allowed = loadConfig({ PUBLIC_URL: 'https://mail.example.edu', SMS_CONSOLE_IN_PRODUCTION: '1' });
    assert.equal(allowed.SMS_PROVIDER, 'console');
    assert.equal(allowed.SMS_CONSOLE_IN_PRODUCTION, true);
  });

  test('refuses IMAP and SMTP backends on another host reached in clear', () => {
    const problems = problemsOf({ IMAP_HOST: '10.0.0.5', SMTP_HOST: 'relay.example.edu' });
    assert.deepEqual(Object.keys(problems).sort(), ['IMAP_HOST', 'SMTP_HOST']);
    assert.match(problems.IMAP_HOST!, /IMAP_SECURE=true or IMAP_STARTTLS=true/);
    assert.match(problems.IMAP_HOST!, /IMAP_INSECURE_OK=1/);
    assert.match(problems.SMTP_HOST!, /SMTP_SECURE=true or SMTP_REQUIRE_TLS=true/);
    assert.match(problems.SMTP_HOST!, /SMTP_INSECURE_OK=1/);
  });

  test('accepts a backend on another host over TLS, with STARTTLS required, or when told it is safe', () => {
    for (const env of [
      { IMAP_HOST: '10.0.0.5', IMAP_PORT: '993', IMAP_SECURE: 'true', SMTP_HOST: 'relay.example.edu', SMTP_PORT: '465', SMTP_SECURE: 'true' },
      { IMAP_HOST: '10.0.0.5', IMAP_STARTTLS: 'true', SMTP_HOST: 'relay.example.edu', SMTP_REQUIRE_TLS: 'true' },
      { IMAP_HOST: '10.0.0.5', IMAP_INSECURE_OK: '1', SMTP_HOST: 'relay.example.edu', SMTP_INSECURE_OK: '1' },
    ]) {
      assert.doesNotThrow(() => loadConfig(env), JSON.stringify(env));
    }
  });

  test('backends on this host need no TLS', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
      assert.doesNotThrow(() => loadConfig({ IMAP_HOST: host, SMTP_HOST: host }), host);
    }
  });

  test('refuses TLS from the first byte and STARTTLS together, and a CA file it cannot read', () => {
    const problems = problemsOf({
      IMAP_SECURE: 'true',
      IMAP_STARTTLS: 'true',
      SMTP_SECURE: 'true',
      SMTP_REQUIRE_TLS: 'true',
      IMAP_TLS_CA_FILE: '/nonexistent/postern-ca.pem',
    });
    assert.deepEqual(Object.keys(problems).sort(), ['IMAP_STARTTLS', 'IMAP_TLS_CA_FILE', 'SMTP_REQUIRE_TLS']);
    assert.match(problems.IMAP_STARTTLS!, /not both/);
    assert.match(problems.IMAP_TLS_CA_FILE!, /cannot be read/);
  });

  test('with MAILAUTH_SECRET the IMAP host stays an IP address, TLS or not', () => {
    const problems = problemsOf({
      MAILAUTH_SECRET: 'mailauth-secret-0123456789',
      MAIL_MASTER_USER: 'postern',
      MAIL_MASTER_PASSWORD: 'master-pw',
      IMAP_HOST: 'imap.example.edu',
      IMAP_STARTTLS: 'true',
    });
    assert.deepEqual(Object.keys(problems), ['IMAP_HOST']);
    assert.match(problems.IMAP_HOST!, /IP address/);
  });

  test('what is allowed only because the administrator said so is warned about at start', () => {
    assert.deepEqual(startupWarnings(loadConfig({})), []);
    assert.deepEqual(startupWarnings(loadConfig({ IMAP_HOST: '10.0.0.5', IMAP_STARTTLS: 'true', SMTP_HOST: '10.0.0.6', SMTP_SECURE: 'true' })), []);
    const warnings = startupWarnings(
      loadConfig({
        PUBLIC_URL: 'https://mail.example.edu',
        SMS_CONSOLE_IN_PRODUCTION: '1',
        IMAP_HOST: '10.0.0.5',
        IMAP_INSECURE_OK: '1',
        SMTP_HOST: '10.0.0.6',
        SMTP_INSECURE_OK: '1',
      }),
    );
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, /console SMS provider writes every sign-in code to the log/);
    assert.match(warnings[1]!, /IMAP backend 10\.0\.0\.5 in clear/);
    assert.match(warnings[2]!, /SMTP relay 10\.0\.0\.6 in clear/);
  });

  test('reads MAILAUTH_LISTEN as an address and port', () => {
    assert.deepEqual(loadConfig({ MAILAUTH_LISTEN: '127.0.0.1:9143' }).MAILAUTH_LISTEN, { host: '127.0.0.1', port: 9143 });
    assert.deepEqual(loadConfig({ MAILAUTH_LISTEN: '[::1]:9143' }).MAILAUTH_LISTEN, { host: '::1', port: 9143 });
    assert.equal(loadConfig({}).MAILAUTH_LISTEN, undefined);
    for (const bad of ['9143', '127.0.0.1', '127.0.0.1:99999', 'localhost:x']) {
      assert.match(problemsOf({ MAILAUTH_LISTEN: bad }).MAILAUTH_LISTEN!, /address:port/, bad);
    }
  });
});

describe('starting the server', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** start runs `npm start` with exactly env (plus PATH) and collects what it prints. */
  function start(env: Record<string, string>) {
    const dataDir = mkdtempSync(join(tmpdir(), 'postern-config-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const out = { stdout: '', stderr: '' };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    return { child, out, exited };
  }

  /** finish waits for the process to exit by itself, and kills it after `ms`. */
  async function finish(run: ReturnType<typeof start>, ms = 30_000) {
    const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
    const result = await run.exited;
    clearTimeout(timer);
    assert.equal(result.signal, null, `still running after ${ms} ms\nstdout: ${run.out.stdout}\nstderr: ${run.out.stderr}`);
    return { code: result.code, ...run.out };
  }

  test('with a bad environment it exits non-zero, listing every problem, without a stack trace', async () => {
    const r = await finish(start({ PORT: 'eighty', SMS_PROVIDER: 'twilio', DATABASE_URL: 'mysql://db.example.test/postern' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid configuration:/);
    for (const key of ['PORT', 'DATABASE_URL', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM']) {
      assert.match(r.stderr, new RegExp(`^ {2}- ${key}: `, 'm'), `${key} is not named in:\n${r.stderr}`);
    }
    assert.doesNotMatch(r.stderr, STACK_LINE);
    assert.doesNotMatch(r.stdout, /Postern is listening/);
  });

  test('with an unreachable database it exits non-zero, saying why, without a stack trace', async () => {
    const r = await finish(start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postern', SESSION_SECRET: 'config-test-secret-config-test-secret-01' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Could not open the database/);
    assert.match(r.stderr, /ECONNREFUSED/, `the cause is not named in:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  /** logged waits until the process logs a line with message `msg`, and returns it parsed. */
  async function logged(run: ReturnType<typeof start>, msg: string, ms = 120_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = run.out.stdout.split('\n').find((l) => l.includes(`"msg":${JSON.stringify(msg)}`));
      if (found) return JSON.parse(found) as Record<string, unknown>;
      if (run.child.exitCode !== null) assert.fail(`exited early: ${run.out.stderr}`);
      if (Date.now() > deadline) assert.fail(`never logged ${msg}: ${run.out.stdout}${run.out.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** stop ends a server started by a test. */
  async function stop(run: ReturnType<typeof start>) {
    run.child.kill('SIGTERM');
    await run.exited;
  }

  test('over https with the console SMS provider it refuses to start, saying why', async () => {
    const r = await finish(start({ PUBLIC_URL: 'https://mail.example.test', SESSION_SECRET: 'config-test-secret-config-test-secret-01' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^ {2}- SMS_PROVIDER: .*prints every code to the log/m);
    assert.doesNotMatch(r.stdout, /Postern is listening/);
  });

  test('over https with SMS_CONSOLE_IN_PRODUCTION=1 it starts and warns that codes go to the log', async () => {
    const run = start({
      PORT: '0',
      DATABASE_URL: 'memory://',
      PUBLIC_URL: 'https://mail.example.test',
      SMS_CONSOLE_IN_PRODUCTION: '1',
      SESSION_SECRET: 'config-test-secret-config-test-secret-01',
    });
    try {
      await logged(run, 'Postern is listening');
      const warnings = run.out.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: string; msg: string })
        .filter((l) => l.level === 'warn');
      assert.ok(
        warnings.some((w) => /console SMS provider/.test(w.msg) && /log/.test(w.msg)),
        `no warning about the console provider in:\n${run.out.stdout}`,
      );
    } finally {
      await stop(run);
    }
  });

  test('with MAILAUTH_LISTEN, mail logins are answered on that address and not on the public one', async () => {
    const secret = 'config-test-mailauth-secret-0123';
    const run = start({
      PORT: '0',
      DATABASE_URL: 'memory://',
      MAILAUTH_LISTEN: '127.0.0.1:0',
      MAILAUTH_SECRET: secret,
      MAIL_MASTER_USER: 'postern',
      MAIL_MASTER_PASSWORD: 'master-pw',
      SESSION_SECRET: 'config-test-secret-config-test-secret-01',
    });
    try {
      const web = new URL(String((await logged(run, 'Postern is listening')).url));
      const mailauth = new URL(String((await logged(run, 'mail logins are answered here')).url));
      assert.notEqual(mailauth.port, '0');
      assert.notEqual(mailauth.port, web.port);
      const nginxAsks = (base: URL) =>
        fetch(new URL('/mailauth/nginx', base), {
          headers: { 'X-Mailauth-Secret': secret, 'Auth-Method': 'plain', 'Auth-User': 'nobody%40example.test', 'Auth-Pass': 'wrong', 'Auth-Protocol': 'imap', 'Client-IP': '192.0.2.1' },
        });
      const onWeb = await nginxAsks(web);
      assert.equal(onWeb.status, 404);
      assert.equal(onWeb.headers.get('auth-status'), null);
      const onMailauth = await nginxAsks(mailauth);
      assert.ok(onMailauth.headers.get('auth-status'), 'nginx gets an answer on the mail-login address');
      assert.notEqual(onMailauth.headers.get('auth-status'), 'OK');
      assert.equal((await fetch(new URL('/login', mailauth))).status, 404, 'the web pages are not served there');
    } finally {
      await stop(run);
    }
  });

  test('with PORT=0 it logs the address it actually listens on', async () => {
    const run = start({ PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: 'config-test-secret-config-test-secret-01' });
    const deadline = Date.now() + 60_000;
    let line: { url?: string } | undefined;
    while (!line) {
      const found = run.out.stdout.split('\n').find((l) => l.includes('"Postern is listening"'));
      if (found) line = JSON.parse(found) as { url?: string };
      else if (run.child.exitCode !== null) assert.fail(`exited early: ${run.out.stderr}`);
      else if (Date.now() > deadline) assert.fail(`never listened: ${run.out.stdout}${run.out.stderr}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const url = new URL(line.url!);
      assert.notEqual(url.port, '0', `logged ${line.url}`);
      const res = await fetch(new URL('/healthz', url));
      assert.equal(res.status, 200);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });
});
