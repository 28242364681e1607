import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../test/helpers/client.ts';
import { appPasswords } from '../db/schema/index.ts';
import { ALPHABET, ENTROPY_BITS, generateSecret } from './secret.ts';

let t: TestApp;
before(async () => {
  t = await startApp({ MAIL_CLIENT_HOST: 'mail.example.edu' });
});
after(() => t.close());

/** create generates a password through the page and returns the secret as shown. */
async function create(c: WebClient, form: Record<string, string> = { name: 'iPhone', imap: 'on', smtp: 'on' }) {
  await c.get('/settings/app-passwords');
  const made = await c.post('/settings/app-passwords', form);
  // The new password is shown once, on the page the form redirects to.
  const res = made.status === 303 && made.headers.location === '/settings/app-passwords/new' ? await c.get(made.headers.location) : made;
  const shown = res.text.match(/<code id="app-password" class="secret">([^<]+)<\/code>/)?.[1];
  return { res, shown };
}

describe('client-specific passwords', () => {
  test('are 16 easy-to-type characters with at least 75 bits', () => {
    assert.ok(ENTROPY_BITS >= 75, `${ENTROPY_BITS} bits`);
    for (const ch of 'il1o0IO') assert.ok(!ALPHABET.includes(ch), `no look-alike ${ch}`);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateSecret();
      assert.match(s, /^[a-z2-9]{16}$/);
      seen.add(s);
    }
    assert.equal(seen.size, 200);
  });

  test('are shown once, in groups of four, and only a hash is stored', async () => {
    const user = await buildUser(t.s, { phone: '+8613300133000' });
    const c = await t.signIn(user.email);
    const { res, shown } = await create(c);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(shown!, /^[a-z2-9]{4} [a-z2-9]{4} [a-z2-9]{4} [a-z2-9]{4}$/);
    const page = textOf(res.text);
    assert.match(page, /This password is shown only now/);
    assert.match(page, /mail\.example\.edu · port 993 · SSL/);
    assert.match(page, /mail\.example\.edu · port 587 · STARTTLS/);
    const secret = shown!.replace(/ /g, '');
    const rows = await t.s.db.select().from(appPasswords).where(eq(appPasswords.userId, user.id));
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(secret), 'not stored in clear');
    assert.match(rows[0]!.hash, /^\$argon2id\$/);
    assert.ok(!t.s.logLines.some((l) => l.includes(secret)), 'not logged');
    assert.ok(!JSON.stringify(await eventsOf(t.s, user.id)).includes(secret), 'not audited');
    const list = await c.get('/settings/app-passwords');
    assert.match(textOf(list.text), /iPhone/);
    assert.ok(!list.text.includes(secret), 'gone after that page');
  });

  test('creating one needs a fresh second-factor check', async () => {
    const user = await buildUser(t.s, { phone: '+8613300133001' });
    const c = await t.signIn(user.email, { trust: true });
    await c.post('/logout');
    // Through the trusted browser: the password only, no fresh code.
    await t.signIn(user.email, { client: c });
    await c.get('/settings/app-passwords');
    const res = await c.post('/settings/app-passwords', { name: 'Foxmail', imap: 'on', smtp: 'on' });
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/settings\/security\/verify\?next=%2Fsettings%2Fapp-passwords&need=sensitive$/);
    assert.equal((await t.s.appPasswords.list(user.id)).length, 0);
  });

  test('without two-step verification the password is the fresh check', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await c.get('/settings/security/verify?next=/settings/app-passwords');
    const wrong = await c.post('/settings/security/verify', { password: 'not it at all', next: '/settings/app-passwords' });
    assert.equal(wrong.status, 401);
    const ok = await c.post('/settings/security/verify', { password: PASSWORD, next: '/settings/app-passwords' });
    assert.equal(ok.headers.location, '/settings/app-passwords');
    const { shown } = await create(c);
    assert.ok(shown);
  });

  test('need a name and at least one protocol, and stop at 20', async () => {
    const user = await buildUser(t.s, { phone: '+8613300133002' });
    const c = await t.signIn(user.email);
    const noName = await create(c, { name: '  ', imap: 'on' });
    assert.equal(noName.res.status, 400);
    assert.match(textOf(noName.res.text), /Give the password a name/);
    const noScope = await create(c, { name: 'x' });
    assert.equal(noScope.res.status, 400);
    assert.match(textOf(noScope.res.text), /Allow it for receiving, sending, or both/);
    for (let i = 0; i < 20; i++) await t.s.appPasswords.create(user, { name: `p${i}`, scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: '' });
    const over = await create(c, { name: 'one too many', imap: 'on' });
    assert.equal(over.res.status, 400);
    assert.match(textOf(over.res.text), /limit of 20/);
  });

  test('scopes and expiry are kept', async () => {
    const user = await buildUser(t.s, { phone: '+8613300133003' });
    const c = await t.signIn(user.email);
    await create(c, { name: 'Reader', imap: 'on', expires: '30' });
    const [row] = await t.s.appPasswords.list(user.id);
    assert.deepEqual(row!.scopes, ['imap']);
    const days = (row!.expiresAt!.getTime() - row!.createdAt.getTime()) / 86400_000;
    assert.ok(Math.abs(days - 30) < 0.01);
    assert.match(textOf((await c.get('/settings/app-passwords')).text), /Reader IMAP/);
  });

  test('the Apple profile is offered for the password just shown, and only with it', async () => {
    const user = await buildUser(t.s, { phone: '+8613300133004' });
    const c = await t.signIn(user.email);
    const { res, shown } = await create(c);
    const id = res.text.match(/name="id" value="([^"]+)"/)![1]!;
    const profile = await c.post('/settings/app-passwords/profile', { id, password: shown! });
    assert.equal(profile.status, 200);
    assert.equal(profile.headers['content-type'], 'application/x-apple-aspen-config; charset=utf-8');
    assert.match(profile.headers['content-disposition']!, /^attachment; filename="mail-[0-9a-f]{8}\.mobileconfig"$/);
    const body = profile.text;
    assert.match(body, /<key>IncomingPassword<\/key><string>[a-z2-9]{16}<\/string>/);
    assert.ok(body.includes(shown!.replace(/ /g, '')));
    assert.match(body, /<key>IncomingMailServerHostName<\/key><string>mail\.example\.edu<\/string>/);
    assert.match(body, /<key>EmailAddress<\/key><string>user\d+-\d+@example\.test<\/string>/);
    const guessed = await c.post('/settings/app-passwords/profile', { id, password: 'abcdabcdabcdabcd' });
    assert.equal(guessed.status, 404);
  });

  test('revoke one, revoke all, and a password change revokes all', async () => {
    const user = await buildUser(t.s, { phone: '+8613300133005' });
    const c = await t.signIn(user.email);
    await create(c, { name: 'Old phone', imap: 'on', smtp: 'on' });
    await create(c, { name: 'Laptop', imap: 'on', smtp: 'on' });
    const [old] = await t.s.appPasswords.list(user.id);
    await c.get('/settings/app-passwords');
    await c.post(`/settings/app-passwords/${old!.id}/revoke`);
    assert.match(textOf((await c.get('/settings/app-passwords')).text), /Revoked “Old phone”/);
    assert.deepEqual((await t.s.appPasswords.list(user.id)).map((p) => p.name), ['Laptop']);
    await c.post('/settings/app-passwords/revoke-all');
    assert.equal((await t.s.appPasswords.list(user.id)).length, 0);
    await create(c, { name: 'Again', imap: 'on', smtp: 'on' });
    await c.get('/settings/password');
    await c.post('/settings/password', { password: 'another long passphrase', confirm: 'another long passphrase' });
    assert.equal((await t.s.appPasswords.list(user.id)).length, 0);
  });

  test('someone else’s password cannot be revoked', async () => {
    const owner = await buildUser(t.s);
    const { row } = await t.s.appPasswords.create(owner, { name: 'mine', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: '' });
    const c = await t.signIn((await buildUser(t.s)).email);
    await c.get('/settings/app-passwords');
    assert.equal((await c.post(`/settings/app-passwords/${row.id}/revoke`)).status, 404);
    assert.equal((await t.s.appPasswords.list(owner.id)).length, 1);
  });
});

describe('autoconfig', () => {
  test('Thunderbird-style autoconfig names the servers and the full address as user name', async () => {
    const res = await t.client().get('/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=someone%40example.edu');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /application\/xml/);
    assert.match(res.text, /<domain>example\.edu<\/domain>/);
    assert.match(res.text, /<incomingServer type="imap">\s*<hostname>mail\.example\.edu<\/hostname>\s*<port>993<\/port>\s*<socketType>SSL<\/socketType>/);
    assert.match(res.text, /<outgoingServer type="smtp">\s*<hostname>mail\.example\.edu<\/hostname>\s*<port>587<\/port>\s*<socketType>STARTTLS<\/socketType>/);
    assert.match(res.text, /<username>%EMAILADDRESS%<\/username>/);
  });
});
