import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf } from '../../test/helpers/client.ts';

let t: TestApp;
before(async () => {
  // Fuzzing sends many bad logins from one address: give the per-IP limit room.
  t = await startApp({}, { rules: { freeFailures: 1000, baseDelaySeconds: 1, maxDelaySeconds: 1, lockAfter: 100000, lockSeconds: 1, ipMaxFailures: 100000, ipWindowSeconds: 1 } });
});
after(() => t.close());

/** cookiesOf lists the Set-Cookie lines of a response. */
const cookiesOf = (res: { headers: Record<string, unknown> }): string[] => ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? []);

/** Every form endpoint, as routes.ts declares them. */
const POSTS = [
  '/login',
  '/login/code',
  '/login/code/resend',
  '/logout',
  '/account-security/send',
  '/account-security/confirm',
  '/settings/security/sms/send',
  '/settings/security/sms/change',
  '/settings/security/sms/confirm',
  '/settings/security/sms/unbind',
  '/settings/security/verify/send',
  '/settings/security/verify',
  '/settings/security/devices/revoke-all',
  '/settings/security/devices/00000000-0000-0000-0000-000000000000/revoke',
  '/settings/password',
];

describe('CSRF', () => {
  test('a form posted without the token is refused and changes nothing', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    for (const path of POSTS) {
      const res = await c.agent.post(path).type('form').send({ email: user.email, password: PASSWORD, phone: '+8613500135000' });
      assert.equal(res.status, 403, path);
      assert.match(textOf(res.text), /This form has expired/, path);
    }
    assert.equal((await c.get('/settings/security')).status, 200, 'still signed in: logout was refused too');
  });

  test('a token from another session is refused', async () => {
    const a = t.client();
    await a.get('/login');
    const b = t.client();
    await b.get('/login');
    const res = await b.agent.post('/login').type('form').send({ _csrf: a.csrf, email: 'x@example.test', password: 'y' });
    assert.equal(res.status, 403);
  });

  test('a request a browser marks cross-site is refused even with a token', async () => {
    const c = t.client();
    await c.get('/login');
    const res = await c.agent.post('/login').set('sec-fetch-site', 'cross-site').type('form').send({ _csrf: c.csrf, email: 'x@example.test', password: 'y' });
    assert.equal(res.status, 403);
    const res2 = await c.agent.post('/login').set('origin', 'https://evil.example').type('form').send({ _csrf: c.csrf, email: 'x@example.test', password: 'y' });
    assert.equal(res2.status, 403);
  });
});

describe('headers and cookies', () => {
  test('pages carry a strict CSP, nosniff, no-referrer and deny framing', async () => {
    const res = await t.client().get('/login');
    const csp = res.headers['content-security-policy']!;
    for (const d of ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'self'", "default-src 'self'"]) assert.ok(csp.includes(d), d);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-powered-by'], undefined);
  });

  test('the session cookie is HttpOnly and SameSite=Lax, Secure with __Host- over https', async () => {
    const user = await buildUser(t.s);
    const signIn = async (c: ReturnType<TestApp['client']>) => {
      await c.get('/login');
      const res = await c.post('/login', { email: user.email, password: PASSWORD });
      return cookiesOf(res).find((v) => v.includes('postern.sid='))!;
    };
    const cookie = await signIn(t.client());
    assert.match(cookie, /^postern\.sid=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    const https = await startApp({ PUBLIC_URL: 'https://mail.example.test', TRUST_PROXY: 'loopback' });
    try {
      const c = https.client({ 'x-forwarded-proto': 'https' });
      const res = await c.get('/login');
      assert.match(res.headers['set-cookie']![0]!, /^__Host-postern_login=.*; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      assert.match(res.headers['strict-transport-security']!, /max-age=31536000/);
      const user2 = await buildUser(https.s);
      const post = await c.agent
        .post('/login')
        .set({ 'x-forwarded-proto': 'https', cookie: `__Host-postern_login=${res.headers['set-cookie']![0]!.split(';')[0]!.split('=')[1]}` })
        .type('form')
        .send({ _csrf: c.csrf, email: user2.email, password: PASSWORD });
      const session = cookiesOf(post).find((v) => v.startsWith('__Host-postern.sid='))!;
      assert.match(session, /Secure/);
      assert.match(session, /Path=\//);
      assert.match(session, /HttpOnly/);
    } finally {
      await https.close();
    }
  });

  test('X-Forwarded-For is ignored unless a trusted proxy is configured', async () => {
    const user = await buildUser(t.s);
    const c = t.client({ 'x-forwarded-for': '203.0.113.77' });
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    const events = await t.s.audit.recentForUser(user.id);
    assert.ok(events.length > 0);
    for (const e of events) assert.notEqual(e.ip, '203.0.113.77');
  });
});

describe('bad input', () => {
  const junk = (): Record<string, string> => {
    const out: Record<string, string> = {};
    const n = 1 + (randomBytes(1)[0]! % 6);
    for (let i = 0; i < n; i++) out[randomBytes(4).toString('hex')] = randomBytes(1 + (randomBytes(1)[0]! % 64)).toString('latin1');
    return out;
  };
  const fields = ['email', 'password', 'code', 'phone', 'confirm', 'next', 'trust', 'endOthers'];

  test('random and oversized form bodies to every POST give 4xx with a message, never a 500', async () => {
    const user = await buildUser(t.s, { phone: '+8613500135001' });
    const signedIn = await t.signIn(user.email);
    const anonymous = t.client();
    await anonymous.get('/login');
    for (const c of [anonymous, signedIn]) {
      for (const path of POSTS) {
        const bodies: Array<Record<string, string> | string> = [
          junk(),
          Object.fromEntries(fields.map((f) => [f, randomBytes(200).toString('base64')])),
          Object.fromEntries(fields.map((f) => [f, 'x'.repeat(5000)])),
          'a'.repeat(40_000),
          Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, 'v'])),
          '%%%%&&&===',
        ];
        for (const body of bodies) {
          const req = c.agent.post(path).type('form');
          const res = typeof body === 'string' ? await req.send(`_csrf=${encodeURIComponent(c.csrf)}&${body}`) : await req.send({ _csrf: c.csrf, ...body });
          assert.ok(res.status < 500, `${path} answered ${res.status}`);
          if (res.status >= 400) assert.ok(textOf(res.text).length > 20, `${path} ${res.status} explains itself`);
          assert.doesNotMatch(res.text, /at .*\.ts:\d+|Error:/, `${path} leaks no stack trace`);
        }
        // Some of those posts may sign the client out or move it on; reload a form to keep a valid token.
        await c.get(c === anonymous ? '/login' : '/settings/security');
      }
    }
    const bigJson = await anonymous.agent.post('/login').set('content-type', 'application/json').send('{"email": "' + 'a'.repeat(100_000) + '"}');
    assert.ok(bigJson.status >= 400 && bigJson.status < 500);
  });

  test('unknown pages give a 404 page, not a stack', async () => {
    const res = await t.client().get('/no/such/page');
    assert.equal(res.status, 404);
    assert.match(textOf(res.text), /This page does not exist/);
  });

  test('open redirects through ?next= are refused', async () => {
    const user = await buildUser(t.s);
    const c = t.client();
    await c.get('/login?next=//evil.example/x');
    const res = await c.post('/login', { email: user.email, password: PASSWORD, next: '//evil.example/x' });
    assert.equal(res.headers.location, '/');
  });
});

describe('the sign-in form', () => {
  test('visiting the login page stores no session, and the form still needs its token', async () => {
    const { sessions } = await import('../db/schema/index.ts');
    const { count } = await import('drizzle-orm');
    const rows = async () => (await t.s.db.select({ n: count() }).from(sessions))[0]!.n;
    const before = await rows();
    const visitors = Array.from({ length: 5 }, () => t.client());
    for (const v of visitors) assert.equal((await v.get('/login')).status, 200);
    assert.equal(await rows(), before, 'no session row per anonymous visitor');
    const user = await buildUser(t.s);
    const forged = await visitors[0]!.post('/login', { email: user.email, password: PASSWORD, _csrf: visitors[1]!.csrf });
    assert.equal(forged.status, 403);
    const ok = await visitors[0]!.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(ok.status, 303);
    assert.equal(await rows(), before + 1, 'the session begins with the sign-in');
  });
});
