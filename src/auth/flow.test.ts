import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { addAuthenticator, buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../test/helpers/client.ts';
import { appPasswords, oneTimeCodes } from '../db/schema/index.ts';
import { DEFAULT_RULES } from './regulation.ts';
import { totpCode, TOTP_PERIOD } from '../twofactor/totp/totp.ts';

let t: TestApp;
before(async () => {
  // A first wait far longer than any test: how many guesses pass must not depend on the machine's speed.
  t = await startApp({}, { rules: { ...DEFAULT_RULES, baseDelaySeconds: 600 } });
});
after(() => t.close());

/** Backup codes as the one-time page shows them. */
const BACKUP = /\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]\b/g;

/** A code from the authenticator for a step away from now (0: this step). */
const appCode = (secret: string, steps = 0) => totpCode(secret, new Date(Date.now() + steps * TOTP_PERIOD * 1000));

async function passwordStep(email: string, c: WebClient = t.client()) {
  await c.get('/login');
  const res = await c.post('/login', { email, password: PASSWORD });
  return { c, res };
}

/** signInWithApp signs in a user who has an authenticator: password, then the app's code. */
async function signInWithApp(email: string, secret: string, steps = 0) {
  const { c } = await passwordStep(email);
  await c.get('/login/code');
  const done = await c.post('/login/code', { code: appCode(secret, steps) });
  assert.equal(done.status, 303, textOf(done.text));
  await c.get('/');
  return c;
}

/** backupCodesOf issues a user a set, as the first factor would, and returns them. */
const backupCodesOf = (userId: string) => t.s.backup.issue(userId);

describe('the second step asks for the user’s factor', () => {
  test('a user with an app is asked for its code and is never sent a text', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137001' });
    const secret = await addAuthenticator(t.s, user.id);
    const texts = t.s.texts.length;
    const { c, res } = await passwordStep(user.email);
    assert.equal(res.headers.location, '/login/code');
    const page = textOf((await c.get('/login/code')).text);
    assert.match(page, /Enter the code from your authenticator app/);
    assert.equal(t.s.texts.length, texts, 'no text was sent');
    const done = await c.post('/login/code', { code: appCode(secret) });
    assert.equal(done.status, 303);
    assert.equal((await c.get('/')).status, 200);
    assert.equal(t.s.texts.length, texts);
  });

  test('"use another way" lists the other factors; choosing text messages sends the text then', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137002' });
    await addAuthenticator(t.s, user.id);
    await backupCodesOf(user.id);
    const { c } = await passwordStep(user.email);
    const methods = textOf((await c.get('/login/methods')).text);
    assert.match(methods, /Authenticator app/);
    assert.match(methods, /Text message \+86 137\*\*\*\*7002/);
    assert.match(methods, /Backup codes 10 left/);
    const texts = t.s.texts.length;
    assert.equal((await c.post('/login/method', { factor: 'sms' })).headers.location, '/login/code');
    assert.equal(t.s.texts.length, texts + 1);
    assert.match(textOf((await c.get('/login/code')).text), /Enter the code we texted you/);
    assert.equal((await c.post('/login/code', { code: t.s.lastCode('+8613700137002') })).status, 303);
    // The one that worked is asked for first next time.
    const again = await passwordStep(user.email);
    assert.match(textOf((await again.c.get('/login/code')).text), /Enter the code we texted you/);
  });

  test('a factor the user does not have cannot be chosen', async () => {
    const user = await buildUser(t.s);
    await addAuthenticator(t.s, user.id);
    const { c } = await passwordStep(user.email);
    await c.get('/login/code');
    assert.equal((await c.post('/login/method', { factor: 'sms' })).status, 400);
    assert.equal((await c.post('/login/method', { factor: 'fax' })).status, 400);
  });

  test('the app code is checked once: the same code again is refused', async () => {
    const user = await buildUser(t.s);
    const secret = await addAuthenticator(t.s, user.id);
    // One moment for both codes, so a step boundary between the two sign-ins changes nothing.
    const at = Date.now();
    const code = totpCode(secret, new Date(at));
    const first = await passwordStep(user.email);
    await first.c.get('/login/code');
    assert.equal((await first.c.post('/login/code', { code })).status, 303);
    const { c } = await passwordStep(user.email);
    await c.get('/login/code');
    const replay = await c.post('/login/code', { code });
    assert.equal(replay.status, 401);
    assert.equal((await c.post('/login/code', { code: totpCode(secret, new Date(at + TOTP_PERIOD * 1000)) })).status, 303, 'the next step’s code works');
  });

  test('five wrong app codes bring a wait that holds across new sign-ins, and the page counts down the tries', async () => {
    const user = await buildUser(t.s);
    const secret = await addAuthenticator(t.s, user.id);
    const { c } = await passwordStep(user.email);
    await c.get('/login/code');
    const wrong = appCode(secret) === '000000' ? '111111' : '000000';
    const first = await c.post('/login/code', { code: wrong });
    assert.match(textOf(first.text), /Tries left before a pause: 4/);
    for (let i = 0; i < 4; i++) await c.post('/login/code', { code: wrong });
    // Starting over from the password does not start the count over.
    await passwordStep(user.email, c);
    await c.get('/login/code');
    const refused = await c.post('/login/code', { code: appCode(secret) });
    assert.equal(refused.status, 429);
    assert.match(textOf(refused.text), /Too many attempts/);
  });

  test('a wrong backup code never clears or adds to the app’s count, and the other way round', async () => {
    const user = await buildUser(t.s);
    const secret = await addAuthenticator(t.s, user.id);
    await backupCodesOf(user.id);
    const { c } = await passwordStep(user.email);
    await c.get('/login/code');
    const wrong = appCode(secret) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) await c.post('/login/code', { code: wrong });
    await c.post('/login/method', { factor: 'backup' });
    const backupTry = await c.post('/login/code', { code: 'aaaa-aaaa-aaaa-a' });
    assert.equal(backupTry.status, 401, 'backup codes keep their own count');
    await c.post('/login/method', { factor: 'totp' });
    assert.equal((await c.post('/login/code', { code: appCode(secret) })).status, 429, 'the app stays paused');
  });
});

describe('text and email codes', () => {
  test('after five wrong tries the code says it is used up; a new code works at once', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137010' });
    const { c } = await passwordStep(user.email);
    await c.get('/login/code');
    const code = t.s.lastCode('+8613700137010');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) await c.post('/login/code', { code: wrong });
    const used = await c.post('/login/code', { code });
    assert.match(textOf(used.text), /tried too many times/);
    await t.s.db.update(oneTimeCodes).set({ createdAt: sql`${oneTimeCodes.createdAt} - interval '61 seconds'` }).where(eq(oneTimeCodes.userId, user.id));
    await c.post('/login/code/resend');
    const fresh = t.s.lastCode('+8613700137010');
    assert.equal((await c.post('/login/code', { code: fresh })).status, 303);
  });

  test('when the text cap is reached the page offers the other factors', async () => {
    const capped = await startApp({ SMS_MAX_PER_ACCOUNT_HOUR: '1' });
    try {
      const user = await buildUser(capped.s, { phone: '+8613700137011' });
      await capped.s.backup.issue(user.id);
      // The hour's one text went to the first browser; the second gets none.
      let last: WebClient | undefined;
      for (let i = 0; i < 2; i++) {
        const b = capped.client();
        await b.get('/login');
        await b.post('/login', { email: user.email, password: PASSWORD });
        last = b;
      }
      const page = await last!.get('/login/code');
      assert.match(textOf(page.text), /Too many codes/);
      assert.match(page.text, /<details class="other-ways" open>/);
      assert.match(textOf(page.text), /Backup codes 10 left/);
    } finally {
      await capped.close();
    }
  });
});

describe('backup codes', () => {
  test('a backup code works once, ends trusted browsers, and the count shown drops', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137020' });
    const codes = await backupCodesOf(user.id);
    await t.signIn(user.email, { trust: true });
    assert.equal((await t.s.trusted.list(user.id)).length, 1);
    const { c } = await passwordStep(user.email);
    await c.get('/login/code');
    await c.post('/login/method', { factor: 'backup' });
    assert.match(textOf((await c.get('/login/code')).text), /You have 10 left/);
    const done = await c.post('/login/code', { code: codes[0]!.toUpperCase() });
    assert.equal(done.status, 303);
    assert.match(textOf((await c.get('/')).text), /signed in with a backup code; 9 are left/);
    assert.equal((await t.s.trusted.list(user.id)).length, 0);
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'backup_code.used'));
    const again = await passwordStep(user.email);
    await again.c.get('/login/code');
    await again.c.post('/login/method', { factor: 'backup' });
    assert.equal((await again.c.post('/login/code', { code: codes[0]! })).status, 401, 'a used code is refused');
  });

  test('a new set needs a fresh factor, is shown once, and ends the old set', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137021' });
    const old = await backupCodesOf(user.id);
    const c = await t.signIn(user.email, { trust: true });
    await c.post('/logout');
    const stale = await t.signIn(user.email, { client: c });
    await stale.get('/settings/security/backup-codes');
    const refused = await stale.post('/settings/security/backup-codes');
    assert.match(refused.headers.location!, /^\/settings\/security\/verify/);
    await t.stepUp(stale, '/settings/security/backup-codes');
    await stale.get('/settings/security/backup-codes');
    const made = await stale.post('/settings/security/backup-codes');
    assert.equal(made.headers.location, '/settings/security/backup-codes/new');
    const shown = (await stale.get('/settings/security/backup-codes/new')).text.match(BACKUP) ?? [];
    assert.equal(new Set(shown).size, 10);
    assert.equal((await stale.get('/settings/security/backup-codes/new')).headers.location, '/settings/security/backup-codes', 'shown once');
    const { c: next } = await passwordStep(user.email);
    await next.get('/login/code');
    await next.post('/login/method', { factor: 'backup' });
    assert.equal((await next.post('/login/code', { code: old[0]! })).status, 401);
    assert.equal((await next.post('/login/code', { code: shown[0]! })).status, 303);
  });
});

describe('the rule for factors', () => {
  test('a session that has proven nothing fresh can add no factor of any kind', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137030' });
    const c = await t.signIn(user.email, { trust: true });
    await c.post('/logout');
    const stale = await t.signIn(user.email, { client: c });
    await stale.get('/settings/security');
    const attempts: Array<[string, Record<string, string>]> = [
      ['/settings/security/sms/change', { phone: '+8613700137031' }],
      ['/settings/security/app/new', { name: 'x', code: '123456' }],
      ['/settings/security/email/send', { address: 'me@elsewhere.example' }],
      ['/settings/security/backup-codes', {}],
      ['/settings/security/protection', {}],
      ['/settings/security/disable', {}],
    ];
    for (const [path, form] of attempts) {
      const res = await stale.post(path, form);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.location!, /^\/settings\/security\/verify\?/, path);
    }
    assert.equal((await stale.get('/settings/security/app/new')).headers.location?.startsWith('/settings/security/verify?'), true);
    assert.equal(await t.s.phones.load(user.id), '+8613700137030');
    assert.equal((await t.s.totp.list(user.id)).length, 0);
    assert.equal(await t.s.recoveryEmails.load(user.id), undefined);
    assert.equal((await t.s.users.load(user.id))!.loginProtection, true);
  });

  test('once a factor exists, the password no longer counts as the fresh proof for factor changes', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    await c.post('/settings/security/sms/send', { phone: '+8613700137032' });
    await c.post('/settings/security/sms/confirm', { code: t.s.lastCode('+8613700137032') });
    await c.get('/settings/security');
    // The password check is still under ten minutes old, but it proved no factor.
    const res = await c.post('/settings/security/disable');
    assert.match(res.headers.location!, /^\/settings\/security\/verify\?.*need=factors/);
    const page = await c.get(res.headers.location!);
    assert.doesNotMatch(page.text, /name="password"/, 'the password is not offered for factor changes');
    assert.equal(await t.s.phones.load(user.id), '+8613700137032');
  });

  test('a step-up with the app brings the user back to the form they posted, filled in, and it then works', async () => {
    const user = await buildUser(t.s);
    const secret = await addAuthenticator(t.s, user.id);
    const c = await signInWithApp(user.email, secret);
    // Eleven minutes later the sign-in's proof is stale.
    const { ageSessions } = await import('../../test/helpers/factories.ts');
    await ageSessions(t.s, user.id, 11 * 60_000);
    await c.get('/settings/app-passwords');
    const asked = await c.post('/settings/app-passwords', { name: 'Foxmail at home', imap: 'on', smtp: 'on', expires: 'never' });
    assert.match(asked.headers.location!, /^\/settings\/security\/verify\?/);
    await c.get(asked.headers.location!);
    const verified = await c.post('/settings/security/verify', { factor: 'totp', code: appCode(secret, 1), next: '/settings/app-passwords', need: 'sensitive' });
    assert.equal(verified.headers.location, '/settings/security/continue');
    const held = await c.get('/settings/security/continue');
    assert.match(held.text, /name="name" value="Foxmail at home"/);
    const made = await c.post('/settings/app-passwords', { name: 'Foxmail at home', imap: 'on', smtp: 'on', expires: 'never' });
    assert.equal(made.headers.location, '/settings/app-passwords/new');
    assert.match(textOf((await c.get('/settings/app-passwords/new')).text), /Foxmail at home/);
  });

  test('reloading the page that showed a new client-specific password makes no second one and shows nothing', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/app-passwords');
    const made = await c.post('/settings/app-passwords', { name: 'iPhone', imap: 'on', expires: 'never' });
    assert.equal(made.status, 303);
    const shown = await c.get('/settings/app-passwords/new');
    const secret = /id="app-password" class="secret">([^<]+)</.exec(shown.text)?.[1];
    assert.ok(secret, 'the password is shown once');
    const reload = await c.get('/settings/app-passwords/new');
    assert.equal(reload.headers.location, '/settings/app-passwords');
    const rows = await t.s.db.select().from(appPasswords).where(eq(appPasswords.userId, user.id));
    assert.equal(rows.length, 1);
  });
});

describe('protection scopes and status', () => {
  test('with login protection off, the password alone signs in; the policy keeps it on', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137040' });
    await t.s.users.update(user.id, { loginProtection: false });
    const { res } = await passwordStep(user.email);
    assert.equal(res.headers.location, '/');
    await t.s.users.update(user.id, { require2fa: true });
    assert.equal((await passwordStep(user.email)).res.headers.location, '/login/code');
  });

  test('the main password still opens no mail for a user with only an authenticator', async () => {
    const user = await buildUser(t.s);
    await addAuthenticator(t.s, user.id);
    const r = await t.s.mailAuth.authenticate({ user: user.email, secret: PASSWORD, protocol: 'imap', clientIp: '198.51.100.77' });
    assert.equal(r.ok, false);
  });

  test('forged scope and preference fields change nothing the page does not offer', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137044', require2fa: true });
    const c = await t.signIn(user.email);
    await c.get('/settings/security');
    // The policy forces login protection: posting without the box keeps it on.
    await c.post('/settings/security/protection', { operation: 'on' });
    assert.equal((await t.s.users.load(user.id))!.loginProtection, true);
    // Only a factor the user has may be preferred, and never backup codes.
    assert.equal((await c.post('/settings/security/preferred', { factor: 'totp' })).status, 400);
    assert.equal((await c.post('/settings/security/preferred', { factor: 'backup' })).status, 400);
    assert.ok([400, 413].includes((await c.post('/settings/security/preferred', { factor: 'x'.repeat(100_000) })).status));
    assert.equal((await t.s.users.load(user.id))!.preferredFactor, null);
    assert.equal((await c.post('/settings/security/preferred', { factor: 'sms' })).status, 303);
    assert.equal((await t.s.users.load(user.id))!.preferredFactor, 'sms');
  });

  test('status turns expired when no factor changed for the expiry period, and the page says how to renew', async () => {
    const user = await buildUser(t.s, { phone: '+8613700137041' });
    await t.s.users.update(user.id, { factorsChangedAt: new Date(Date.now() - 181 * 86400_000) });
    const c = await t.signIn(user.email);
    const page = textOf((await c.get('/settings/security')).text);
    assert.match(page, /On, renewal recommended/);
    assert.match(page, /Get new backup codes/);
  });

  test('turning two-step off needs a current code, is refused under the policy, and removes every factor', async () => {
    const forced = await buildUser(t.s, { phone: '+8613700137042', require2fa: true });
    const f = await t.signIn(forced.email);
    await f.get('/settings/security');
    await f.post('/settings/security/disable');
    assert.equal(await t.s.phones.load(forced.id), '+8613700137042');

    const user = await buildUser(t.s, { phone: '+8613700137043' });
    await addAuthenticator(t.s, user.id);
    await backupCodesOf(user.id);
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    await c.get('/login/code');
    await c.post('/login/method', { factor: 'sms' });
    await c.post('/login/code', { code: t.s.lastCode('+8613700137043') });
    await c.get('/settings/security');
    const res = await c.post('/settings/security/disable');
    assert.equal(res.headers.location, '/settings/security');
    assert.equal(await t.s.flow.hasFactor(user), false);
    assert.equal(await t.s.backup.remaining(user.id), 0);
    assert.match(textOf((await c.get('/settings/security')).text), /Two-step verification is off/);
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'twofactor.disabled'));
  });
});
