import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { ageSessions, buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf } from '../../test/helpers/client.ts';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

const everyPage = ['/', '/settings/security', '/settings/security/sms', '/settings/security/devices', '/settings/password', '/settings/security/verify'];
const everyPost = ['/settings/security/sms/send', '/settings/security/sms/change', '/settings/security/sms/unbind', '/settings/security/devices/revoke-all', '/settings/password', '/settings/security/verify'];

describe('forced two-step verification', () => {
  test('a forced user without a phone is held on the account security page until bound', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const c = t.client();
    await c.get('/login');
    const res = await c.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(res.headers.location, '/account-security');
    const page = await c.get('/account-security');
    assert.match(textOf(page.text), /Account security: set up two-step verification/);
    for (const path of everyPage) {
      const r = await c.get(path);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.location, '/account-security', path);
    }
    for (const path of everyPost) {
      const r = await c.post(path, { phone: '+8613600136000', password: 'x', confirm: 'x' });
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.location, '/account-security', path);
    }
    await c.get('/account-security');
    await c.post('/account-security/send', { phone: '+8613600136000' });
    const done = await c.post('/account-security/confirm', { code: t.s.lastCode('+8613600136000') });
    assert.equal(done.headers.location, '/settings/security/backup-codes/new');
    assert.match((await c.get(done.headers.location!)).text, /href="\/"/);
    assert.equal((await c.get('/')).status, 200);
    assert.equal((await c.get('/settings/security')).status, 200);
  });

  test('the policy for everyone applies to users without their own setting', async () => {
    const user = await buildUser(t.s);
    const exempt = await buildUser(t.s, { require2fa: false });
    await t.s.userService.setRequire2fa(true);
    try {
      for (const [u, where] of [
        [user, '/account-security'],
        [exempt, '/'],
      ] as const) {
        const c = t.client();
        await c.get('/login');
        assert.equal((await c.post('/login', { email: u.email, password: PASSWORD })).headers.location, where);
      }
      assert.ok((await eventsOf(t.s)).some((e) => e.event === 'policy.changed' && e.details?.scope === 'everyone'));
    } finally {
      await t.s.userService.setRequire2fa(false);
    }
  });

  test('the held state expires after ten minutes like any half-signed-in session', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    assert.equal((await c.get('/account-security')).status, 200);
    await ageSessions(t.s, user.id, 9 * 60_000);
    assert.equal((await c.get('/account-security')).status, 200, 'nine minutes on, still held');
    await ageSessions(t.s, user.id, 2 * 60_000);
    const res = await c.get('/account-security');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/login');
    const post = await c.post('/account-security/send', { phone: '+8613600136001' });
    assert.equal(post.headers.location, '/login');
  });

  test('logout works from the held state', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    await c.get('/account-security');
    const out = await c.post('/logout');
    assert.equal(out.headers.location, '/login');
    assert.equal((await c.get('/account-security')).headers.location, '/login');
  });
});
