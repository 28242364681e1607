import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../test/helpers/client.ts';
import { trustedDevices } from '../db/schema/index.ts';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

/** passwordStep signs in with the password only and says where the browser was sent. */
async function passwordStep(c: WebClient, email: string) {
  await c.get('/login');
  const res = await c.post('/login', { email, password: PASSWORD });
  // Load the page the browser was sent to, as a browser would.
  if (res.headers.location) await c.get(res.headers.location);
  return res.headers.location;
}

describe('trusted browsers', () => {
  test('a trusted browser skips the code for seven days, but never the password', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137000' });
    const c = await t.signIn(user.email, { trust: true });
    const token = c.cookie('postern_trust');
    assert.ok(token && token.length >= 43, 'a 256-bit token');
    const [row] = await t.s.db.select().from(trustedDevices).where(eq(trustedDevices.userId, user.id));
    assert.ok(row);
    assert.notEqual(row.tokenHash, token, 'only the hash is stored');
    assert.equal(row.name, 'Chrome on Windows');
    const days = (row.expiresAt.getTime() - row.createdAt.getTime()) / 86400_000;
    assert.equal(Math.round(days * 1000) / 1000, 7);
    await c.post('/logout');
    const texts = t.s.texts.length;
    assert.equal(await passwordStep(c, user.email), '/');
    assert.equal(t.s.texts.length, texts, 'no code was sent');
    await c.post('/logout');
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: 'not the password' })).status, 401);
  });

  test('expiry is fixed from when it was trusted, not sliding', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137001' });
    const c = await t.signIn(user.email, { trust: true });
    const [first] = await t.s.db.select().from(trustedDevices).where(eq(trustedDevices.userId, user.id));
    await c.post('/logout');
    await passwordStep(c, user.email);
    const [second] = await t.s.db.select().from(trustedDevices).where(eq(trustedDevices.userId, user.id));
    assert.equal(second!.expiresAt.getTime(), first!.expiresAt.getTime());
    assert.ok(second!.lastUsedAt);
  });

  test('an expired trusted browser is asked for a code again', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137002' });
    const c = await t.signIn(user.email, { trust: true });
    await c.post('/logout');
    await t.s.db
      .update(trustedDevices)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(trustedDevices.userId, user.id));
    assert.equal(await passwordStep(c, user.email), '/login/code');
  });

  test('user A’s trusted cookie does nothing for user B', async () => {
    const a = await buildUser(t.s, { phone: '+8613700137003' });
    const b = await buildUser(t.s, { phone: '+8613700137004' });
    const ca = await t.signIn(a.email, { trust: true });
    const stolen = ca.cookie('postern_trust')!;
    const cb = t.client();
    cb.setCookie('postern_trust', stolen);
    assert.equal(await passwordStep(cb, b.email), '/login/code');
  });

  test('a forged or garbage cookie is ignored', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137005' });
    const c = t.client();
    c.setCookie('postern_trust', 'x'.repeat(43));
    assert.equal(await passwordStep(c, user.email), '/login/code');
  });

  test('the devices page lists them; cancelling one asks that browser for a code again', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137006' });
    const laptop = await t.signIn(user.email, { trust: true });
    const phone = await t.signIn(user.email, { trust: true, client: t.client({ 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' }) });
    const page = await laptop.get('/settings/security/devices');
    const text = textOf(page.text);
    assert.match(text, /Chrome on Windows/);
    assert.match(text, /Mobile Safari on iOS/);
    const rows = await t.s.db.select().from(trustedDevices).where(eq(trustedDevices.userId, user.id));
    const iphone = rows.find((r) => r.name.includes('iOS'))!;
    const res = await laptop.post(`/settings/security/devices/${iphone.id}/revoke`);
    assert.equal(res.status, 303);
    assert.match(textOf((await laptop.get('/settings/security/devices')).text), /Trust cancelled for Mobile Safari on iOS/);
    await phone.post('/logout');
    assert.equal(await passwordStep(phone, user.email), '/login/code');
    await laptop.post('/logout');
    assert.equal(await passwordStep(laptop, user.email), '/');
  });

  test('nobody can cancel another user’s device', async () => {
    const owner = await buildUser(t.s, { phone: '+8613700137007' });
    await t.signIn(owner.email, { trust: true });
    const [device] = await t.s.db.select().from(trustedDevices).where(eq(trustedDevices.userId, owner.id));
    const other = await t.signIn((await buildUser(t.s)).email);
    await other.get('/settings/security/devices');
    const res = await other.post(`/settings/security/devices/${device!.id}/revoke`);
    assert.equal(res.status, 404);
    assert.equal((await t.s.db.select().from(trustedDevices).where(eq(trustedDevices.id, device!.id))).length, 1);
  });

  test('"Cancel trust for all" and a password change revoke every trusted browser', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137008' });
    const c = await t.signIn(user.email, { trust: true });
    await t.signIn(user.email, { trust: true });
    await c.get('/settings/security/devices');
    await c.post('/settings/security/devices/revoke-all');
    assert.match(textOf((await c.get('/settings/security/devices')).text), /Trust cancelled for all browsers \(2\)/);

    const again = await t.signIn(user.email, { trust: true });
    // Changing the password is protected: the sign-in code counts as a fresh check.
    await again.get('/settings/password');
    const res = await again.post('/settings/password', { password: 'a new long passphrase', confirm: 'a new long passphrase' });
    assert.equal(res.status, 303);
    assert.equal((await t.s.trusted.list(user.id)).length, 0);
    const events = await t.s.audit.recentForUser(user.id, 50);
    assert.ok(events.some((e) => e.event === 'password.changed'));
    assert.ok(events.some((e) => e.event === 'device.revoked_all'));
  });

  test('a password change signs every other session out, gives this one a new id and says so', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137009' });
    const laptop = await t.signIn(user.email);
    const phone = await t.signIn(user.email);
    const c = await t.signIn(user.email);
    const before = c.cookie('postern.sid');
    await c.get('/settings/password');
    const res = await c.post('/settings/password', { password: 'another long passphrase', confirm: 'another long passphrase' });
    assert.equal(res.status, 303);
    assert.notEqual(c.cookie('postern.sid'), before, 'a new session id');
    assert.match(textOf((await c.get('/settings/security')).text), /Other sessions signed out: 2/);
    for (const other of [laptop, phone]) {
      const r = await other.get('/settings/security');
      assert.equal(r.status, 303);
      assert.match(r.headers.location!, /^\/login/);
    }
    const changed = (await t.s.audit.recentForUser(user.id, 50)).find((e) => e.event === 'password.changed');
    assert.equal(changed?.details?.sessionsEnded, 2);
  });

  test('a password change keeps the other sessions only when asked to', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137010' });
    const laptop = await t.signIn(user.email);
    const c = await t.signIn(user.email);
    await c.get('/settings/password');
    await c.post('/settings/password', { password: 'yet another passphrase', confirm: 'yet another passphrase', keepOthers: 'on' });
    assert.equal((await laptop.get('/settings/security')).status, 200);
  });
});
