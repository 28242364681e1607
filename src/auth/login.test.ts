import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { ageSessions, buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf } from '../../test/helpers/client.ts';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

const sid = (c: { cookie(n: string): string | undefined }) => c.cookie('postern.sid');

describe('password step', () => {
  test('gives one generic message and status for unknown user, wrong password and disabled account', async () => {
    const user = await buildUser(t.s);
    const disabled = await buildUser(t.s, { disabled: true });
    const answers = [];
    for (const [email, password] of [
      ['nobody@example.test', PASSWORD],
      [user.email, 'wrong password here'],
      [disabled.email, PASSWORD],
    ]) {
      const c = t.client();
      await c.get('/login');
      const res = await c.post('/login', { email: email!, password: password! });
      answers.push({ status: res.status, message: textOf(res.text).match(/The email address or password is incorrect\./)?.[0] });
    }
    assert.deepEqual(answers, Array(3).fill({ status: 401, message: 'The email address or password is incorrect.' }));
    const events = (await eventsOf(t.s)).filter((e) => e.event === 'login.password_failed');
    assert.deepEqual(
      events.map((e) => e.details?.reason),
      ['unknown_user', 'wrong_password', 'disabled'],
    );
  });

  test('signs a user without a phone straight in, with a new session id', async () => {
    const user = await buildUser(t.s);
    const c = t.client();
    await c.get('/login');
    const before = sid(c);
    const res = await c.post('/login', { email: user.email.toUpperCase(), password: PASSWORD });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
    assert.notEqual(sid(c), before);
    const home = await c.get('/');
    assert.match(textOf(home.text), /Welcome, user/);
  });

  test('throttles an account after repeated failures, also for the right password', async () => {
    const user = await buildUser(t.s);
    const c = t.client();
    await c.get('/login');
    for (let i = 0; i < 5; i++) assert.equal((await c.post('/login', { email: user.email, password: 'nope nope nope' })).status, 401);
    const res = await c.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(res.status, 429);
    assert.match(textOf(res.text), /Too many attempts/);
    assert.ok(Number(res.headers['retry-after']) > 0);
  });

  test('throttles a client IP spraying many accounts', async () => {
    const { Regulator } = await import('./regulation.ts');
    const r = new Regulator(t.s.db, { freeFailures: 5, baseDelaySeconds: 2, maxDelaySeconds: 900, lockAfter: 100, lockSeconds: 86400, ipMaxFailures: 3, ipWindowSeconds: 900 });
    const wrong = async () => ({ ok: false });
    for (let i = 0; i < 3; i++) await r.regulated({ kind: 'password', account: `spray${i}@example.test`, ip: '203.0.113.9' }, wrong);
    const verdict = await r.check({ kind: 'password', account: 'fresh@example.test', ip: '203.0.113.9' });
    assert.equal(verdict.allowed, false);
    assert.equal((await r.check({ kind: 'password', account: 'fresh@example.test', ip: '203.0.113.10' })).allowed, true);
  });

  test('locks an account after 100 consecutive failures', async () => {
    const { Regulator } = await import('./regulation.ts');
    const r = new Regulator(t.s.db);
    // A hundred failures, each made after the previous wait ran out.
    let at = Date.now();
    for (let i = 0; i < 100; i++) {
      const attempt = { kind: 'password' as const, account: 'victim@example.test', ip: `198.51.100.${i % 200}` };
      const v = await r.check(attempt, new Date(at));
      if (!v.allowed) at += v.retryAfterSeconds * 1000;
      const outcome = await r.regulated(attempt, async () => ({ ok: false }), new Date(at));
      assert.ok(outcome.allowed, `attempt ${i + 1} is allowed once its wait is over`);
    }
    const verdict = await r.check({ kind: 'password', account: 'victim@example.test', ip: '192.0.2.1' }, new Date(at + 3600_000));
    assert.equal(verdict.allowed, false);
    assert.ok(!verdict.allowed && verdict.retryAfterSeconds > 3600 * 20, 'locked for about a day');
  });
});

describe('code step', () => {
  test('a phone user gets a code, a new session id at each factor, and is signed in', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138000' });
    const c = t.client();
    await c.get('/login');
    const s0 = sid(c);
    const res = await c.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(res.headers.location, '/login/code');
    const s1 = sid(c);
    assert.notEqual(s1, s0);
    const page = await c.get('/login/code');
    assert.match(textOf(page.text), /\+86 138\*\*\*\*8000/);
    assert.equal(t.s.texts.at(-1)!.to, '+8613800138000');
    assert.match(t.s.texts.at(-1)!.body, /^\[Postern\] Your verification code is \d{6}\. It expires in 5 minutes\./);
    const done = await c.post('/login/code', { code: t.s.lastCode() });
    assert.equal(done.status, 303);
    assert.notEqual(sid(c), s1);
    assert.equal((await c.get('/settings/security')).status, 200);
  });

  test('the half-signed-in state reaches only the code page', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138001' });
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    for (const path of ['/', '/settings/security', '/settings/security/devices', '/settings/password', '/account-security', '/settings/app-passwords', '/settings/sharing', '/mail']) {
      const res = await c.get(path);
      assert.equal(res.status, 303, path);
      assert.notEqual(res.headers.location, path);
      assert.match(res.headers.location!, /^\/login/);
    }
    // Forms too: with the code page's token, nothing past the code step may act.
    await c.get('/login/code');
    const texts = t.s.texts.length;
    const posts: Array<[string, Record<string, string>]> = [
      ['/settings/password', { password: 'a takeover passphrase', confirm: 'a takeover passphrase' }],
      ['/settings/security/sms/send', { phone: '+8613800138900' }],
      ['/settings/security/sms/change', { phone: '+8613800138900' }],
      ['/settings/security/sms/unbind', {}],
      ['/settings/security/verify', { password: PASSWORD, next: '/settings/password' }],
      ['/settings/security/verify/send', { next: '/settings/password' }],
      ['/settings/security/devices/revoke-all', {}],
      ['/settings/app-passwords', { name: 'thief', imap: 'on', smtp: 'on' }],
      ['/settings/sharing', { email: user.email, permission: 'send_as' }],
      ['/account-security/send', { phone: '+8613800138900' }],
      ['/mail/compose', { to: 'x@example.test', subject: 'hi', body: 'hi' }],
    ];
    for (const [path, form] of posts) {
      const res = await c.post(path, form);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.location!, /^\/login/, path);
    }
    assert.equal(t.s.texts.length, texts, 'no text was sent');
    assert.equal((await t.s.users.load(user.id))!.passwordHash, user.passwordHash);
    assert.equal((await t.s.appPasswords.list(user.id)).length, 0);
    assert.equal(await t.s.phones.load(user.id), '+8613800138001');
  });

  test('the half-signed-in state expires after ten minutes', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138002' });
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    await c.get('/login/code');
    await ageSessions(t.s, user.id, 11 * 60_000);
    const res = await c.get('/login/code');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/login');
    const code = t.s.lastCode();
    const post = await c.post('/login/code', { code });
    assert.equal(post.status, 303);
    assert.equal(post.headers.location, '/login');
  });

  test('logout ends the session on the server: the old cookie is worthless', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    const cookie = sid(c)!;
    await c.post('/logout');
    const thief = t.client();
    thief.setCookie('postern.sid', cookie);
    const res = await thief.get('/settings/security');
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/login/);
  });
});

describe('redirects and the session store', () => {
  test('a browser that follows the redirect at once finds the code step, even with a slow store', async () => {
    const http = await import('node:http');
    const user = await buildUser(t.s, { phone: '+8613800138009' });
    const store = t.s.sessions;
    const set = store.set.bind(store);
    store.set = (sid, data, cb) => void setTimeout(() => set(sid, data, cb), 300);
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    try {
      const c = t.client();
      await c.get('/login');
      const body = new URLSearchParams({ _csrf: c.csrf, email: user.email, password: PASSWORD }).toString();
      const cookie = `postern_login=${c.cookie('postern_login')}`;
      // Act on the headers the moment they arrive, as a browser does with a 303.
      const location = await new Promise<{ where: string; cookie: string }>((resolve, reject) => {
        const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/login', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          const session = res.headers['set-cookie']?.find((v) => v.startsWith('postern.sid='));
          if (!session) return reject(new Error(`no session cookie with ${res.statusCode}`));
          resolve({ where: res.headers.location!, cookie: session.split(';')[0]! });
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(location.where, '/login/code');
      const next = await new Promise<{ status: number; where?: string }>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: '/login/code', headers: { cookie: location.cookie } }, (res) => {
          resolve({ status: res.statusCode!, where: res.headers.location });
          res.resume();
        }).on('error', reject);
      });
      assert.deepEqual(next, { status: 200, where: undefined });
    } finally {
      store.set = set;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
