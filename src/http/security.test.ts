import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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

describe('CSRF', () => {
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
  // Every form route gets thousands of random bodies in test/fuzz.test.ts; these are the cases seen in the wild.
  test('a NUL byte anywhere in a request is a 400 with a message, never a 500', async () => {
    const user = await buildUser(t.s);
    const c = t.client();
    await c.get('/login');
    const login = await c.post('/login', { email: `${user.email}\0`, password: PASSWORD });
    assert.equal(login.status, 400);
    assert.match(textOf(login.text), /could not be understood/);
    const signedIn = await t.signIn(user.email);
    for (const path of ['/settings/security?x=%00', '/settings/security/devices/%00/revoke', '/mail/shared/%00/folder/INBOX']) {
      const res = await signedIn.get(path);
      assert.equal(res.status, 400, path);
    }
    assert.deepEqual(t.s.logLines.filter((l) => l.includes('"level":"error"')), []);
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
