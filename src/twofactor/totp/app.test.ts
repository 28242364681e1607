import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../../test/helpers/app.ts';
import { addAuthenticator, buildUser, eventsOf, PASSWORD } from '../../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../../test/helpers/client.ts';
import { DEFAULT_RULES } from '../../auth/regulation.ts';
import { SecretBox } from '../../crypto/secret-box.ts';
import { PENDING_TOTP_MS, pendingSecret, startPending } from './pending.ts';
import { newTotpSecret, TOTP_PERIOD, totpCode } from './totp.ts';

let t: TestApp;
before(async () => {
  // Waits long enough that a throttled client stays throttled for the rest of its test.
  t = await startApp({}, { rules: { ...DEFAULT_RULES, baseDelaySeconds: 600 } });
});
after(() => t.close());

/** oathtool computes a code the way an authenticator app would, at `at` (unix seconds) or now. */
function oathtool(secret: string, at?: number): string {
  const args = ['--totp', '-b', secret, ...(at === undefined ? [] : ['-N', `@${at}`])];
  const out = spawnSync('oathtool', args, { encoding: 'utf8' });
  assert.equal(out.status, 0, `oathtool failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** keyOn reads the key a page shows for typing by hand, without its spaces. */
function keyOn(html: string): string {
  const key = /id="totp-key"[^>]*>([A-Z2-7 ]+)</.exec(html)?.[1];
  assert.ok(key, 'the page shows the key');
  return key.replace(/ /g, '');
}

const stepOf = (ms: number) => Math.floor(ms / 1000 / TOTP_PERIOD);

/** addApp goes through the settings page as a person would: step up, open the page, type the app's code. Returns the key and the step used. */
async function addApp(c: WebClient, name: string): Promise<{ secret: string; step: number; res: Awaited<ReturnType<WebClient['post']>> }> {
  await t.stepUp(c, '/settings/security/app/new');
  const page = await c.get('/settings/security/app/new');
  assert.equal(page.status, 200);
  const secret = keyOn(page.text);
  const now = Date.now();
  const res = await c.post('/settings/security/app/new', { name, code: oathtool(secret, Math.floor(now / 1000)) });
  return { secret, step: stepOf(now), res };
}

/** signInWithApp signs in with the password and then a code from the app. */
async function signInWithApp(c: WebClient, email: string, code: string, extra: Record<string, string> = {}) {
  await c.get('/login');
  const first = await c.post('/login', { email, password: PASSWORD });
  assert.equal(first.headers.location, '/login/code');
  const page = await c.get('/login/code');
  assert.equal(page.status, 200);
  return c.post('/login/code', { code, ...extra });
}

describe('authenticator apps (Settings → Security → Authenticator apps)', () => {
  test('a session that has not proven anything fresh cannot add an authenticator', async () => {
    const user = await buildUser(t.s);
    // Someone at an unlocked browser, or with a stolen cookie, who does not know the password.
    const c = await t.signIn(user.email);
    const page = await c.get('/settings/security/app/new');
    assert.equal(page.status, 303);
    assert.match(page.headers.location!, /^\/settings\/security\/verify\?/);
    assert.ok(!/totp-key/.test(page.text), 'no key is shown');

    // A secret of their own choosing, with a valid code for it: nothing to attach it to.
    const theirs = newTotpSecret();
    await c.get('/settings/security');
    const post = await c.post('/settings/security/app/new', { name: 'Attacker', code: totpCode(theirs, new Date()) });
    assert.equal(post.status, 303);
    assert.match(post.headers.location!, /^\/settings\/security\/verify\?/);
    assert.deepEqual(await t.s.totp.list(user.id), []);

    // Even after the password, a code for a secret this session was never shown adds nothing.
    await t.stepUp(c, '/settings/security/app');
    const unseen = await c.post('/settings/security/app/new', { name: 'Attacker', code: totpCode(theirs, new Date()) });
    assert.equal(unseen.status, 303);
    assert.equal(unseen.headers.location, '/settings/security/app/new');
    assert.deepEqual(await t.s.totp.list(user.id), []);
  });

  test('an app added with a real authenticator code is listed, audited, and brings backup codes shown once', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/app/new');
    const page = await c.get('/settings/security/app/new');
    const text = textOf(page.text);
    const secret = keyOn(page.text);
    assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit key');
    assert.match(page.text, /<div class="totp-qr"[^>]*><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'the QR code is drawn inline');
    assert.ok(!/<img/.test(page.text), 'no image is fetched');
    assert.ok(text.includes(user.email) && text.includes(t.s.config.SERVICE_NAME), 'the account and issuer are shown');
    assert.match(text, /same key to several phones/);
    assert.equal(keyOn((await c.get('/settings/security/app/new')).text), secret, 'a reload shows the same key');
    assert.deepEqual(await t.s.totp.list(user.id), [], 'showing the page saves nothing');

    const res = await c.post('/settings/security/app/new', { name: '  Pixel 8  ', code: oathtool(secret) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/settings/security/backup-codes/new', 'the first factor leads to the backup codes');
    const codesPage = await c.get('/settings/security/backup-codes/new');
    assert.equal(codesPage.status, 200);
    const codes = [...codesPage.text.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)];
    assert.equal(codes.length, 10);
    assert.match(codesPage.text, /href="\/settings\/security\/app"/, 'Continue goes back to the apps');
    const again = await c.get('/settings/security/backup-codes/new');
    assert.ok(![...again.text.matchAll(/<li><code>/g)].length && !codes.some(([, code]) => again.text.includes(code!)), 'the codes are shown once');

    const list = textOf((await c.get('/settings/security/app')).text);
    assert.match(list, /Pixel 8/);
    assert.match(list, /Not used yet/);
    const added = (await eventsOf(t.s, user.id)).find((e) => e.event === 'factor.added');
    assert.deepEqual({ factor: added?.details?.factor, name: added?.details?.name }, { factor: 'totp', name: 'Pixel 8' });

    // The secret at rest is sealed: the base32 key appears nowhere in the row.
    const rows = (await t.s.db.execute(sql`select * from totp_authenticators where user_id = ${user.id}`)) as unknown as { rows: Record<string, unknown>[] };
    assert.equal(rows.rows.length, 1);
    const row = JSON.stringify(rows.rows[0]);
    assert.ok(!row.includes(secret) && !row.toLowerCase().includes(secret.toLowerCase()), 'the key is not stored in clear');
    assert.match(String(rows.rows[0]!.secret_sealed), /^v1\./);
  });

  test('a wrong code is refused with the same key, and saves nothing', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/app/new');
    const secret = keyOn((await c.get('/settings/security/app/new')).text);
    const right = oathtool(secret);
    const wrong = right === '000000' ? '111111' : '000000';
    const res = await c.post('/settings/security/app/new', { name: 'Phone', code: wrong });
    assert.equal(res.status, 400);
    assert.match(textOf(res.text), /That code is not right/);
    assert.equal(keyOn(res.text), secret, 'the same key, so the app already scanned still fits');
    assert.match(res.text, /name="name" value="Phone"/, 'the name typed is kept');
    assert.deepEqual(await t.s.totp.list(user.id), []);
    // Each counts as a wrong code: four more, so this client stays short of the waits.
    for (const junk of ['abcdef', '12345', '１２３４５６', '']) {
      assert.equal((await c.post('/settings/security/app/new', { name: 'Phone', code: junk })).status, 400, junk);
    }
    assert.deepEqual(await t.s.totp.list(user.id), []);
  });

  test('six wrong codes are throttled, and while throttled even the right code is refused', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/app/new');
    const secret = keyOn((await c.get('/settings/security/app/new')).text);
    const right = oathtool(secret);
    const wrong = (i: number) => String((Number(right) + 1000 + i) % 1_000_000).padStart(6, '0');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await c.post('/settings/security/app/new', { name: 'Phone', code: wrong(i) })).status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
    const refused = await c.post('/settings/security/app/new', { name: 'Phone', code: oathtool(secret) });
    assert.equal(refused.status, 429);
    assert.match(textOf(refused.text), /Too many attempts/);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.deepEqual(await t.s.totp.list(user.id), []);
  });

  test('the code that added the app cannot sign in again; a code from the next step can', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    const { secret, step, res } = await addApp(c, 'Phone');
    assert.equal(res.status, 303);
    assert.equal((await t.s.totp.list(user.id))[0]?.lastStep, step, 'the step used is recorded');
    await c.post('/logout');

    // Someone who watched the code being typed tries it at the sign-in page within the same 30 seconds.
    const replay = await signInWithApp(t.client(), user.email, totpCode(secret, new Date(step * TOTP_PERIOD * 1000)));
    assert.notEqual(replay.status, 303);
    assert.equal((await t.s.totp.list(user.id))[0]?.lastUsedAt, null);

    const next = oathtool(secret, (step + 1) * TOTP_PERIOD);
    const ok = await signInWithApp(t.client(), user.email, next);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, '/');
  });

  test('no more than ten apps per user', async () => {
    const user = await buildUser(t.s);
    const first = await addAuthenticator(t.s, user.id, 'Phone 1');
    for (let i = 2; i <= 10; i++) await addAuthenticator(t.s, user.id, `Phone ${i}`);
    // Signing in with one of them is also a fresh proof.
    const c = t.client();
    assert.equal((await signInWithApp(c, user.email, oathtool(first))).headers.location, '/');
    const limited = await c.get('/settings/security/app/new');
    assert.equal(limited.status, 303);
    assert.equal(limited.headers.location, '/settings/security/app');
    const list = await c.get('/settings/security/app');
    assert.match(textOf(list.text), /You have 10 authenticator apps, the most allowed/);
    assert.ok(!list.text.includes('href="/settings/security/app/new"'), 'no link to add another');
    const post = await c.post('/settings/security/app/new', { name: 'Eleventh', code: '123456' });
    assert.equal(post.status, 303);
    assert.equal((await t.s.totp.list(user.id)).length, 10);
  });
});

describe('removing an authenticator app', () => {
  test('another user’s app cannot be removed: 404, and it stays', async () => {
    const owner = await buildUser(t.s);
    await addAuthenticator(t.s, owner.id, 'Owner phone');
    const [theirs] = await t.s.totp.list(owner.id);
    const other = await buildUser(t.s);
    const c = await t.signIn(other.email);
    await t.stepUp(c, '/settings/security/app');
    const res = await c.post(`/settings/security/app/${theirs!.id}/remove`);
    assert.equal(res.status, 404);
    assert.equal((await c.post('/settings/security/app/not-a-uuid/remove')).status, 404);
    assert.equal((await t.s.totp.list(owner.id)).length, 1);
  });

  test('the last factor cannot be removed while the administrator requires two-step verification', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const secret = await addAuthenticator(t.s, user.id);
    const c = t.client();
    assert.equal((await signInWithApp(c, user.email, oathtool(secret))).headers.location, '/');
    const page = textOf((await c.get('/settings/security/app')).text);
    assert.match(page, /before you remove your last authenticator app/);
    const [app] = await t.s.totp.list(user.id);
    const res = await c.post(`/settings/security/app/${app!.id}/remove`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/settings/security/app');
    assert.match(textOf((await c.get('/settings/security/app')).text), /This app is your only way to verify/);
    assert.equal((await t.s.totp.list(user.id)).length, 1);

    // With a second app, one of them may go.
    await addAuthenticator(t.s, user.id, 'Spare');
    await c.get('/settings/security/app');
    assert.equal((await c.post(`/settings/security/app/${app!.id}/remove`)).status, 303);
    assert.deepEqual((await t.s.totp.list(user.id)).map((a) => a.name), ['Spare']);
  });

  test('removing an app ends every trusted browser and is audited', async () => {
    const user = await buildUser(t.s);
    const secret = await addAuthenticator(t.s, user.id, 'Old phone');
    const c = t.client();
    const signedIn = await signInWithApp(c, user.email, oathtool(secret), { trust: 'on' });
    assert.equal(signedIn.headers.location, '/');
    assert.equal((await t.s.trusted.list(user.id)).length, 1, 'this browser is trusted');
    const page = await c.get('/settings/security/app');
    assert.match(textOf(page.text), /Old phone/);
    const [app] = await t.s.totp.list(user.id);
    const res = await c.post(`/settings/security/app/${app!.id}/remove`);
    assert.equal(res.status, 303);
    assert.match(textOf((await c.get('/settings/security/app')).text), /Authenticator app “Old phone” removed/);
    assert.deepEqual(await t.s.totp.list(user.id), []);
    assert.deepEqual(await t.s.trusted.list(user.id), []);
    const removed = (await eventsOf(t.s, user.id)).find((e) => e.event === 'factor.removed');
    assert.equal(removed?.details?.factor, 'totp');
    assert.equal(removed?.details?.name, 'Old phone');
  });
});

describe('enrolment and odd input', () => {
  test('a user the policy holds at enrolment sets up an app, sees the backup codes, and ends signed in', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const c = t.client();
    await c.get('/login');
    assert.equal((await c.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/account-security');
    const page = await c.get('/account-security/app');
    assert.equal(page.status, 200);
    assert.ok(!/class="subnav"/.test(page.text), 'no settings to wander off to');
    assert.match(textOf(page.text), /requires two-step verification/);
    const res = await c.post('/account-security/app', { name: 'Phone', code: oathtool(keyOn(page.text)) });
    assert.equal(res.headers.location, '/settings/security/backup-codes/new');
    const codes = await c.get('/settings/security/backup-codes/new');
    assert.match(codes.text, /<a class="button primary" href="\/"/, 'Continue leads home');
    assert.equal((await c.get('/')).status, 200);
    assert.equal((await t.s.totp.list(user.id)).length, 1);
  });

  test('a huge name or code is refused without harm', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/app/new');
    const secret = keyOn((await c.get('/settings/security/app/new')).text);
    const mb = 'x'.repeat(1024 * 1024);
    assert.equal((await c.post('/settings/security/app/new', { name: mb, code: '123456' })).status, 413);
    assert.equal((await c.post('/settings/security/app/new', { name: 'Phone', code: mb })).status, 413);
    assert.equal((await c.post('/settings/security/app/new', { name: 'x'.repeat(20_000), code: '123456' })).status, 400);
    assert.equal((await c.post('/settings/security/app/new', { name: 'Phone', code: '1'.repeat(20_000) })).status, 400);
    assert.equal((await c.post('/settings/security/app/new', { name: 'x'.repeat(41), code: '123456' })).status, 400);
    assert.deepEqual(await t.s.totp.list(user.id), []);
    assert.equal(keyOn((await c.get('/settings/security/app/new')).text), secret, 'the page still works');
  });
});

describe('the secret being set up', () => {
  const box = new SecretBox([Buffer.alloc(32, 7)]);

  test('stays the same for fifteen minutes, sealed in the session, then a new one is made', () => {
    const session: Parameters<typeof startPending>[0] = {};
    const at = Date.UTC(2026, 0, 5, 9, 0);
    const first = startPending(session, box, at);
    assert.ok(session.pendingTotp && !session.pendingTotp.sealed.includes(first), 'the session holds it sealed');
    assert.equal(startPending(session, box, at + PENDING_TOTP_MS - 1), first);
    assert.equal(pendingSecret(session, box, at + PENDING_TOTP_MS), undefined, 'too old to confirm');
    const second = startPending(session, box, at + PENDING_TOTP_MS);
    assert.notEqual(second, first);
  });

  test('one sealed with another key, or altered, counts as none', () => {
    const other = new SecretBox([Buffer.alloc(32, 9)]);
    const session: Parameters<typeof startPending>[0] = { pendingTotp: { sealed: other.seal(newTotpSecret()), at: Date.now() } };
    assert.equal(pendingSecret(session, box), undefined);
    session.pendingTotp = { sealed: 'v1.not-sealed', at: Date.now() };
    assert.equal(pendingSecret(session, box), undefined);
  });
});

describe('signing in with an authenticator app', () => {
  test('after adding an app, sign-in asks for its code and accepts one from oathtool', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    const { secret, step, res } = await addApp(c, 'Phone');
    assert.equal(res.status, 303);
    await c.post('/logout');
    const b = t.client();
    await b.get('/login');
    assert.equal((await b.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/code');
    const ask = await b.get('/login/code');
    assert.equal(ask.status, 200);
    assert.match(ask.text, /name="code"/);
    // Not the step that added it: that one is spent.
    const code = oathtool(secret, Math.max(stepOf(Date.now()), step + 1) * TOTP_PERIOD);
    const done = await b.post('/login/code', { code });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/');
    assert.equal((await b.get('/')).status, 200);
    assert.ok((await t.s.totp.list(user.id))[0]?.lastUsedAt, 'the app shows when it was last used');
  });
});
