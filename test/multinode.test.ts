import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import supertest from 'supertest';
import { openStore, type Store } from '../src/db/client.ts';
import { createLogger } from '../src/log.ts';
import { createServices, type Services } from '../src/services.ts';
import { freePort, startHttpBalancer, type BalancerInstance } from './harness/index.ts';
import { WebClient } from './helpers/client.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import { createThrowawayDatabase, testConfig } from './helpers/services.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PG = process.env.TEST_DATABASE_URL;
const SESSION_SECRET = 'multinode-session-secret-0123456789abcdef';
const MAILAUTH_SECRET = 'multinode-mailauth-secret-0123456789';
const MAIL_ENV = { MAILAUTH_SECRET, IMAP_HOST: '127.0.0.1', IMAP_PORT: '10143', MAIL_MASTER_USER: 'postern', MAIL_MASTER_PASSWORD: 'master-pw-123' };

/** Node is one Postern process, started as `npm start` starts it, on its own port. */
class Node {
  proc?: ChildProcess;
  port = 0;
  texts: string[] = [];
  constructor(
    readonly name: string,
    private readonly databaseUrl: string,
  ) {}

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const env = { ...process.env, ...MAIL_ENV, DATABASE_URL: this.databaseUrl, PORT: String(this.port), HOST: '127.0.0.1', SESSION_SECRET, SMS_PROVIDER: 'console', SMS_CONSOLE_IN_PRODUCTION: '1', SMS_MAX_PER_IP_HOUR: '1000', SMS_MAX_PER_IP_DAY: '1000', LOG_LEVEL: 'info' };
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          try {
            const entry = JSON.parse(line) as { msg?: string; provider?: string; body?: string };
            if (entry.msg === 'Postern is listening') resolve();
            if (entry.msg === 'sms' && entry.provider === 'console' && entry.body) this.texts.push(entry.body);
          } catch {
            // Not a log line.
          }
        }
      });
      proc.once('exit', (code) => reject(new Error(`${this.name} exited with ${code}: ${stderr}`)));
    });
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise((r) => {
      proc.once('exit', r);
      proc.kill('SIGTERM');
    });
  }
}

/** through is a browser whose every request goes through the load balancer. */
const through = (lb: BalancerInstance) => new WebClient(`http://127.0.0.1:${lb.port}` as unknown as Express);

describe('two Postern nodes on one PostgreSQL database behind a round-robin load balancer', { skip: PG ? false : 'needs PostgreSQL: the PostgreSQL pass (TEST_DATABASE_URL) runs it' }, () => {
  let db: { url: string; drop(): Promise<void> };
  let store: Store;
  let s: Services;
  let a: Node;
  let b: Node;
  let lb: BalancerInstance;
  const codeFrom = (phone: string) => {
    const all = [...a.texts, ...b.texts];
    const code = [...all].reverse().find(Boolean)?.match(/\b(\d{6})\b/)?.[1];
    if (!code) throw new Error(`no code was texted to ${phone}`);
    return code;
  };

  before(async () => {
    db = await createThrowawayDatabase(PG!);
    // The setup side: migrates the database and creates users, like an administrator's CLI.
    store = await openStore({ url: db.url, dataDir: '.' });
    s = await createServices(testConfig({ ...MAIL_ENV, DATABASE_URL: db.url }), createLogger('silent'), { store });
    a = new Node('A', db.url);
    b = new Node('B', db.url);
    await Promise.all([a.start(), b.start()]);
    lb = await startHttpBalancer([a.port, b.port]);
  });
  after(async () => {
    await lb?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await s?.audit.flush().catch(() => {});
    await store?.close();
    await db?.drop();
  });

  test('a sign-in with password and texted code moves between nodes at every request, and the trusted browser is known to both', async () => {
    const phone = '+8613900139001';
    const user = await buildUser(s, { phone });
    const c = through(lb);
    // Round robin: the page, the password, the code page and the code land on alternate nodes.
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/code');
    await c.get('/login/code');
    const done = await c.post('/login/code', { code: codeFrom(phone), trust: 'on' });
    assert.equal(done.status, 303, done.text);
    for (let i = 0; i < 4; i++) assert.equal((await c.get('/settings/security')).status, 200, `request ${i} on either node`);
    // The trusted browser skips the code on whichever node it meets.
    const again = through(lb);
    const trusted = c.cookie('postern_trust');
    assert.ok(trusted, 'the browser got its trust cookie');
    again.setCookie('postern_trust', trusted);
    for (let i = 0; i < 2; i++) {
      await again.get('/login');
      const res = await again.post('/login', { email: user.email, password: PASSWORD });
      assert.notEqual(res.headers.location, '/login/code', `attempt ${i}: the trusted browser is known`);
      await again.post('/logout');
    }
  });

  test('a client-specific password revoked on one node is refused on the other within a second', async () => {
    const user = await buildUser(s);
    const { secret, row } = await s.appPasswords.create(user, { name: 'Phone', scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: 'test' });
    const ask = (node: Node) =>
      supertest(`http://127.0.0.1:${node.port}`)
        .get('/mailauth/nginx')
        .set({ 'X-Mailauth-Secret': MAILAUTH_SECRET, 'Auth-Method': 'plain', 'Auth-User': encodeURIComponent(user.email), 'Auth-Pass': encodeURIComponent(secret), 'Auth-Protocol': 'imap', 'Client-IP': '192.0.2.77' })
        .then((r) => r.headers['auth-status']);
    // Both nodes have the login cached.
    assert.equal(await ask(a), 'OK');
    assert.equal(await ask(b), 'OK');
    // Revoked through node A's own database connection ...
    const viaA = await supertest(`http://127.0.0.1:${a.port}`).get('/');
    assert.ok(viaA.status < 500);
    await s.appPasswords.revoke(user, row.id);
    const revokedAt = Date.now();
    // ... node B, which cached the login, refuses it within a second (the change notification).
    let answer = await ask(b);
    while (answer === 'OK' && Date.now() - revokedAt < 1000) answer = await ask(b);
    assert.notEqual(answer, 'OK');
    assert.ok(Date.now() - revokedAt < 1000, `refused after ${Date.now() - revokedAt} ms`);
  });

  test('a rolling restart (stop A, B serves, start A) loses no session', async () => {
    const phone = '+8613900139002';
    const user = await buildUser(s, { phone });
    const c = through(lb);
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    await c.get('/login/code');
    assert.equal((await c.post('/login/code', { code: codeFrom(phone) })).status, 303);
    await a.stop();
    for (let i = 0; i < 3; i++) assert.equal((await c.get('/settings/security')).status, 200, 'B serves every request while A is down');
    await a.start();
    await b.stop();
    for (let i = 0; i < 3; i++) assert.equal((await c.get('/settings/security')).status, 200, 'A, back, knows the session');
    await b.start();
    for (let i = 0; i < 4; i++) assert.equal((await c.get('/settings/security')).status, 200);
  });
});
