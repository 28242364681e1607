import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';

/** The policy form as the page sends it, with some fields changed. */
const form = (over: Record<string, string | string[]> = {}) => ({ require2fa: 'off', domains: '', graceDays: '0', allowed: ['totp', 'hardware', 'sms', 'email'], mailMainPassword: 'on', trustedDeviceDays: '7', ...over });

describe('administration console: policy', () => {
  let t: TestApp;
  let admin: WebClient;

  before(async () => {
    t = await startApp();
    const a = await buildUser(t.s, { admin: true });
    admin = await t.signIn(a.email);
    await t.stepUp(admin, '/admin/policy');
  });
  after(() => t.close());

  const save = async (over: Record<string, string | string[]>) => {
    await admin.get('/admin/policy');
    return admin.agent.post('/admin/policy').type('form').send(new URLSearchParams(Object.entries({ _csrf: admin.csrf, ...form(over) }).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))).toString());
  };

  test('forcing two-step for one domain holds only its users at enrolment', async () => {
    const staff = await t.s.userService.create({ email: `ann${process.pid}@staff.policy.test`, password: PASSWORD });
    const student = await t.s.userService.create({ email: `ben${process.pid}@students.policy.test`, password: PASSWORD });
    assert.equal((await save({ require2fa: 'domains', domains: 'staff.policy.test' })).status, 303);
    for (const [u, where] of [[staff, '/account-security'], [student, '/']] as const) {
      const c = t.client();
      await c.get('/login');
      assert.equal((await c.post('/login', { email: u.email, password: PASSWORD })).headers.location, where, u.email);
    }
    const changed = (await eventsOf(t.s)).filter((e) => e.event === 'policy.changed').at(-1);
    assert.equal(changed?.details?.require_2fa, 'domains');
    await save({});
  });

  test('a grace period lets a newly forced user put enrolment off, with a countdown on every page, until it ends', async () => {
    const user = await buildUser(t.s);
    await save({ require2fa: 'everyone', graceDays: '14' });
    const c = t.client();
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/account-security');
    const page = await c.get('/account-security');
    assert.match(textOf(page.text), /put this off for 14 more days/);
    const later = await c.post('/account-security/later');
    assert.equal(later.status, 303);
    const home = await c.get('/settings/security');
    assert.equal(home.status, 200);
    assert.match(textOf(home.text), /set it up within 14 days/);
    // Mail apps keep the main password while the grace lasts.
    assert.equal(await t.s.userService.requires2fa(user), false);

    // Grace over: no way to put it off.
    await t.s.users.update(user.id, { createdAt: new Date(Date.now() - 30 * 86400_000) });
    await t.s.users.saveSetting('require_2fa_since', new Date(Date.now() - 30 * 86400_000).toISOString());
    t.s.userService.policyChanged();
    const d = t.client();
    await d.get('/login');
    await d.post('/login', { email: user.email, password: PASSWORD });
    assert.doesNotMatch(textOf((await d.get('/account-security')).text), /put this off/);
    assert.equal((await d.post('/account-security/later')).headers.location, '/account-security');
    assert.equal((await d.get('/')).headers.location, '/account-security');
    assert.equal(await t.s.userService.requires2fa((await t.s.users.load(user.id))!), true);
    await save({});
  });

  test('a factor kind the policy turned off cannot be added, by page or by forged post', async () => {
    await save({ allowed: ['totp', 'hardware', 'email'] });
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    const res = await c.post('/settings/security/sms/send', { phone: '+8613800138000' });
    assert.equal(res.status, 403);
    assert.match(textOf(res.text), /does not allow adding this kind/);
    assert.equal(await t.s.phones.load(user.id), undefined);
    // Existing factors of that kind keep working.
    const withPhone = await buildUser(t.s, { phone: '+8613800138001' });
    await t.signIn(withPhone.email);
    await save({});
  });

  test('invalid policies are refused with a message and change nothing', async () => {
    const before = await t.s.userService.policy();
    for (const bad of [{ require2fa: 'domains', domains: '' }, { domains: 'not a domain!' }, { require2fa: 'everyone', allowed: ['email'] }, { allowed: [] }, { trustedDeviceDays: '0' }, { graceDays: '1000' }, { require2fa: 'sometimes' }, { domains: 'a.edu\n'.repeat(3000) }]) {
      const res = await save(bad as unknown as Record<string, string | string[]>);
      assert.equal(res.status, 400, JSON.stringify(bad).slice(0, 80));
    }
    t.s.userService.policyChanged();
    assert.deepEqual(await t.s.userService.policy(), before);
  });

  test('trusted-browser days come from the policy, and main-password mail access follows the switch', async () => {
    await save({ trustedDeviceDays: '30', mailMainPassword: [] });
    const user = await buildUser(t.s, { phone: '+8613800138002' });
    await t.signIn(user.email, { trust: true });
    const [device] = await t.s.trusted.list(user.id);
    const days = (device!.expiresAt.getTime() - device!.createdAt.getTime()) / 86400_000;
    assert.equal(Math.round(days), 30);
    assert.equal((await t.s.userService.policy()).mailMainPassword, false);
    await save({});
  });

  test("an account's own two-step setting is set from its page, audited with the reason; not on one's own", async () => {
    const user = await buildUser(t.s);
    await admin.get(`/admin/users/${user.id}`);
    assert.equal((await admin.post(`/admin/users/${user.id}/two-step`, { require: 'on', reason: 'handles payroll' })).status, 303);
    assert.equal((await t.s.users.load(user.id))!.require2fa, true);
    const c = t.client();
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/account-security');
    assert.equal((await admin.post(`/admin/users/${user.id}/two-step`, { require: 'sometimes', reason: 'x y z' })).status, 400);
    const me = (await t.s.users.loadByEmail((await eventsOf(t.s)).find((e) => e.event === 'user.created')!.account!))!;
    assert.equal((await admin.post(`/admin/users/${me.id}/two-step`, { require: 'off', reason: 'mine' })).status, 403);
  });
});
