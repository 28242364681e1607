import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { hashPassword } from '../src/auth/password.ts';

/** oathtool computes what an authenticator app shows now. */
function oathtool(secret: string): string {
  const out = spawnSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' });
  assert.equal(out.status, 0, `oathtool failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** shownSecret reads the one secret the one-time page shows. */
function shownSecret(html: string): string {
  const m = /class="secret"><code>([^<]+)<\/code>/.exec(html);
  assert.ok(m, 'the page shows a secret');
  return m[1]!;
}

describe('administration console: users and recovery', () => {
  let t: TestApp;
  let adminClient: WebClient;
  let adminId: string;

  before(async () => {
    t = await startApp();
    const admin = await buildUser(t.s, { admin: true });
    adminId = admin.id;
    adminClient = await t.signIn(admin.email);
    await t.stepUp(adminClient, '/admin/users');
  });
  after(() => t.close());

  test('a user who is not an administrator gets 403 on every console page and action, not a redirect', async () => {
    const user = await buildUser(t.s);
    const other = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security');
    for (const path of ['/admin', '/admin/users', '/admin/users/new', `/admin/users/${other.id}`, '/admin/secret']) {
      assert.equal((await c.get(path)).status, 403, path);
    }
    await c.get('/settings/security');
    for (const action of ['disable', 'reset-password', 'access-pass', 'remove-factors']) {
      const res = await c.post(`/admin/users/${other.id}/${action}`, { reason: 'takeover', minutes: '60' });
      assert.equal(res.status, 403, action);
    }
    assert.equal((await c.post('/admin/users', { email: 'mallory@example.test' })).status, 403);
    assert.equal(await t.s.users.loadByEmail('mallory@example.test'), undefined);
    assert.equal((await t.s.users.load(other.id))!.disabled, false);
  });

  test('an administrator without a fresh check is sent to the verify page first, and back after it', async () => {
    const admin = await buildUser(t.s, { admin: true });
    const c = await t.signIn(admin.email);
    const res = await c.get('/admin/users');
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/settings\/security\/verify\?next=%2Fadmin%2Fusers/);
    await t.stepUp(c, '/admin/users');
    assert.equal((await c.get('/admin/users')).status, 200);
  });

  test('signed out, the console sends to the sign-in page', async () => {
    const res = await t.client().get('/admin/users');
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/login/);
  });

  test('an administrator cannot recover, reset or disable their own account from the console', async () => {
    await adminClient.get(`/admin/users/${adminId}`);
    for (const action of ['disable', 'reset-password', 'access-pass', 'end-sessions', 'remove-factors']) {
      const res = await adminClient.post(`/admin/users/${adminId}/${action}`, { reason: 'testing myself', minutes: '60' });
      assert.equal(res.status, 403, action);
    }
    const me = (await t.s.users.load(adminId))!;
    assert.equal(me.disabled, false);
    assert.equal(await t.s.passes.active(adminId), undefined);
    assert.equal((await adminClient.get('/admin/users')).status, 200, 'still signed in');
  });

  test('forged targets and missing reasons are refused without effect', async () => {
    const user = await buildUser(t.s);
    await adminClient.get(`/admin/users/${user.id}`);
    assert.equal((await adminClient.post('/admin/users/00000000-0000-4000-8000-000000000000/disable', { reason: 'nobody' })).status, 404);
    assert.equal((await adminClient.post('/admin/users/not-a-uuid/disable', { reason: 'nobody' })).status, 404);
    assert.equal((await adminClient.post(`/admin/users/${user.id}/disable`, {})).status, 400);
    assert.equal((await adminClient.post(`/admin/users/${user.id}/disable`, { reason: 'x'.repeat(10_000) })).status, 400);
    assert.equal((await adminClient.post(`/admin/users/${user.id}/frobnicate`, { reason: 'because' })).status, 404);
    assert.equal((await adminClient.post(`/admin/users/${user.id}/access-pass`, { reason: 'lost phone', minutes: '100000' })).status, 400);
    assert.equal((await t.s.users.load(user.id))!.disabled, false);
    assert.equal(await t.s.passes.active(user.id), undefined);
  });

  test('the users page searches by address or name, a page of 50 at a time, and takes % literally', async () => {
    const hashed = await hashPassword(PASSWORD);
    await t.s.users.saveMany(Array.from({ length: 120 }, (_, i) => ({ email: `bulk${String(i).padStart(3, '0')}@paging.test`, displayName: i === 7 ? 'Zhang 100% Wei' : `Bulk ${i}`, passwordHash: hashed })));
    const first = await adminClient.get('/admin/users?q=paging.test');
    assert.equal(first.status, 200);
    assert.match(textOf(first.text), /120 accounts · page 1 of 3/);
    assert.equal((first.text.match(/@paging\.test<\/a>/g) ?? []).length, 50);
    const third = await adminClient.get('/admin/users?q=paging.test&page=3');
    assert.equal((third.text.match(/@paging\.test<\/a>/g) ?? []).length, 20);
    assert.match(third.text, /bulk119@paging\.test/);
    const byName = await adminClient.get(`/admin/users?q=${encodeURIComponent('100%')}`);
    assert.match(textOf(byName.text), /1 accounts/);
    assert.match(byName.text, /bulk007@paging\.test/);
    assert.equal((await adminClient.get(`/admin/users?q=${'a'.repeat(500)}`)).status, 400);
    assert.equal((await adminClient.get('/admin/users?page=-1')).status, 400);
  });

  test('a new account gets a temporary password shown once, which must be changed at the first sign-in', async () => {
    await adminClient.get('/admin/users/new');
    const res = await adminClient.post('/admin/users', { email: 'New.Hire@Example.test', name: 'New Hire' });
    assert.equal(res.headers.location, '/admin/secret');
    const shown = await adminClient.get('/admin/secret');
    const temp = shownSecret(shown.text);
    assert.equal((await adminClient.get('/admin/secret')).status, 303, 'a reload shows nothing');
    const created = (await t.s.users.loadByEmail('new.hire@example.test'))!;
    assert.equal(created.mustChangePassword, true);
    const events = await eventsOf(t.s, created.id);
    assert.equal(events.find((e) => e.event === 'user.created')?.details?.admin, (await t.s.users.load(adminId))!.email);
    assert.ok(!JSON.stringify(events).includes(temp), 'the audit log holds no password');

    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: 'new.hire@example.test', password: temp });
    const home = await c.get('/');
    assert.equal(home.headers.location, '/settings/password');
    assert.equal((await c.get('/settings/security')).headers.location, '/settings/password');
    const page = await c.get('/settings/password');
    assert.equal(page.status, 200);
    assert.match(textOf(page.text), /temporary password/);
    const changed = await c.post('/settings/password', { password: 'a fresh and long passphrase 42', confirm: 'a fresh and long passphrase 42' });
    assert.equal(changed.status, 303);
    assert.equal((await c.get('/settings/security')).status, 200);
    assert.equal((await t.s.users.load(created.id))!.mustChangePassword, false);
  });

  test('a CSV import creates every account or none, and says which lines are wrong', async () => {
    await adminClient.get('/admin/users/new');
    const post = (csv: string) => adminClient.agent.post(`/admin/users/import?_csrf=${encodeURIComponent(adminClient.csrf)}`).attach('file', Buffer.from(csv), 'users.csv');
    const broken = await post('email,name,admin\nok1@import.test,One,no\nnot-an-address,Two,no\nok1@import.test,Dup,no\nok3@import.test,Three,perhaps\n');
    assert.equal(broken.status, 400);
    const text = textOf(broken.text);
    assert.match(text, /Line 3: “not-an-address” is not a valid address/);
    assert.match(text, /Line 4: the same address as line 2/);
    assert.match(text, /Line 5: admin must be yes or no/);
    assert.equal(await t.s.users.loadByEmail('ok1@import.test'), undefined, 'nothing half-imported');
    assert.equal((await post('name,email\nx,y\n')).status, 400);
    const good = await post('\ufeffEmail,Name,Admin\r\nann@import.test,"Ann, Li",no\r\nben@import.test,Ben,yes\r\n');
    assert.equal(good.status, 303);
    const shown = await adminClient.get('/admin/secret');
    assert.match(textOf(shown.text), /2 accounts created/);
    assert.equal((await t.s.users.loadByEmail('ann@import.test'))!.displayName, 'Ann, Li');
    assert.equal((await t.s.users.loadByEmail('ben@import.test'))!.isAdmin, true);
    await adminClient.get('/admin/users/new');
    const again = await post('email,name,admin\nann@import.test,Ann,no\ncid@import.test,Cid,no\n');
    assert.equal(again.status, 400);
    assert.match(textOf(again.text), /ann@import\.test already has an account/);
    assert.equal(await t.s.users.loadByEmail('cid@import.test'), undefined);
    const big = await adminClient.agent.post(`/admin/users/import?_csrf=${encodeURIComponent(adminClient.csrf)}`).attach('file', Buffer.alloc(3 * 1024 * 1024, 'a'), 'big.csv');
    assert.equal(big.status, 413);
  });

  test('disabling ends the web sessions at once and refuses sign-in; enabling lets the user back', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await adminClient.get(`/admin/users/${user.id}`);
    assert.equal((await adminClient.post(`/admin/users/${user.id}/disable`, { reason: 'left the institution' })).status, 303);
    assert.equal((await c.get('/')).status, 303, 'the open session is gone');
    const again = t.client();
    await again.get('/login');
    assert.equal((await again.post('/login', { email: user.email, password: PASSWORD })).status, 401);
    const disabled = (await eventsOf(t.s, user.id)).find((e) => e.event === 'user.disabled');
    assert.equal(disabled?.details?.reason, 'left the institution');
    assert.equal(disabled?.details?.admin, (await t.s.users.load(adminId))!.email);
    await adminClient.get(`/admin/users/${user.id}`);
    await adminClient.post(`/admin/users/${user.id}/enable`, { reason: 'came back' });
    await t.signIn(user.email);
  });

  test('a temporary access pass: sign in once, enrol a new factor at once, the lost one goes, a second use is refused', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137000' });
    const textsBefore = t.s.texts.length;
    await adminClient.get(`/admin/users/${user.id}`);
    assert.equal((await adminClient.post(`/admin/users/${user.id}/access-pass`, { reason: 'phone lost, called back', minutes: '60' })).headers.location, '/admin/secret');
    const pass = shownSecret((await adminClient.get('/admin/secret')).text);
    assert.match(pass, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]$/);
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'access_pass.issued' && e.details?.reason === 'phone lost, called back'));

    const c = t.client();
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/pass');
    assert.equal(t.s.texts.length, textsBefore, 'no text is sent to the lost phone');
    await c.get('/login/pass');
    const wrong = await c.post('/login/pass', { code: 'aaaa-aaaa-aaaa-a' });
    assert.equal(wrong.status, 401);
    assert.match(textOf(wrong.text), /not right/);
    const ok = await c.post('/login/pass', { code: pass.toUpperCase() });
    assert.equal(ok.headers.location, '/account-security');
    assert.equal((await c.get('/')).headers.location, '/account-security', 'nothing else until a new factor is set up');
    assert.equal((await c.get('/settings/app-passwords')).headers.location, '/account-security');
    const page = await c.get('/account-security/app');
    const key = /id="totp-key"[^>]*>([A-Z2-7 ]+)</.exec(page.text)![1]!.replace(/ /g, '');
    const bound = await c.post('/account-security/app', { name: 'New phone', code: oathtool(key) });
    assert.equal(bound.status, 303);
    assert.deepEqual(await t.s.factors.kinds(user.id), ['totp', 'backup'], 'the lost phone is gone, new backup codes came');
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'factors.reset'));

    const later = t.client();
    await later.get('/login');
    assert.equal((await later.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/code');
    assert.equal((await later.get('/login/pass')).headers.location, '/login/code', 'the pass is used up');
    await later.get('/login/code');
    assert.equal((await later.post('/login/pass', { code: pass })).headers.location, '/login/code');
  });

  test('an expired access pass is not offered, and a pass cannot be guessed past the throttle', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137001' });
    await t.s.passes.issue(user.id, { issuedBy: adminId, reason: 'old', minutes: 60, now: new Date(Date.now() - 2 * 3600_000) });
    const c = t.client();
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/code');

    const { code } = await t.s.passes.issue(user.id, { issuedBy: adminId, reason: 'new', minutes: 60 });
    const g = t.client();
    await g.get('/login');
    await g.post('/login', { email: user.email, password: PASSWORD });
    await g.get('/login/pass');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await g.post('/login/pass', { code: `zzzz-zzzz-zzz${i}-z` })).status);
    assert.ok(statuses.includes(429), `throttled: ${statuses}`);
    const right = await g.post('/login/pass', { code });
    assert.equal(right.status, 429, 'even the right pass waits once throttled');
  });

  test('reset password and the revocations act on the account and are audited with the reason', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await adminClient.get(`/admin/users/${user.id}`);
    await adminClient.post(`/admin/users/${user.id}/reset-password`, { reason: 'forgot password' });
    const temp = shownSecret((await adminClient.get('/admin/secret')).text);
    assert.equal((await c.get('/')).status, 303, 'sessions ended');
    const old = t.client();
    await old.get('/login');
    assert.equal((await old.post('/login', { email: user.email, password: PASSWORD })).status, 401);
    await old.post('/login', { email: user.email, password: temp });
    assert.equal((await old.get('/')).headers.location, '/settings/password');
    for (const action of ['end-sessions', 'revoke-trusted', 'revoke-app-passwords']) {
      await adminClient.get(`/admin/users/${user.id}`);
      assert.equal((await adminClient.post(`/admin/users/${user.id}/${action}`, { reason: 'cleanup' })).status, 303, action);
    }
    const events = (await eventsOf(t.s, user.id)).map((e) => e.event);
    for (const e of ['password.reset', 'sessions.ended', 'device.revoked_all']) assert.ok(events.includes(e as never), e);
    const page = await adminClient.get(`/admin/users/${user.id}`);
    assert.match(textOf(page.text), /Password reset by an administrator/);
  });
});
