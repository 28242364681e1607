import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser } from './helpers/factories.ts';
import type { WebClient } from './helpers/client.ts';
import { collectRoutes, concrete } from './helpers/routes.ts';

/**
 * Random and malformed input to every form route and to the nginx mail-login
 * endpoint: nothing may answer 5xx (but 503 where the mail backend is said to
 * be missing), leak a stack trace, log at error level, or make memory grow
 * without bound. The seed is printed so a failure can be replayed with FUZZ_SEED.
 */

const SECRET = 'mailauth-secret-for-fuzzing';
// A fixed seed keeps every run of the suite the same; FUZZ_SEED=random explores, FUZZ_SEED=<n> replays.
const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() % 1_000_000 : Number(process.env.FUZZ_SEED ?? 20_261_202);

let t: TestApp;
before(async () => {
  t = await startApp(
    { MAILAUTH_SECRET: SECRET, MAIL_MASTER_USER: 'postern', MAIL_MASTER_PASSWORD: 'master-secret' },
    // Fuzzing sends many bad attempts from one address: no waits, so every body reaches its handler.
    { rules: { freeFailures: 1_000_000, baseDelaySeconds: 1, maxDelaySeconds: 1, lockAfter: 1_000_000, lockSeconds: 1, ipMaxFailures: 1_000_000, ipWindowSeconds: 1 } },
  );
});
after(() => t.close());

/** mulberry32: a small seeded generator, so a failing run can be repeated exactly. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  return { next, int, pick };
}

const FIELDS = ['email', 'password', 'code', 'phone', 'confirm', 'next', 'trust', 'keepOthers', 'name', 'imap', 'smtp', 'expires', 'permission', 'to', 'cc', 'bcc', 'subject', 'body', 'inReplyTo', 'references', 'srcFolder', 'srcUid', 'keep', 'draftUid', 'seen', 'id', 'user', 'protocol'];

const NASTY = [
  '',
  ' ',
  '\0',
  'a\0b',
  '%00',
  '%',
  '%E0%A4%A',
  '\r\nSet-Cookie: x=1',
  '\u202e\u0000\uffff',
  '😀'.repeat(50),
  '<script>alert(1)</script>',
  "' or 1=1 --",
  '../../../../etc/passwd',
  '<a@b>'.repeat(60) + 'x',
  '(a+)+$',
  '1e309',
  '-1',
  '4294967296',
  'NaN',
  '[]',
  '{}',
  'on',
  'never',
  'send_as',
  '00000000-0000-4000-8000-000000000000',
  '+8613500135000',
  'user*postern',
  '\\\\evil',
  '//evil.example',
];

/** escape percent-encodes the UTF-8 bytes of any string, lone surrogates included, the way a client's bytes reach nginx. */
function escape(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => (/[\w.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`)).join('');
}

function randomString(g: ReturnType<typeof generator>): string {
  switch (g.int(6)) {
    case 0:
      return g.pick(NASTY);
    case 1:
      return 'x'.repeat(g.pick([1, 100, 5000, 40_000]));
    case 2:
      return Array.from({ length: g.int(64) }, () => String.fromCharCode(g.int(0x3000))).join('');
    case 3:
      return Array.from({ length: g.int(32) }, () => String.fromCharCode(g.int(256))).join('');
    case 4:
      return String(g.int(2 ** 33) - 2 ** 32);
    default:
      return g.pick(NASTY) + g.pick(NASTY);
  }
}

/** randomBody builds one raw body: form fields with repeated keys (arrays), odd encodings, or a stray content type. */
function randomBody(g: ReturnType<typeof generator>, csrf: string): { type: string; body: string } {
  const kind = g.int(10);
  if (kind === 0) return { type: 'application/json', body: JSON.stringify({ _csrf: csrf, email: [randomString(g)], password: { $ne: null } }) };
  if (kind === 1) return { type: 'text/plain', body: randomString(g) };
  if (kind === 2) return { type: 'application/x-www-form-urlencoded', body: `_csrf=${encodeURIComponent(csrf)}&` + '%'.repeat(g.int(20)) + '&=&&==' };
  if (kind === 3) return { type: 'multipart/form-data; boundary=zzz', body: `--zzz\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrf}\r\n--zzz\r\n${randomString(g)}` };
  const parts = [`_csrf=${encodeURIComponent(csrf)}`];
  const n = g.int(8);
  for (let i = 0; i < n; i++) {
    const field = g.next() < 0.8 ? g.pick(FIELDS) : randomString(g).slice(0, 30);
    const value = randomString(g);
    const encoded = g.next() < 0.9 ? escape(value) : value.replace(/[&=]/g, '');
    parts.push(`${escape(field)}=${encoded}`);
    if (g.next() < 0.2) parts.push(`${escape(field)}=${escape(randomString(g))}`);
  }
  return { type: 'application/x-www-form-urlencoded', body: parts.join('&') };
}

describe('fuzzing', () => {
  test(`2,000+ malformed bodies to every form route leave the process healthy (seed ${SEED})`, async () => {
    const g = generator(SEED);
    const posts = collectRoutes(t.app)
      .routes.filter((r) => r.mount !== '/mailauth')
      .flatMap((r) => r.methods.filter((m) => m === 'POST').map(() => concrete(r.path)));
    assert.ok(posts.length > 25);

    const clients: WebClient[] = [];
    // A user without a phone signs in with the password alone, however many texts the fuzzing asked for;
    // a new one each time, since a body may well have changed the last one's password.
    const fresh = async (): Promise<WebClient> => {
      const c = await t.signIn((await buildUser(t.s)).email);
      await t.stepUp(c);
      return c;
    };
    const anonymous = t.client();
    await anonymous.get('/login');
    clients.push(anonymous, await fresh());

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let sent = 0;
    const problems: string[] = [];
    while (sent < 2100) {
      const path = g.pick(posts);
      let c = g.next() < 0.2 ? clients[0]! : clients[1]!;
      const { type, body } = randomBody(g, c.csrf);
      const res = await c.agent.post(path).set('content-type', type).send(body);
      sent += 1;
      const mailDown = res.status === 503 && path.startsWith('/mail');
      if (res.status >= 500 && !mailDown) problems.push(`${res.status} for POST ${path} with ${type}: ${body.slice(0, 120)}`);
      if (/at [\w.<>]+ \(|\.ts:\d+:\d+|node_modules/.test(res.text ?? '')) problems.push(`stack trace in the answer to POST ${path}`);
      // Some bodies sign the client out or end its session (a valid logout, a password change): start again.
      if (c !== clients[0] && res.headers.location?.startsWith('/login')) {
        c = await fresh();
        clients[1] = c;
      }
    }
    assert.deepEqual(problems.slice(0, 10), []);
    const errors = t.s.logLines.filter((l) => l.includes('"level":"error"'));
    assert.deepEqual(errors.slice(0, 5), []);
    global.gc?.();
    const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    assert.ok(grown < 200, `RSS grew by ${grown.toFixed(0)} MB`);
    assert.equal((await t.client().get('/login')).status, 200, 'the process still answers');
  });

  test(`1,000 hostile nginx mail-login requests: no OK, no injected header (seed ${SEED})`, async () => {
    const g = generator(SEED + 1);
    const user = await buildUser(t.s);
    const problems: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const headerValue = () => {
        const raw = randomString(g).slice(0, g.pick([10, 200, 2048]));
        // Raw CR, LF and NUL cannot be sent in a header; nginx passes them URL-escaped, as here.
        return escape(raw).slice(0, 2048) + g.pick(['', '%0d%0aX-Injected:%201', '%00', '*postern', '%2a' + 'postern']);
      };
      const res = await t.client()
        .agent.get('/mailauth/nginx')
        .set({
          'x-mailauth-secret': g.next() < 0.9 ? SECRET : headerValue(),
          'auth-method': g.pick(['plain', 'login', 'cram-md5', headerValue()]),
          'auth-protocol': g.pick(['imap', 'smtp', 'pop3', headerValue()]),
          'auth-user': g.next() < 0.3 ? encodeURIComponent(user.email) + headerValue() : headerValue(),
          'auth-pass': headerValue(),
          'auth-login-attempt': g.pick(['1', '2', '-1', 'x', '99999999999']),
          'client-ip': g.pick(['127.0.0.1', '::1', headerValue(), '300.1.1.1']),
        });
      const status = res.headers['auth-status'];
      if (status === 'OK') problems.push(`OK for request ${i}`);
      if (!status) problems.push(`no Auth-Status for request ${i}`);
      if (res.headers['x-injected'] !== undefined || /[\r\n]/.test(String(status))) problems.push(`injected header in answer ${i}`);
      if (res.status >= 500) problems.push(`${res.status} for request ${i}`);
    }
    assert.deepEqual(problems.slice(0, 10), []);
  });
});
