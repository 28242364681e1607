import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf } from '../../test/helpers/client.ts';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

describe('binding a phone (Settings → Security → Two-step verification)', () => {
  test('an open session alone cannot add a phone: the password is asked first', async () => {
    const user = await buildUser(t.s);
    // Someone at an unlocked browser, or with a stolen cookie, who does not know the password.
    const c = await t.signIn(user.email);
    await c.get('/settings/security/sms');
    const texts = t.s.texts.length;
    const send = await c.post('/settings/security/sms/send', { phone: '+8613800138190' });
    assert.equal(send.status, 303);
    assert.match(send.headers.location!, /^\/settings\/security\/verify\?next=/);
    assert.equal(t.s.texts.length, texts, 'no code went to their phone');
    const confirm = await c.post('/settings/security/sms/confirm', { code: '123456' });
    assert.match(confirm.headers.location!, /^\/settings\/security\/verify/);
    const verify = await c.get(send.headers.location!);
    assert.match(textOf(verify.text), /Password/);
    const wrong = await c.post('/settings/security/verify', { password: 'a guess at the password', next: '/settings/security/sms' });
    assert.equal(wrong.status, 401);
    assert.equal(await t.s.phones.load(user.id), undefined);
  });

  test('binding a phone does not count as a fresh check for other sensitive changes', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    await c.get('/account-security');
    await c.post('/account-security/send', { phone: '+8613800138191' });
    assert.equal((await c.post('/account-security/confirm', { code: t.s.lastCode('+8613800138191') })).headers.location, '/settings/security/backup-codes/new');
    for (const path of ['/settings/password', '/settings/app-passwords', '/settings/sharing']) {
      await c.get('/settings/security');
      const res = await c.post(path, { password: 'a brand new passphrase', confirm: 'a brand new passphrase', name: 'x', imap: 'on', email: 'x@example.test', permission: 'read' });
      assert.equal(res.status, 303, path);
      assert.match(res.headers.location!, /^\/settings\/security\/verify/, path);
    }
    const again = await t.s.users.load(user.id);
    assert.equal(again!.passwordHash, user.passwordHash, 'the password is unchanged');
  });


  test('a number is normalized to E.164, confirmed by a code, and then asked at login', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    const sent = await c.post('/settings/security/sms/send', { phone: '138 0013 8100' });
    assert.equal(sent.status, 303);
    assert.equal(t.s.texts.at(-1)!.to, '+8613800138100');
    const page = textOf((await c.get('/settings/security/sms')).text);
    assert.match(page, /A code was sent to \+86 138\*\*\*\*8100/);
    const done = await c.post('/settings/security/sms/confirm', { code: t.s.lastCode() });
    assert.equal(done.status, 303);
    // The first factor brings backup codes, shown once before the confirmation.
    assert.equal(done.headers.location, '/settings/security/backup-codes/new');
    const codes = textOf((await c.get('/settings/security/backup-codes/new')).text);
    assert.equal((codes.match(/\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]\b/g) ?? []).length, 10);
    assert.match(codes, /Phone \+86 138\*\*\*\*8100 bound/);
    assert.equal(await t.s.phones.load(user.id), '+8613800138100');
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'factor.added' && e.details?.factor === 'sms'));

    await c.post('/logout');
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/code');
  });

  test('an invalid number gets a clear message and no text', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    const before = t.s.texts.length;
    for (const phone of ['12345', '+86 999', 'not a number', '+1 202 555 01']) {
      const res = await c.post('/settings/security/sms/send', { phone });
      assert.equal(res.status, 400, phone);
      assert.match(textOf(res.text), /This is not a valid mobile number/);
    }
    assert.equal(t.s.texts.length, before);
  });

  test('several mailboxes may bind the same number', async () => {
    const phone = '+8613800138101';
    for (let i = 0; i < 2; i++) {
      const user = await buildUser(t.s);
      const c = await t.signIn(user.email);
      await t.stepUp(c, '/settings/security/sms');
      await c.post('/settings/security/sms/send', { phone });
      await c.post('/settings/security/sms/confirm', { code: t.s.lastCode(phone) });
      assert.equal(await t.s.phones.load(user.id), phone);
    }
  });

  test('a wrong code does not bind', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    await c.post('/settings/security/sms/send', { phone: '+8613800138102' });
    const code = t.s.lastCode();
    const res = await c.post('/settings/security/sms/confirm', { code: code === '123456' ? '654321' : '123456' });
    assert.equal(res.status, 400);
    assert.match(textOf(res.text), /The code is incorrect or has expired/);
    assert.equal(await t.s.phones.load(user.id), undefined);
  });

  test('changing the number needs a code to the current phone first, then one to the new number', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138103' });
    const c = await t.signIn(user.email, { trust: true });
    // Back through the trusted browser: no code was asked, so nothing proves the phone is at hand.
    await c.post('/logout');
    const stale = await t.signIn(user.email, { client: c });
    await stale.get('/settings/security/sms');
    const r1 = await stale.post('/settings/security/sms/change', { phone: '+8613800138104' });
    assert.equal(r1.status, 303);
    assert.match(r1.headers.location!, /^\/settings\/security\/verify/);
    const verify = await stale.get(r1.headers.location!);
    assert.match(textOf(verify.text), /Confirm it's you/);
    await stale.post('/settings/security/verify/send', { next: '/settings/security/sms' });
    assert.equal(t.s.texts.at(-1)!.to, '+8613800138103');
    const ok = await stale.post('/settings/security/verify', { code: t.s.lastCode(), next: '/settings/security/sms' });
    // The change form posted before the check is offered again, filled in: one click sends it.
    assert.equal(ok.headers.location, '/settings/security/continue');
    const held = await stale.get('/settings/security/continue');
    assert.match(held.text, /action="\/settings\/security\/sms\/change"/);
    assert.match(held.text, /name="phone" value="\+8613800138104"/);
    await stale.post('/settings/security/sms/change', { phone: '+8613800138104' });
    assert.equal(t.s.texts.at(-1)!.to, '+8613800138104');
    await stale.post('/settings/security/sms/confirm', { code: t.s.lastCode() });
    assert.equal(await t.s.phones.load(user.id), '+8613800138104');
    assert.equal((await t.s.trusted.list(user.id)).length, 0, 'trusted browsers are revoked');
    const changed = (await eventsOf(t.s, user.id)).find((e) => e.event === 'factor.added');
    assert.deepEqual(changed?.details, { factor: 'sms', from: '+86 138****8103', phone: '+86 138****8104', trustedDevicesRevoked: 1, backupCodesIssued: true });
  });

  test('unbinding needs a current code and revokes trusted browsers', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138105' });
    const c = await t.signIn(user.email, { trust: true });
    // Sign in again through the trusted browser: no code, so no fresh check.
    await c.post('/logout');
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    await c.get('/settings/security/sms');
    const refused = await c.post('/settings/security/sms/unbind');
    assert.match(refused.headers.location!, /^\/settings\/security\/verify/);
    assert.equal(await t.s.phones.load(user.id), '+8613800138105');
    await c.get(refused.headers.location!);
    await c.post('/settings/security/verify/send', { next: '/settings/security/sms' });
    await c.post('/settings/security/verify', { code: t.s.lastCode(), next: '/settings/security/sms' });
    await c.get('/settings/security/sms');
    const res = await c.post('/settings/security/sms/unbind');
    assert.equal(res.headers.location, '/settings/security');
    assert.equal(await t.s.phones.load(user.id), undefined);
    assert.equal((await t.s.trusted.list(user.id)).length, 0);
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'factor.removed' && e.details?.factor === 'sms'));
  });

  test('a user under forced 2FA cannot unbind, only change', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138106', require2fa: true });
    const c = await t.signIn(user.email);
    await c.get('/settings/security/sms');
    await c.post('/settings/security/sms/unbind');
    assert.match(textOf((await c.get('/settings/security/sms')).text), /cannot be unbound/);
    assert.equal(await t.s.phones.load(user.id), '+8613800138106');
  });

  test('the security page shows the user their recent events', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138107' });
    const c = await t.signIn(user.email);
    const page = textOf((await c.get('/settings/security')).text);
    assert.match(page, /Recent security activity/);
    assert.match(page, /Signed in/);
    assert.match(page, /Verification code sent/);
    const zh = textOf((await c.get('/settings/security?lang=zh-CN')).text);
    assert.match(zh, /近期安全记录/);
    assert.match(zh, /登录成功/);
  });
});
