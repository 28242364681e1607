import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import supertest from 'supertest';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, eventsOf, soon } from '../../test/helpers/factories.ts';
import { sql } from 'drizzle-orm';
import { MailLogins } from '../admin/mail-logins/query.ts';
import { startMailauthFront, type MailauthFront } from './front.ts';
import { mailauthEnv, nginxAsks as askAsNginx } from '../../test/helpers/nginx-ask.ts';

const SECRET = 'mailauth-listen-secret-0123456789';
const MAIL_ENV = mailauthEnv(SECRET, { MAILAUTH_LISTEN: '127.0.0.1:0' });

let t: TestApp;
let front: MailauthFront;
let url: string;
before(async () => {
  t = await startApp(MAIL_ENV);
  front = await startMailauthFront(t.s, { host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${front.port}`;
});
after(async () => {
  await front.close();
  await t.close();
});

/** withAppPassword makes a user who may log in to IMAP with the returned secret. */
async function withAppPassword(expiresAt?: Date) {
  const user = await buildUser(t.s);
  const { secret, row } = await t.s.appPasswords.create(user, { name: 'Thunderbird', scopes: ['imap', 'smtp'], expiresAt }, { ip: '127.0.0.1', userAgent: 'test' });
  return { user, email: user.email, secret, id: row.id };
}

/** askFromChild asks the front as nginx would from another process, while this thread is held up for `blockMs`; returns the answer and how long it took. */
async function askFromChild(email: string, secret: string, blockMs: number): Promise<{ status: string; ms: number }> {
  const script = `
    const http = require('node:http');
    const started = Date.now();
    const headers = { 'X-Mailauth-Secret': ${JSON.stringify(SECRET)}, 'Auth-Method': 'plain', 'Auth-Protocol': 'imap', 'Auth-Login-Attempt': '1',
      'Auth-User': ${JSON.stringify(encodeURIComponent(email))}, 'Auth-Pass': ${JSON.stringify(encodeURIComponent(secret))}, 'Client-IP': '192.0.2.20' };
    http.get(${JSON.stringify(url)} + '/mailauth/nginx', { agent: false, headers }, (res) => {
      res.resume();
      console.log(JSON.stringify({ status: res.headers['auth-status'], ms: Date.now() - started }));
    });`;
  const out = new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', script], (err, stdout) => (err ? reject(err) : resolve(stdout))));
  const until = Date.now() + blockMs;
  while (Date.now() < until);
  return JSON.parse(await out) as { status: string; ms: number };
}

/** nginxAsks asks `target` as nginx does, with this suite's secret unless told otherwise. */
function nginxAsks(target: string | TestApp['app'], user: string, pass: string, secret = SECRET) {
  return askAsNginx(target, user, pass, { secret, ip: '192.0.2.20' });
}

function dovecotAsks(form: string | Record<string, string>, secret = SECRET) {
  return supertest(url).post('/mailauth/dovecot').set('X-Mailauth-Secret', secret).type('form').send(form);
}

describe('with MAILAUTH_LISTEN set', () => {
  test('the public web app answers 404 to nginx and Dovecot, even with the right secret and password', async () => {
    const { email, secret } = await withAppPassword();
    const nginx = await nginxAsks(t.app, email, secret);
    assert.equal(nginx.status, 404);
    assert.equal(nginx.headers['auth-status'], undefined);
    assert.equal(nginx.headers['auth-pass'], undefined);
    const dovecot = await supertest(t.app)
      .post('/mailauth/dovecot')
      .set('X-Mailauth-Secret', SECRET)
      .type('form')
      .send({ user: email, password: secret, protocol: 'imap', client_ip: '192.0.2.20' });
    assert.equal(dovecot.status, 404);
  });

  test('its own address answers nginx and Dovecot, and nothing else', async () => {
    const { email, secret } = await withAppPassword();
    const nginx = await nginxAsks(url, email, secret);
    assert.equal(nginx.headers['auth-status'], 'OK');
    assert.equal(nginx.headers['auth-server'], '127.0.0.1');
    assert.equal(nginx.headers['auth-port'], '10143');
    assert.equal(nginx.headers['auth-user'], `${email}*postern`);
    const wrong = await nginxAsks(url, email, 'not-the-app-password');
    assert.equal(wrong.headers['auth-status'], 'Authentication failed.');
    const dovecot = await dovecotAsks({ user: email, password: secret, protocol: 'imap', client_ip: '192.0.2.20' });
    assert.equal(dovecot.status, 200);
    assert.equal(dovecot.text, email);
    for (const path of ['/', '/login', '/healthz', '/static/app.css', '/mailauth/nginx/']) assert.equal((await supertest(url).get(path)).status, 404, path);
    assert.equal((await supertest(url).post('/mailauth/nginx')).status, 404, 'nginx asks with GET only');
  });

  test('callers without the secret, oversized and repeated fields get no verdict', async () => {
    const { email, secret } = await withAppPassword();
    const stranger = await nginxAsks(url, email, secret, 'a-guess');
    assert.equal(stranger.status, 401);
    assert.equal(stranger.headers['auth-status'], 'Temporary authentication failure. Try again later.');
    assert.equal(stranger.headers['auth-user'], undefined);
    assert.equal((await dovecotAsks({ user: email, password: secret, protocol: 'imap' }, 'a-guess')).status, 401);
    const huge = await dovecotAsks({ user: email, password: 'x'.repeat(1024 * 1024), protocol: 'imap' }).catch((err: { code?: string }) => ({ status: err.code }));
    assert.ok(huge.status === 413 || huge.status === 'EPIPE' || huge.status === 'ECONNRESET', `a 1 MB form: ${huge.status}`);
    assert.equal((await dovecotAsks(`user=${encodeURIComponent(email)}&user=other%40example.test&password=${secret}&protocol=imap`)).status, 400);
    // The front still answers after all that.
    assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
  });

  test('300 logins arriving at once are all answered within nginx’s 5 s while the main thread is busy', async () => {
    // The main thread busy in 40 ms stretches, as when hundreds of logins reconnect: one connection accepted per
    // stretch would take 12 s for 300. Each asks without a method, which is refused without touching the store.
    const busy = setInterval(() => {
      const until = Date.now() + 40;
      while (Date.now() < until);
    }, 1);
    try {
      const script = `
        const http = require('node:http');
        const started = Date.now(); let answered = 0; let slowest = 0;
        const ask = () => new Promise((done) => {
          const req = http.get(${JSON.stringify(url)} + '/mailauth/nginx', { agent: false, headers: { 'X-Mailauth-Secret': ${JSON.stringify(SECRET)}, 'Auth-Protocol': 'imap', 'Auth-User': 'x' } }, (res) => {
            res.resume();
            if (res.headers['auth-status']) answered++;
            slowest = Math.max(slowest, Date.now() - started);
            done();
          });
          req.setTimeout(5000, () => { req.destroy(); done(); });
          req.on('error', () => done());
        });
        Promise.all(Array.from({ length: 300 }, ask)).then(() => console.log(JSON.stringify({ answered, slowest })));`;
      const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', script], (err, stdout) => (err ? reject(err) : resolve(stdout))));
      const { answered, slowest } = JSON.parse(out) as { answered: number; slowest: number };
      assert.equal(answered, 300, `answered ${answered} of 300, the last after ${slowest} ms`);
    } finally {
      clearInterval(busy);
    }
  });
});

describe('repeat logins answered by the front’s thread', () => {
  test('a client reconnecting with what it proved is answered while the main thread is held up', async () => {
    const { email, secret } = await withAppPassword();
    assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
    // The main thread does nothing for 3 s; the reconnect is answered long before.
    const { status, ms } = await askFromChild(email, secret, 3000);
    assert.equal(status, 'OK');
    assert.ok(ms < 2000, `answered after ${ms} ms`);
    // A password never proved is not answered by the thread: it waited for the main thread.
    const other = await withAppPassword();
    const stranger = await askFromChild(other.email, other.secret, 1500);
    assert.equal(stranger.status, 'OK');
    assert.ok(stranger.ms >= 1000, `a first login was answered after ${stranger.ms} ms, without the main thread`);
  });

  test('each login the thread admits is audited and noted on the password; a login repeated at once is one line with its count', async () => {
    const { user, email, secret, id } = await withAppPassword();
    const admitted = async () => (await new MailLogins(t.s.db).report()).admitted;
    const before = await admitted();
    assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
    // A client reconnecting in a loop: 60 logins at once.
    const answers = await Promise.all(Array.from({ length: 60 }, () => nginxAsks(url, email, secret)));
    assert.ok(answers.every((a) => a.headers['auth-status'] === 'OK'));
    await soon(async () => {
      const logins = (await eventsOf(t.s, user.id)).filter((e) => e.event === 'mail.login_ok');
      const counted = logins.reduce((n, e) => n + ((e.details as { count?: number }).count ?? 1), 0);
      assert.equal(counted, 61, 'every login counted');
      assert.ok(logins.length < 61, `${logins.length} lines for 61 logins`);
      for (const e of logins) assert.deepEqual([e.ip, (e.details as { credential?: string }).credential], ['192.0.2.20', id]);
    });
    assert.equal(await admitted(), before + 61, 'the console counts each login');
    const [row] = await t.s.appPasswords.list(user.id);
    assert.equal(row?.lastUsedIp, '192.0.2.20');
  });

  test('a revoked password is refused at the next login, though its answer was held', async () => {
    const { user, email, secret, id } = await withAppPassword();
    for (let i = 0; i < 3; i++) assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
    await t.s.appPasswords.revoke(user, id);
    await soon(async () => assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'Authentication failed.'));
    for (let i = 0; i < 3; i++) assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'Authentication failed.');
  });

  test('a change straight in the database reaches the held answers too', async () => {
    const { email, secret, id } = await withAppPassword();
    for (let i = 0; i < 3; i++) assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
    await t.s.db.execute(sql`delete from app_passwords where id = ${id}`);
    await soon(async () => assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'Authentication failed.'));
  });

  test('while change notifications are down, the thread answers nothing it held', async () => {
    const { email, secret, id } = await withAppPassword();
    for (let i = 0; i < 3; i++) assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
    t.s.mailAuth.notificationsLive(false);
    try {
      // Deleted with no notification to announce it: only a fresh look at the database can tell.
      await t.s.db.execute(sql`delete from app_passwords where id = ${id}`);
      assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'Authentication failed.');
    } finally {
      t.s.mailAuth.notificationsLive(true);
    }
  });

  test('a held answer ends with the password’s expiry', async () => {
    const { email, secret } = await withAppPassword(new Date(Date.now() + 1500));
    for (let i = 0; i < 3; i++) assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'OK');
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await nginxAsks(url, email, secret)).headers['auth-status'], 'Authentication failed.');
  });

  test('while the audit log falls behind, the thread stops answering and the main thread decides again', async () => {
    const { email, secret } = await withAppPassword();
    // Audit lines that are never written, and a thread that may admit three logins ahead of them.
    const stalled = mock.method(t.s.mailAuth, 'auditWritten', () => new Promise<void>(() => {}));
    const small = await startMailauthFront(t.s, { host: '127.0.0.1', port: 0 }, 3);
    const decided = mock.method(t.s.mailAuth, 'authenticate');
    try {
      const at = `http://127.0.0.1:${small.port}`;
      for (let i = 0; i < 8; i++) assert.equal((await nginxAsks(at, email, secret)).headers['auth-status'], 'OK');
      // The first login, then three held, then every one after them: 1 + 4 decided by the main thread.
      assert.equal(decided.mock.callCount(), 5);
    } finally {
      decided.mock.restore();
      stalled.mock.restore();
      await small.close();
    }
  });
});
