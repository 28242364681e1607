import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import argon2 from 'argon2';
import { nginxAsks } from './helpers/nginx-ask.ts';
import { sql } from 'drizzle-orm';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser } from './helpers/factories.ts';
import { appPasswordVerifiers } from '../src/db/schema/index.ts';
import { AuditRetention } from '../src/audit/retention.ts';
import { createLogger } from '../src/log.ts';

const SECRET = 'verifier-mailauth-secret-0123456789';
const ENV = { MAILAUTH_SECRET: SECRET, IMAP_HOST: '127.0.0.1', IMAP_PORT: '10143', MAIL_MASTER_USER: 'postern', MAIL_MASTER_PASSWORD: 'master-pw-123' };

function asker(t: TestApp) {
  return (user: string, pass: string, ip = '192.0.2.50') => nginxAsks(t.app, user, pass, { secret: SECRET, ip }).then((r) => r.headers['auth-status']);
}

describe('a restarted node admits clients it verified lately without hashing again', () => {
  let t: TestApp;
  let ask: ReturnType<typeof asker>;
  before(async () => {
    t = await startApp(ENV);
    ask = asker(t);
  });
  after(() => t.close());

  const withPassword = async () => {
    const user = await buildUser(t.s);
    const { secret, row } = await t.s.appPasswords.create(user, { name: 'Phone', scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: 'test' });
    return { user, secret, id: row.id };
  };
  /** restart forgets what the process remembered; the database stays. */
  const restart = () => t.s.mailAuth.cache.clear();

  test('the same client from the same address is admitted with no argon2 verification', async () => {
    const { user, secret } = await withPassword();
    assert.equal(await ask(user.email, secret), 'OK');
    restart();
    const verify = mock.method(argon2, 'verify');
    try {
      assert.equal(await ask(user.email, secret), 'OK');
      assert.equal(verify.mock.callCount(), 0);
      // Another address proves nothing yet: it is hashed (and throttled) like any first login.
      assert.equal(await ask(user.email, secret, '192.0.2.51'), 'OK');
      assert.equal(verify.mock.callCount(), 1);
    } finally {
      verify.mock.restore();
    }
  });

  test('a revoked password, a disabled owner or a narrowed scope is not recalled', async () => {
    const a = await withPassword();
    assert.equal(await ask(a.user.email, a.secret), 'OK');
    await t.s.appPasswords.revoke(a.user, a.id);
    restart();
    assert.equal(await ask(a.user.email, a.secret), 'Authentication failed.');

    const b = await withPassword();
    assert.equal(await ask(b.user.email, b.secret), 'OK');
    await t.s.db.execute(sql`update users set disabled = true where id = ${b.user.id}`);
    restart();
    assert.equal(await ask(b.user.email, b.secret), 'Authentication failed.');

    const c = await withPassword();
    assert.equal(await ask(c.user.email, c.secret), 'OK');
    await t.s.db.execute(sql`update app_passwords set scopes = '{smtp}' where id = ${c.id}`);
    restart();
    assert.notEqual(await ask(c.user.email, c.secret), 'OK');
  });

  test('a wrong password is never recalled, even from an address the right one came from', async () => {
    const { user, secret } = await withPassword();
    assert.equal(await ask(user.email, secret), 'OK');
    restart();
    const wrong = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    assert.equal(await ask(user.email, wrong), 'Authentication failed.');
  });

  test('the database holds neither the password nor anything that names it without the key', async () => {
    const { user, secret } = await withPassword();
    assert.equal(await ask(user.email, secret), 'OK');
    await new Promise((r) => setTimeout(r, 50));
    const rows = await t.s.db.select().from(appPasswordVerifiers);
    assert.ok(rows.length > 0);
    const bare = secret.replace(/\s/g, '');
    for (const r of rows) {
      assert.ok(!r.key.includes(bare) && !r.key.includes(secret));
      assert.match(r.key, /^[A-Za-z0-9_-]{43}$/, 'an HMAC-SHA256, nothing else');
      assert.ok(r.expiresAt.getTime() - Date.now() <= 24 * 3600_000 + 1000, 'it lasts a day');
    }
  });

  test('expired verifiers are deleted by the daily clean-up, and an expired one admits nobody', async () => {
    const { user, secret } = await withPassword();
    assert.equal(await ask(user.email, secret), 'OK');
    await new Promise((r) => setTimeout(r, 50));
    await t.s.db.execute(sql`update app_password_verifiers set expires_at = now() - interval '1 second'`);
    restart();
    const verify = mock.method(argon2, 'verify');
    try {
      assert.equal(await ask(user.email, secret), 'OK');
      assert.equal(verify.mock.callCount(), 1, 'hashed again');
    } finally {
      verify.mock.restore();
    }
    await new Promise((r) => setTimeout(r, 50));
    await t.s.db.execute(sql`update app_password_verifiers set expires_at = now() - interval '1 second'`);
    const run = await new AuditRetention({ store: t.s.store, days: 365, log: createLogger('silent') }).runOnce();
    assert.ok(run.verifiers >= 1, JSON.stringify(run));
    assert.equal((await t.s.db.select().from(appPasswordVerifiers)).length, 0);
  });
});

describe('with the login cache turned off', () => {
  test('no verifier is stored and every login is hashed', async () => {
    const t = await startApp({ ...ENV, MAIL_LOGIN_CACHE_SECONDS: '0' });
    try {
      const ask = asker(t);
      const user = await buildUser(t.s);
      const { secret } = await t.s.appPasswords.create(user, { name: 'Phone', scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: 'test' });
      const verify = mock.method(argon2, 'verify');
      try {
        assert.equal(await ask(user.email, secret), 'OK');
        assert.equal(await ask(user.email, secret), 'OK');
        assert.equal(verify.mock.callCount(), 2);
      } finally {
        verify.mock.restore();
      }
      assert.equal((await t.s.db.select().from(appPasswordVerifiers)).length, 0);
    } finally {
      await t.close();
    }
  });
});
