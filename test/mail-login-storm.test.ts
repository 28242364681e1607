import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import supertest from 'supertest';
import { nginxAsks as askAsNginx } from './helpers/nginx-ask.ts';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser } from './helpers/factories.ts';
import { MAIL_MESSAGES } from '../src/mailauth/authenticate.ts';

const SECRET = 'storm-mailauth-secret-0123456789';

describe('a reconnect storm: more first logins at once than hashes finish within the proxy’s timeout', () => {
  let t: TestApp;
  // One client per user, as after a restart: the per-account throttle has no part in it.
  const accounts: Array<{ email: string; secret: string }> = [];
  before(async () => {
    t = await startApp({
      MAILAUTH_SECRET: SECRET,
      IMAP_HOST: '127.0.0.1',
      IMAP_PORT: '10143',
      MAIL_MASTER_USER: 'postern',
      MAIL_MASTER_PASSWORD: 'master-pw-123',
      // A budget of a few verifications: the queue fills with a handful of logins.
      MAIL_AUTH_QUEUE_MS: '250',
    });
    for (let i = 0; i < 60; i++) {
      const user = await buildUser(t.s);
      const { secret } = await t.s.appPasswords.create(user, { name: 'Phone', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: 'test' });
      accounts.push({ email: user.email, secret });
    }
  });
  after(() => t.close());

  const nginxAsks = (i: number, pass = accounts[i]!.secret) => askAsNginx(t.app, accounts[i]!.email, pass, { secret: SECRET, ip: `198.51.100.${i}` });

  test('the overflow is answered at once with a temporary failure and a wait, and every client is in after retrying', async () => {
    const clients = accounts.map((_, i) => i);
    const first = await Promise.all(clients.map((i) => nginxAsks(i)));
    const admitted = first.filter((r) => r.headers['auth-status'] === 'OK').length;
    const told = first.filter((r) => r.headers['auth-status'] !== 'OK');
    assert.ok(told.length > 0, 'some logins are turned away while the queue is full');
    assert.ok(admitted > 0, 'the queue itself is served');
    for (const r of told) {
      assert.equal(r.headers['auth-status'], MAIL_MESSAGES.tempfail);
      const wait = Number(r.headers['auth-wait']);
      assert.ok(wait >= 1 && wait <= 30, `Auth-Wait ${r.headers['auth-wait']}`);
      assert.equal(r.headers['auth-server'], undefined, 'a turned-away login is never admitted');
      assert.equal(r.headers['auth-pass'], undefined);
    }
    // The clients retry, as nginx lets them after the wait (here a tenth of a second): every one gets in.
    let waiting = clients.filter((_, k) => first[k]!.headers['auth-status'] !== 'OK');
    const until = Date.now() + 60_000;
    while (waiting.length && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      const again = await Promise.all(waiting.map((i) => nginxAsks(i)));
      waiting = waiting.filter((_, k) => again[k]!.headers['auth-status'] !== 'OK');
    }
    assert.deepEqual(waiting, [], 'every client was admitted in the end');
  });

  test('a wrong password is still refused, not queued into success', async () => {
    const r = await nginxAsks(0, 'abcd efgh ijkl mnop');
    assert.notEqual(r.headers['auth-status'], 'OK');
  });

  test('Dovecot’s Lua passdb gets a temporary failure (503) for a turned-away login', async () => {
    const ask = (i: number) =>
      supertest(t.app)
        .post('/mailauth/dovecot')
        .set('X-Mailauth-Secret', SECRET)
        .type('form')
        .send({ user: accounts[i]!.email, password: accounts[i]!.secret, protocol: 'imap', client_ip: `203.0.113.${i}` });
    const answers = await Promise.all(accounts.map((_, i) => ask(i)));
    const statuses = new Set(answers.map((r) => r.status));
    assert.ok(statuses.has(503), `statuses: ${[...statuses].join(', ')}`);
    for (const r of answers) assert.ok(r.status === 200 || r.status === 503, String(r.status));
  });
});
