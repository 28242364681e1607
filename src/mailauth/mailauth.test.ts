import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import argon2 from 'argon2';
import supertest from 'supertest';
import { mailauthEnv, nginxAsks as askAsNginx } from '../../test/helpers/nginx-ask.ts';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD, soon } from '../../test/helpers/factories.ts';
import { sql } from 'drizzle-orm';
import { createApp } from '../http/app.ts';
import { createServices } from '../services.ts';
import { openTestStore, testConfig } from '../../test/helpers/services.ts';
import { createLogger } from '../log.ts';
import { DEFAULT_RULES } from '../auth/regulation.ts';
import type { User } from '../users/repo.ts';
import { MAIL_MESSAGES } from './authenticate.ts';

const SECRET = 'mailauth-shared-secret-0123456789';
// Submission on another host than IMAP: answers for SMTP must name it.
const MAIL_ENV = mailauthEnv(SECRET, { SUBMISSION_HOST: '127.0.0.2' });

let t: TestApp;
before(async () => {
  // A first wait far longer than any test takes: how many parallel guesses get
  // through must not depend on how fast a loaded machine answers them.
  t = await startApp(MAIL_ENV, { rules: { ...DEFAULT_RULES, baseDelaySeconds: 600 } });
});
after(() => t.close());

/** nginxAsks asks as nginx does, this suite's app and secret unless told otherwise. */
function nginxAsks(user: string, pass: string, opts: { protocol?: string; ip?: string; secret?: string | null; app?: TestApp['app'] } = {}) {
  return askAsNginx(opts.app ?? t.app, user, pass, { secret: opts.secret === undefined ? SECRET : opts.secret, protocol: opts.protocol, ip: opts.ip });
}

function dovecotAsks(form: Record<string, string>, secret: string | null = SECRET) {
  const req = supertest(t.app).post('/mailauth/dovecot').type('form').send(form);
  return secret === null ? req : req.set('X-Mailauth-Secret', secret);
}

async function withAppPassword(opts: { phone?: string; scopes?: ('imap' | 'smtp')[]; expiresAt?: Date } = {}): Promise<{ user: User; secret: string; id: string }> {
  const user = await buildUser(t.s, { phone: opts.phone });
  const { secret, row } = await t.s.appPasswords.create(user, { name: 'iPhone', scopes: opts.scopes ?? ['imap', 'smtp'], expiresAt: opts.expiresAt }, { ip: '127.0.0.1', userAgent: 'test' });
  return { user, secret, id: row.id };
}

describe('the nginx auth_http endpoint', () => {
  test('answers only callers with the shared secret', async () => {
    const { user, secret } = await withAppPassword();
    for (const bad of [null, 'wrong-secret-wrong-secret']) {
      const res = await nginxAsks(user.email, secret, { secret: bad });
      assert.notEqual(res.headers['auth-status'], 'OK');
      assert.equal(res.headers['auth-user'], undefined);
      assert.equal(res.headers['auth-pass'], undefined);
    }
  });

  test('admits a client-specific password and hands nginx the master login', async () => {
    const { user, secret } = await withAppPassword({ phone: '+8613200132000' });
    const imap = await nginxAsks(user.email, secret);
    assert.equal(imap.headers['auth-status'], 'OK');
    assert.equal(imap.headers['auth-server'], '127.0.0.1');
    assert.equal(imap.headers['auth-port'], '10143');
    assert.equal(imap.headers['auth-user'], `${user.email}*postern`);
    assert.equal(imap.headers['auth-pass'], 'master-pw-123');
    const smtp = await nginxAsks(user.email.toUpperCase(), secret.toUpperCase().replace(/(.{4})/g, '$1 '), { protocol: 'smtp' });
    assert.equal(smtp.headers['auth-status'], 'OK', 'spaces and case are ignored');
    assert.equal(smtp.headers['auth-server'], '127.0.0.2');
    assert.equal(smtp.headers['auth-port'], '10587');
    const [row] = await t.s.appPasswords.list(user.id);
    assert.equal(row!.lastUsedIp, '192.0.2.10');
    assert.ok(row!.lastUsedAt);
  });

  test('refuses the main password once 2FA is on, pointing to client-specific passwords', async () => {
    const user = await buildUser(t.s, { phone: '+8613200132001' });
    const res = await nginxAsks(user.email, PASSWORD);
    assert.match(res.headers['auth-status']!, /use a client-specific password/);
    const wrong = await nginxAsks(user.email, 'not the password');
    assert.equal(wrong.headers['auth-status'], 'Authentication failed.', 'the hint only follows a right password');
  });

  test('admits the main password without 2FA, until the administrator turns that off', async () => {
    const user = await buildUser(t.s);
    assert.equal((await nginxAsks(user.email, PASSWORD)).headers['auth-status'], 'OK');
    await t.s.users.saveSetting('mail_main_password', 'off');
    try {
      // PostgreSQL announces the change on another connection, a moment after the write.
      await soon(async () => assert.match((await nginxAsks(user.email, PASSWORD, { ip: '192.0.2.11' })).headers['auth-status']!, /client-specific password/));
    } finally {
      await t.s.users.saveSetting('mail_main_password', 'on');
    }
  });

  test('unknown, disabled and wrong all get the same refusal', async () => {
    const disabled = await buildUser(t.s, { disabled: true });
    const { user, secret } = await withAppPassword();
    const answers = await Promise.all([
      nginxAsks('nobody@example.test', secret),
      nginxAsks(disabled.email, PASSWORD),
      nginxAsks(user.email, 'abcdabcdabcdabcd'),
    ]);
    for (const res of answers) assert.equal(res.headers['auth-status'], 'Authentication failed.');
    const smtp = await nginxAsks('nobody@example.test', 'x', { protocol: 'smtp' });
    assert.equal(smtp.headers['auth-error-code'], '535 5.7.8');
  });

  test('refuses a password outside its scope or past its expiry', async () => {
    const reader = await withAppPassword({ scopes: ['imap'] });
    assert.equal((await nginxAsks(reader.user.email, reader.secret)).headers['auth-status'], 'OK');
    assert.equal((await nginxAsks(reader.user.email, reader.secret, { protocol: 'smtp' })).headers['auth-status'], 'Authentication failed.');
    const old = await withAppPassword({ expiresAt: new Date(Date.now() - 1000) });
    assert.equal((await nginxAsks(old.user.email, old.secret)).headers['auth-status'], 'Authentication failed.');
  });

  test('a revoked password stops at the next login, even one answered from the cache', async () => {
    const { user, secret, id } = await withAppPassword();
    assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'OK');
    assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'OK');
    await t.s.appPasswords.revoke(user, id);
    await soon(async () => assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'Authentication failed.'));
  });

  test('a change made anywhere, even straight in the database, reaches cached logins', async () => {
    const { user, secret } = await withAppPassword();
    const plain = await buildUser(t.s);
    for (let i = 0; i < 2; i++) {
      assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'OK');
      assert.equal((await nginxAsks(plain.email, PASSWORD)).headers['auth-status'], 'OK');
    }
    await t.s.db.execute(sql`update users set disabled = true where id = ${user.id}`);
    await soon(async () => assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'Authentication failed.'));
    // Binding a phone turns two-step verification on: the main password stops working in mail apps.
    await t.s.phones.save(plain.id, '+8613200132009');
    await soon(async () => assert.match((await nginxAsks(plain.email, PASSWORD)).headers['auth-status']!, /client-specific password/));
  });

  test('while change notifications are down, nothing is answered from the cache', async () => {
    const { user, secret, id } = await withAppPassword();
    assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'OK');
    t.s.mailAuth.notificationsLive(false);
    const verify = mock.method(argon2, 'verify');
    try {
      // The database is read afresh (the stored verifier spares the hash) ...
      assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'OK');
      assert.equal(verify.mock.callCount(), 0, 'recalled from the database, no hash');
      // ... so a revoke that no notification announced still stops the password at once.
      await t.s.db.execute(sql`delete from app_passwords where id = ${id}`);
      assert.equal((await nginxAsks(user.email, secret)).headers['auth-status'], 'Authentication failed.');
      assert.equal(verify.mock.callCount(), 1, 'checked afresh');
    } finally {
      verify.mock.restore();
      t.s.mailAuth.notificationsLive(true);
    }
  });

  test('costs one argon2 verification at most, and none for a reconnect', async () => {
    const { user, secret } = await withAppPassword({ phone: '+8613200132002' });
    const verify = mock.method(argon2, 'verify');
    try {
      await nginxAsks(user.email, secret, { ip: '192.0.2.20' });
      assert.equal(verify.mock.callCount(), 1, 'first login');
      await nginxAsks(user.email, secret, { ip: '192.0.2.20' });
      await nginxAsks(user.email, secret, { ip: '192.0.2.20', protocol: 'imap' });
      assert.equal(verify.mock.callCount(), 1, 'reconnects cost no hash');
      await nginxAsks(user.email, PASSWORD, { ip: '192.0.2.20' });
      assert.equal(verify.mock.callCount(), 2, 'the main password: one');
      await nginxAsks(user.email, 'zzzzzzzzzzzzzzzz', { ip: '192.0.2.20' });
      assert.equal(verify.mock.callCount(), 3, 'an app-password-shaped miss: one');
    } finally {
      verify.mock.restore();
    }
  });

  test('throttles repeated failures and answers with a wait', async () => {
    const { user, secret } = await withAppPassword();
    for (let i = 0; i < 5; i++) await nginxAsks(user.email, 'wrong-password-' + i, { ip: '198.51.100.7' });
    const res = await nginxAsks(user.email, secret, { ip: '198.51.100.7' });
    assert.match(res.headers['auth-status']!, /Too many failed logins/);
    assert.ok(Number(res.headers['auth-wait']) >= 1);
    const events = await eventsOf(t.s);
    assert.ok(events.some((e) => e.event === 'mail.throttled' && e.account === user.email && e.ip === '198.51.100.7'));
  });

  test('every decision is audited', async () => {
    const { user, secret } = await withAppPassword();
    await nginxAsks(user.email, secret, { ip: '203.0.113.50' });
    await nginxAsks(user.email, 'nope', { ip: '203.0.113.50', protocol: 'smtp' });
    const events = (await eventsOf(t.s, user.id)).filter((e) => e.event.startsWith('mail.'));
    assert.deepEqual(
      events.map((e) => [e.event, e.ip, e.details?.protocol]),
      [
        ['mail.login_ok', '203.0.113.50', 'imap'],
        ['mail.login_failed', '203.0.113.50', 'smtp'],
      ],
    );
  });

  test('hands nginx the canonical mailbox name, whatever variant of it the client typed', async () => {
    const { user, secret } = await withAppPassword();
    for (const typed of [user.email.toUpperCase(), `  ${user.email}\t`, ` ${user.email.replace('user', 'USER')} `]) {
      const res = await nginxAsks(typed, secret, { ip: '192.0.2.40' });
      assert.equal(res.headers['auth-status'], 'OK', JSON.stringify(typed));
      assert.equal(res.headers['auth-user'], `${user.email}*postern`);
    }
    const lookalike = user.email.replace(/^u/, '\uff55');
    assert.equal((await nginxAsks(lookalike, secret, { ip: '192.0.2.40' })).headers['auth-status'], 'Authentication failed.');
  });

  test('thirty parallel guesses at one account cost at most five argon2 verifications', async () => {
    const { user } = await withAppPassword();
    const verify = mock.method(argon2, 'verify');
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => nginxAsks(user.email, `wrong password ${i}`, { ip: '198.51.100.30' })));
      const statuses = answers.map((res) => res.headers['auth-status']);
      assert.ok(verify.mock.callCount() <= 5, `${verify.mock.callCount()} verifications`);
      assert.equal(statuses.filter((s) => s === MAIL_MESSAGES.throttled).length, 30 - verify.mock.callCount());
      assert.ok(!statuses.includes('OK'));
    } finally {
      verify.mock.restore();
    }
  });

  test('hostile header values get neither an OK nor a header of their own', async () => {
    const { user, secret } = await withAppPassword();
    const injected = ['%0d%0aAuth-Status: OK', '%0D%0AAuth-User: x', '%0aX-Injected: 1', '%00', '%', '%E0%A4%A', '%ff%fe', 'x'.repeat(2048)];
    const names = [...injected, ...injected.map((v) => user.email + v), `${user.email}*postern`, `${user.email}%2Apostern`, `postern*${user.email}`];
    const asks = [
      ...names.map((name) => () => nginxAsks(name, secret, { ip: '198.51.100.40' })),
      ...injected.map((v) => () => nginxAsks(user.email, secret, { ip: '198.51.100.41', protocol: `imap${v}` })),
      ...injected.map((v) => () => nginxAsks(user.email, secret, { ip: '198.51.100.41', secret: SECRET + v })),
    ];
    // Each hostile password goes to an account of its own, so every one is really checked rather than throttled.
    for (const v of injected) {
      const victim = await withAppPassword();
      asks.push(() => nginxAsks(victim.user.email, victim.secret + v, { ip: '198.51.100.42' }));
      asks.push(() => nginxAsks(victim.user.email, v, { ip: '198.51.100.42' }));
    }
    const known = new Set(['auth-status', 'auth-wait', 'auth-error-code']);
    for (const ask of asks) {
      const res = await ask().ok(() => true);
      assert.notEqual(res.headers['auth-status'], 'OK');
      assert.notEqual(res.headers['auth-status'], MAIL_MESSAGES.throttled);
      for (const name of Object.keys(res.headers)) assert.ok(!name.startsWith('auth-') || known.has(name), name);
      assert.ok(!('x-injected' in res.headers));
      for (const value of Object.values(res.headers)) assert.doesNotMatch(String(value), /[\r\n\0]/);
    }
  });

  test('fails closed when the database is down: a temporary failure, never OK', async () => {
    const store = await openTestStore();
    const s = await createServices(testConfig(MAIL_ENV), createLogger('silent'), { store });
    const app = createApp(s);
    const user = await s.userService.create({ email: 'down@example.test', password: PASSWORD });
    const { secret } = await s.appPasswords.create(user, { name: 'x', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: '' });
    assert.equal((await nginxAsks(user.email, secret, { app })).headers['auth-status'], 'OK');
    await store.dispose();
    for (const protocol of ['imap', 'smtp']) {
      const res = await nginxAsks(user.email, secret, { app, protocol });
      assert.equal(res.headers['auth-status'], 'Temporary authentication failure. Try again later.');
      if (protocol === 'smtp') assert.equal(res.headers['auth-error-code'], '454 4.7.0');
    }
  });
});

describe('the Dovecot Lua endpoint', () => {
  test('decides plaintext logins by status, with the text for the client in the body', async () => {
    const { user, secret } = await withAppPassword({ phone: '+8613200132003' });
    const ok = await dovecotAsks({ user: user.email, password: secret, protocol: 'imap', client_ip: '192.0.2.30', master: '' });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, user.email);
    const main = await dovecotAsks({ user: user.email, password: PASSWORD, protocol: 'smtp', client_ip: '192.0.2.30', master: '' });
    assert.equal(main.status, 403);
    assert.match(main.text, /use a client-specific password/);
    const wrong = await dovecotAsks({ user: user.email, password: 'nope', protocol: 'imap', client_ip: '192.0.2.30', master: '' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.text, '');
  });

  test('for master logins says only whether the mailbox owner may be opened', async () => {
    const user = await buildUser(t.s);
    const disabled = await buildUser(t.s, { disabled: true });
    assert.equal((await dovecotAsks({ user: user.email, protocol: 'imap', master: 'postern' })).status, 200);
    assert.equal((await dovecotAsks({ user: disabled.email, protocol: 'imap', master: 'postern' })).status, 404);
    assert.equal((await dovecotAsks({ user: 'ghost@example.test', protocol: 'imap', master: 'postern' })).status, 404);
  });

  test('names the canonical mailbox, for password and master logins alike, whatever variant was typed', async () => {
    const { user, secret } = await withAppPassword();
    for (const typed of [user.email.toUpperCase(), `${user.email} `, `\t${user.email.replace('example', 'EXAMPLE')}`]) {
      const password = await dovecotAsks({ user: typed, password: secret, protocol: 'imap', client_ip: '192.0.2.31', master: '' });
      assert.equal(password.status, 200, JSON.stringify(typed));
      assert.equal(password.text, user.email);
      const master = await dovecotAsks({ user: typed, protocol: 'imap', master: 'postern' });
      assert.equal(master.status, 200);
      assert.equal(master.text, user.email);
    }
    const lookalike = user.email.replace(/^u/, '\uff55');
    assert.equal((await dovecotAsks({ user: lookalike, password: secret, protocol: 'imap', client_ip: '192.0.2.31', master: '' })).status, 403);
    assert.equal((await dovecotAsks({ user: lookalike, protocol: 'imap', master: 'postern' })).status, 404);
  });

  test('refuses callers without the secret and malformed requests', async () => {
    const user = await buildUser(t.s);
    assert.equal((await dovecotAsks({ user: user.email, password: PASSWORD, protocol: 'imap' }, null)).status, 401);
    assert.equal((await dovecotAsks({ password: PASSWORD })).status, 400);
  });
});

describe('with PUBLIC_URL set', () => {
  test('the refusal of a main password names the page where client-specific passwords are made, in plain ASCII', async () => {
    const site = await startApp({ ...MAIL_ENV, PUBLIC_URL: 'https://mail.example.edu/' });
    try {
      const user = await buildUser(site.s, { phone: '+8613200132077' });
      const res = await nginxAsks(user.email, PASSWORD, { app: site.app, ip: '192.0.2.99' });
      const text = res.headers['auth-status']!;
      assert.equal(text, `${MAIL_MESSAGES.useAppPassword} https://mail.example.edu/settings/app-passwords`);
      assert.match(text, /^[\x20-\x7e]+$/);
      // A wrong password still learns nothing of the sort.
      const wrong = await nginxAsks(user.email, 'not the password', { app: site.app, ip: '192.0.2.98' });
      assert.equal(wrong.headers['auth-status'], MAIL_MESSAGES.refused);
    } finally {
      await site.close();
    }
  });
});
