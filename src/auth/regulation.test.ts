import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf } from '../../test/helpers/client.ts';
import { DeviceCookies } from './device-cookie.ts';
import { DEFAULT_RULES, Regulator } from './regulation.ts';

// Waits long enough that no test outlives one, however slow the machine: what is counted is then exact.
const RULES = { ...DEFAULT_RULES, baseDelaySeconds: 300 };

let t: TestApp;
before(async () => {
  t = await startApp({}, { rules: RULES });
});
after(() => t.close());

describe('the regulator reserves each attempt before the secret is checked', () => {
  test('30 parallel guesses at one account from one address are checked at most five times', async () => {
    const r = new Regulator(t.s.db, RULES);
    let checked = 0;
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () =>
        r.regulated({ kind: 'password', account: 'parallel@example.test', ip: '203.0.113.50' }, async () => {
          checked += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { ok: false };
        }),
      ),
    );
    assert.equal(checked, 5);
    assert.equal(outcomes.filter((o) => !o.allowed).length, 25);
  });

  test('30 parallel guesses spread over accounts from one address stop at the per-address limit', async () => {
    const r = new Regulator(t.s.db, { ...RULES, ipMaxFailures: 10 });
    let checked = 0;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        r.regulated({ kind: 'password', account: `spray${i}@example.test`, ip: '203.0.113.51' }, async () => {
          checked += 1;
          return { ok: false };
        }),
      ),
    );
    assert.equal(checked, 10);
  });

  test('a success ends the run of failures for the very next attempt, though its mark is written in a batch', async () => {
    const r = new Regulator(t.s.db, RULES);
    const attempt = { kind: 'password' as const, account: 'batched@example.test', ip: '203.0.113.53' };
    const guess = (ok: boolean) => r.regulated(attempt, async () => ({ ok }));
    for (let i = 0; i < 4; i++) assert.equal((await guess(false)).allowed, true);
    assert.equal((await guess(true)).allowed, true);
    // Straight after the success, before its batch is due: five fresh failures are free again.
    for (let i = 0; i < 5; i++) assert.equal((await guess(false)).allowed, true, `failure ${i + 1} after the success`);
    assert.equal((await guess(false)).allowed, false, 'the sixth waits');
  });

  test('successes waiting for their batch are written at shutdown', async () => {
    const r = new Regulator(t.s.db, RULES);
    const attempt = { kind: 'password' as const, account: 'shutdown@example.test', ip: '203.0.113.54' };
    await r.regulated(attempt, async () => ({ ok: false }));
    await r.regulated(attempt, async () => ({ ok: true }));
    await r.flush();
    // Read by a regulator that never saw the success: it comes from the table.
    assert.equal((await new Regulator(t.s.db, RULES).consecutiveFailures(attempt)).n, 0);
  });

  test('a verifier that throws leaves no attempt behind', async () => {
    const r = new Regulator(t.s.db, RULES);
    const attempt = { kind: 'password' as const, account: 'flaky@example.test', ip: '203.0.113.52' };
    for (let i = 0; i < 8; i++) {
      await assert.rejects(
        r.regulated(attempt, async () => {
          throw new Error('store down');
        }),
      );
    }
    assert.equal((await r.consecutiveFailures(attempt)).n, 0);
    assert.equal((await r.check(attempt)).allowed, true);
  });

  test('a known device keeps its own count while the account is throttled for everyone else', async () => {
    const r = new Regulator(t.s.db, RULES);
    const stranger = { kind: 'password' as const, account: 'owner@example.test', ip: '198.51.100.7' };
    for (let i = 0; i < 5; i++) await r.regulated(stranger, async () => ({ ok: false }));
    assert.equal((await r.check(stranger)).allowed, false);
    assert.equal((await r.check({ ...stranger, ip: '192.0.2.99' })).allowed, false, 'a new address is throttled too');
    const known = { ...stranger, ip: '198.51.100.7', device: 'web:owner-browser' };
    const outcome = await r.regulated(known, async () => ({ ok: true }));
    assert.ok(outcome.allowed && outcome.result.ok);
    // Its own failures count on their own.
    for (let i = 0; i < 5; i++) await r.regulated(known, async () => ({ ok: false }));
    assert.equal((await r.check(known)).allowed, false);
    assert.equal((await r.check({ ...known, device: 'web:another-browser' })).allowed, true);
  });
});

describe('device cookies', () => {
  test('are bound to one account and cannot be forged or moved', () => {
    const cookies = new DeviceCookies('secret-secret-secret-secret-secret-0123');
    const value = cookies.issue('Alice@Example.test');
    const device = cookies.deviceFor('alice@example.test', value);
    assert.match(device!, /^web:[\w-]{22}$/);
    assert.ok(!device!.includes(value.split('.')[0]!), 'the stored key is not the cookie');
    assert.equal(cookies.deviceFor('bob@example.test', value), undefined);
    assert.equal(cookies.deviceFor('alice@example.test', value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')), undefined);
    assert.equal(cookies.deviceFor('alice@example.test', 'x.y'), undefined);
    assert.equal(cookies.deviceFor('alice@example.test', undefined), undefined);
    assert.equal(new DeviceCookies('another-secret-another-secret-another-0').deviceFor('alice@example.test', value), undefined);
  });
});

describe('sign-in under attack', () => {
  test('30 parallel wrong passwords for one account are checked at most five times', async () => {
    const user = await buildUser(t.s);
    const c = t.client();
    await c.get('/login');
    const answers = await Promise.all(Array.from({ length: 30 }, () => c.post('/login', { email: user.email, password: 'not the password at all' })));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 25);
    const failed = (await eventsOf(t.s, user.id)).filter((e) => e.event === 'login.password_failed');
    assert.equal(failed.length, 5);
  });

  test('a stranger hammering the account cannot keep the owner’s browser out', async () => {
    const user = await buildUser(t.s);
    const owner = t.client();
    await owner.get('/login');
    assert.equal((await owner.post('/login', { email: user.email, password: PASSWORD })).status, 303);
    await owner.get('/settings/security');
    assert.equal((await owner.post('/logout')).headers.location, '/login');

    const attacker = t.client({ 'user-agent': 'curl/8' });
    await attacker.get('/login');
    for (let i = 0; i < 12; i++) await attacker.post('/login', { email: user.email, password: `guess number ${i}` });
    const locked = await attacker.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(locked.status, 429, 'the untrusted path is throttled, even with the right password');
    const stranger = t.client();
    await stranger.get('/login');
    assert.equal((await stranger.post('/login', { email: user.email, password: PASSWORD })).status, 429, 'so is a new browser');

    await owner.get('/login');
    const back = await owner.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(back.status, 303, 'the browser that signed in before is counted on its own');
    assert.equal(back.headers.location, '/');
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'login.password_ok' && e.details?.knownDevice === true));
  });

  test('a device cookie issued for one account does not shield another', async () => {
    const alice = await buildUser(t.s);
    const bob = await buildUser(t.s);
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: alice.email, password: PASSWORD });
    await c.get('/settings/security');
    assert.equal((await c.post('/logout')).headers.location, '/login');
    await c.get('/login');
    const tries = [];
    for (let i = 0; i < 6; i++) tries.push((await c.post('/login', { email: bob.email, password: `guess ${i} for bob` })).status);
    assert.deepEqual(tries, [401, 401, 401, 401, 401, 429]);
    const res = await c.post('/login', { email: bob.email, password: PASSWORD });
    assert.equal(res.status, 429);
    assert.match(textOf(res.text), /Too many attempts/);
  });
});
