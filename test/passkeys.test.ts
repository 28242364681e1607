import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from './helpers/app.ts';
import { ageSessions, buildUser, eventsOf, PASSWORD } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { SoftAuthenticator } from './helpers/authenticator.ts';
import { DEFAULT_RULES } from '../src/auth/regulation.ts';
import { notices, webauthnCredentials } from '../src/db/schema/index.ts';
import type { User } from '../src/users/repo.ts';

const ORIGIN = 'http://localhost:8080';
const RP_ID = 'localhost';
const GENERIC_2FA = /That security key or passkey could not be verified/;
const GENERIC_PASSWORDLESS = /Signing in with a passkey did not work/;

let t: TestApp;
before(async () => {
  // Waits long enough that a throttled client stays throttled for the rest of its test; every client here is 127.0.0.1.
  t = await startApp({ PUBLIC_URL: ORIGIN }, { rules: { ...DEFAULT_RULES, baseDelaySeconds: 600, ipMaxFailures: 10_000 } });
});
after(() => t.close());

const newKey = () => new SoftAuthenticator(ORIGIN, RP_ID);

/** json posts the form token (and more) to one of the script's endpoints and reads its JSON. */
async function json(c: WebClient, path: string, form: Record<string, string> = {}) {
  const res = await c.post(path, form);
  assert.equal(res.status, 200, `${path} answered ${res.status} ${res.headers.location ?? ''}`);
  return res.body as { challenge: string; rp: { id: string }; user: { id: string }; allowCredentials?: Array<{ id: string }>; excludeCredentials?: Array<{ id: string }>; userVerification?: string; authenticatorSelection?: Record<string, string> };
}

/** addKey goes through the settings page as the page's script would: step up (the password), options, the key's answer, the form. */
async function addKey(c: WebClient, key: SoftAuthenticator, name = 'YubiKey', opts: { stepUp?: boolean } = {}) {
  if (opts.stepUp !== false) await t.stepUp(c, '/settings/security/passkeys/new');
  const page = await c.get('/settings/security/passkeys/new');
  assert.equal(page.status, 200);
  const options = await json(c, '/settings/security/passkeys/options');
  return c.post('/settings/security/passkeys/new', { name, response: JSON.stringify(key.register(options)) });
}

/** seedKey gives a user a key as if they had added it, for tests about using one. */
async function seedKey(user: User, key: SoftAuthenticator, name = 'Seeded key', counter = 0) {
  key.userHandle = Buffer.from(user.id).toString('base64url');
  key.counter = counter;
  const [row] = await t.s.db
    .insert(webauthnCredentials)
    .values({ userId: user.id, credentialId: key.id, publicKey: key.publicKey, counter, transports: ['usb'], name, discoverable: true, backedUp: false, deviceType: 'singleDevice', aaguid: '00000000-0000-0000-0000-000000000000' })
    .returning();
  return row!;
}

/** passwordStep signs in with the password, leaving the session at the second step. */
async function passwordStep(c: WebClient, email: string) {
  await c.get('/login');
  const res = await c.post('/login', { email, password: PASSWORD });
  assert.equal(res.headers.location, '/login/code');
  const page = await c.get('/login/code');
  assert.equal(page.status, 200);
  return page;
}

/** secondStep asks for a sign-in challenge and returns it. */
const loginChallenge = async (c: WebClient) => (await json(c, '/login/passkey/options')).challenge;

/** signInWithKey: the password, then the key's answer. */
async function signInWithKey(c: WebClient, user: User, key: SoftAuthenticator, extra: Record<string, string> = {}) {
  await passwordStep(c, user.email);
  const challenge = await loginChallenge(c);
  return c.post('/login/passkey', { response: JSON.stringify(key.assert(challenge)), ...extra });
}

/** passwordless signs a guest in with a passkey alone, as the login page's script would. */
async function passwordless(c: WebClient, key: SoftAuthenticator, opts: Parameters<SoftAuthenticator['assert']>[1] = {}) {
  await c.get('/login');
  const options = await json(c, '/login/passwordless/options');
  return c.post('/login/passwordless', { response: JSON.stringify(key.assert(options.challenge, opts)) });
}

describe('adding a security key (Settings → Security → Security keys and passkeys)', () => {
  test('a session that has not proven anything fresh gets no challenge and adds nothing', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await c.get('/settings/security/passkeys');
    const page = await c.get('/settings/security/passkeys/new');
    assert.equal(page.status, 303);
    assert.match(page.headers.location!, /^\/settings\/security\/verify\?/);
    const options = await c.post('/settings/security/passkeys/options');
    assert.equal(options.status, 303);
    assert.match(options.headers.location!, /^\/settings\/security\/verify\?/);
    // An answer to a challenge it made up itself: nothing to attach it to.
    const forged = newKey().register({ challenge: 'bWFkZS11cA', rp: { id: RP_ID }, user: { id: 'x' } });
    const post = await c.post('/settings/security/passkeys/new', { name: 'Attacker', response: JSON.stringify(forged) });
    assert.equal(post.status, 303);
    assert.match(post.headers.location!, /^\/settings\/security\/verify\?/);
    // Even after the password, an answer to a challenge this session never got is refused.
    await t.stepUp(c, '/settings/security/passkeys/new');
    await c.get('/settings/security/passkeys/new');
    const unseen = await c.post('/settings/security/passkeys/new', { name: 'Attacker', response: JSON.stringify(forged) });
    assert.equal(unseen.status, 400);
    assert.match(textOf(unseen.text), /The key could not be added/);
    assert.deepEqual(await t.s.webauthn.list(user.id), []);
  });

  test('a key added is listed with its name, kind and transports, audited, noticed, and brings backup codes once', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/passkeys/new');
    await c.get('/settings/security/passkeys/new');
    const options = await json(c, '/settings/security/passkeys/options');
    assert.equal(options.rp.id, RP_ID);
    assert.equal(Buffer.from(options.user.id, 'base64url').toString(), user.id, 'the user handle is the account id, nothing personal');
    assert.deepEqual(options.authenticatorSelection, { residentKey: 'preferred', userVerification: 'preferred', requireResidentKey: false });
    const key = newKey();
    const res = await c.post('/settings/security/passkeys/new', { name: '  YubiKey 5  ', response: JSON.stringify(key.register(options)) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/settings/security/backup-codes/new', 'the first factor leads to the backup codes');
    assert.equal([...(await c.get('/settings/security/backup-codes/new')).text.matchAll(/<li><code>/g)].length, 10);

    const list = textOf((await c.get('/settings/security/passkeys')).text);
    assert.match(list, /YubiKey 5/);
    assert.match(list, /Passkey/);
    assert.match(list, /USB, NFC/, 'transports the browser reported, unknown ones dropped');
    assert.match(list, /Not used yet/);
    const [stored] = await t.s.webauthn.list(user.id);
    assert.equal(stored!.credentialId, key.id);
    assert.deepEqual(stored!.transports, ['usb', 'nfc']);
    assert.equal(stored!.discoverable, true);

    const events = await eventsOf(t.s, user.id);
    const added = events.find((e) => e.event === 'webauthn.added');
    assert.equal(added?.details?.credentialId, key.id);
    assert.deepEqual({ factor: events.find((e) => e.event === 'factor.added')?.details?.factor }, { factor: 'webauthn' });
    const mailed = await t.s.db.select().from(notices).where(eq(notices.userId, user.id));
    assert.ok(mailed.some((n) => n.kind === 'factor.added' && (n.details as { detail?: string }).detail === 'YubiKey 5'), 'the user is told by mail');

    // With a factor now, the password no longer counts as the fresh proof another key needs.
    assert.match((await c.post('/settings/security/passkeys/options')).headers.location ?? '', /^\/settings\/security\/verify\?/);
  });

  test('a key made for another origin, or with a replayed registration, is refused', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/passkeys/new');
    await c.get('/settings/security/passkeys/new');
    const options = await json(c, '/settings/security/passkeys/options');
    const phished = await c.post('/settings/security/passkeys/new', { name: 'x', response: JSON.stringify(newKey().register(options, { origin: 'http://localhost:9999' })) });
    assert.equal(phished.status, 400);
    // The challenge went with that try: a right answer to it is now a replay.
    const late = await c.post('/settings/security/passkeys/new', { name: 'x', response: JSON.stringify(newKey().register(options)) });
    assert.equal(late.status, 400);
    assert.deepEqual(await t.s.webauthn.list(user.id), []);
    const reasons = (await eventsOf(t.s, user.id)).filter((e) => e.event === 'login.code_failed').map((e) => e.details?.reason);
    assert.deepEqual(reasons, ['invalid', 'replayed']);
  });

  test('a 1 MB answer is refused cleanly, and malformed JSON is one more failure', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/passkeys/new');
    await c.get('/settings/security/passkeys/new');
    await json(c, '/settings/security/passkeys/options');
    const huge = await c.post('/settings/security/passkeys/new', { name: 'x', response: 'x'.repeat(1024 * 1024) });
    assert.equal(huge.status, 413);
    assert.match(textOf(huge.text), /too large/i);
    const big = await c.post('/settings/security/passkeys/new', { name: 'x', response: `{"id":"${'a'.repeat(20_000)}"}` });
    assert.equal(big.status, 400);
    await c.get('/settings/security/passkeys/new');
    await json(c, '/settings/security/passkeys/options');
    const junk = await c.post('/settings/security/passkeys/new', { name: 'x', response: '{"id": [' });
    assert.equal(junk.status, 400);
    assert.match(textOf(junk.text), /The key could not be added/);
    assert.deepEqual(await t.s.webauthn.list(user.id), []);
  });
});

describe('the number of keys', () => {
  test('two sessions adding at once past nine keys add only the tenth: the limit holds under parallel requests', async () => {
    const user = await buildUser(t.s);
    const first = newKey();
    await seedKey(user, first, 'Key 1');
    for (let i = 2; i <= 9; i++) await seedKey(user, newKey(), `Key ${i}`);
    // Two browsers of the same user, each just signed in with a key (fresh enough to add one) and with its own challenge.
    const answers: Array<{ c: WebClient; response: string }> = [];
    for (const c of [t.client(), t.client()]) {
      assert.equal((await signInWithKey(c, user, first)).headers.location, '/');
      assert.equal((await c.get('/settings/security/passkeys/new')).status, 200);
      const options = await json(c, '/settings/security/passkeys/options');
      answers.push({ c, response: JSON.stringify(newKey().register(options)) });
    }
    const results = await Promise.all(answers.map(({ c, response }) => c.post('/settings/security/passkeys/new', { name: 'One too many', response })));
    assert.equal((await t.s.webauthn.list(user.id)).length, 10, results.map((r) => `${r.status} ${r.headers.location ?? ''}`).join(', '));
    const refused = answers.filter((_, i) => results[i]!.headers.location === '/settings/security/passkeys');
    assert.equal(refused.length, 1, 'one of the two is told the most are reached');
    assert.match(textOf((await refused[0]!.c.get('/settings/security/passkeys')).text), /You have 10 security keys and passkeys, the most allowed/);
  });
});

describe('signing in with the password and a key', () => {
  test('the key is offered first after the password, and its answer signs in', async () => {
    const user = await buildUser(t.s, { phone: '+8613500135101' });
    const key = newKey();
    await seedKey(user, key, 'Desk key');
    const c = t.client();
    const page = await passwordStep(c, user.email);
    const text = textOf(page.text);
    assert.match(text, /Use your security key or passkey/);
    assert.match(text, /Desk key/);
    assert.match(text, /Use another way/);
    assert.equal(t.s.texts.filter((m) => m.to === '+8613500135101').length, 0, 'no text is spent while the key is asked for');
    const options = await json(c, '/login/passkey/options');
    assert.deepEqual(options.allowCredentials?.map((k) => k.id), [key.id]);
    const res = await c.post('/login/passkey', { response: JSON.stringify(key.assert(options.challenge)), trust: 'on' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
    assert.equal((await c.get('/settings/security')).status, 200);
    assert.equal((await t.s.trusted.list(user.id)).length, 1, 'trust this device works with a key too');
    const [row] = await t.s.webauthn.list(user.id);
    assert.equal(row!.counter, 1);
    assert.ok(row!.lastUsedAt, 'last used is recorded');
    assert.equal((await eventsOf(t.s, user.id)).find((e) => e.event === 'login.ok')?.details?.via, 'webauthn');
  });

  test('"Use another way" lists the other factors, and a text code still works', async () => {
    const user = await buildUser(t.s, { phone: '+8613500135102' });
    await seedKey(user, newKey());
    const c = t.client();
    await passwordStep(c, user.email);
    const methods = textOf((await c.get('/login/methods')).text);
    assert.match(methods, /Text message/);
    assert.match(methods, /Security key or passkey/);
    await c.post('/login/method', { factor: 'sms' });
    const res = await c.post('/login/code', { code: t.s.lastCode('+8613500135102') });
    assert.equal(res.headers.location, '/');
  });

  test('the same answer posted twice, or twice at once, signs in once', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    const c = t.client();
    await passwordStep(c, user.email);
    const answer = JSON.stringify(key.assert(await loginChallenge(c)));
    const results = await Promise.all([c.post('/login/passkey', { response: answer }), c.post('/login/passkey', { response: answer })]);
    assert.deepEqual(results.map((r) => r.status).sort(), [303, 401]);
    // Later, in a new sign-in: the old answer names a challenge this session never got.
    const d = t.client();
    await passwordStep(d, user.email);
    await loginChallenge(d);
    const replay = await d.post('/login/passkey', { response: answer });
    assert.equal(replay.status, 401);
    assert.match(textOf(replay.text), GENERIC_2FA);
  });

  test('a challenge issued to one session answers nothing in another', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    const a = t.client();
    await passwordStep(a, user.email);
    const answerForA = JSON.stringify(key.assert(await loginChallenge(a)));
    const b = t.client();
    await passwordStep(b, user.email);
    await loginChallenge(b);
    const stolen = await b.post('/login/passkey', { response: answerForA });
    assert.equal(stolen.status, 401);
    assert.match(textOf(stolen.text), GENERIC_2FA);
    // The session it was issued to can still use it.
    assert.equal((await a.post('/login/passkey', { response: answerForA })).headers.location, '/');
  });

  test('another user’s key, a malformed answer and a wrong origin fail alike', async () => {
    const user = await buildUser(t.s);
    await seedKey(user, newKey());
    const other = await buildUser(t.s);
    const theirs = newKey();
    await seedKey(other, theirs);
    const c = t.client();
    await passwordStep(c, user.email);
    // Each answer is made for a challenge just issued to this session, so only what is named fails it.
    const answers = [(ch: string) => JSON.stringify(theirs.assert(ch)), () => '{"id":', (ch: string) => JSON.stringify(theirs.assert(ch, { origin: 'https://evil.example' }))];
    for (const answer of answers) {
      const res = await c.post('/login/passkey', { response: answer(await loginChallenge(c)) });
      assert.equal(res.status, 401);
      assert.match(textOf(res.text), GENERIC_2FA);
    }
    const big = await c.post('/login/passkey', { response: 'x'.repeat(1024 * 1024) });
    assert.equal(big.status, 413);
  });

  test('a counter that goes back is refused, recorded as a possible copy, and the stored counter stays', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    const row = await seedKey(user, key);
    await t.s.db.update(webauthnCredentials).set({ counter: 1000 }).where(eq(webauthnCredentials.id, row.id));
    const c = t.client();
    await passwordStep(c, user.email);
    const res = await c.post('/login/passkey', { response: JSON.stringify(key.assert(await loginChallenge(c), { counter: 5 })) });
    assert.equal(res.status, 401);
    assert.match(textOf(res.text), GENERIC_2FA);
    const cloned = (await eventsOf(t.s, user.id)).find((e) => e.event === 'webauthn.cloned');
    assert.equal(cloned?.details?.credentialId, key.id);
    assert.deepEqual([cloned?.details?.storedCounter, cloned?.details?.presentedCounter], [1000, 5]);
    assert.equal((await t.s.webauthn.list(user.id))[0]!.counter, 1000);
    // Standing still is no better than going back.
    const still = await c.post('/login/passkey', { response: JSON.stringify(key.assert(await loginChallenge(c), { counter: 1000 })) });
    assert.equal(still.status, 401);
    assert.equal((await c.post('/login/passkey', { response: JSON.stringify(key.assert(await loginChallenge(c), { counter: 1001 })) })).headers.location, '/');
  });

  test('wrong answers are throttled by the regulator, and while throttled even a right one waits', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    const c = t.client();
    await passwordStep(c, user.email);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await c.post('/login/passkey', { response: JSON.stringify(key.assert(await loginChallenge(c), { origin: 'https://evil.example' })) })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const right = await c.post('/login/passkey', { response: JSON.stringify(key.assert(await loginChallenge(c))) });
    assert.equal(right.status, 429);
    assert.match(textOf(right.text), /Too many attempts/);
    assert.ok(Number(right.headers['retry-after']) > 0);
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'login.throttled' && e.details?.step === 'webauthn'));
  });
});

describe('step-up with a key', () => {
  test('the verify page asks for the key, and its answer unlocks adding another', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key, 'First key');
    const c = t.client();
    assert.equal((await signInWithKey(c, user, key)).headers.location, '/');
    await ageSessions(t.s, user.id, 11 * 60_000);
    const held = await c.get('/settings/security/passkeys/new');
    assert.equal(held.status, 303);
    const verify = await c.get(held.headers.location!);
    assert.match(textOf(verify.text), /Confirm it is you with one of your keys: First key/);
    assert.ok(!/name="password"/.test(verify.text), 'a user with a factor is not offered the password');
    const options = await json(c, '/settings/security/verify/passkey/options');
    const wrong = await c.post('/settings/security/verify/passkey', { response: JSON.stringify(key.assert(options.challenge, { origin: 'https://evil.example' })), next: '/settings/security/passkeys/new', need: 'factors' });
    assert.equal(wrong.status, 401);
    assert.match(textOf(wrong.text), GENERIC_2FA);
    const again = await json(c, '/settings/security/verify/passkey/options');
    const ok = await c.post('/settings/security/verify/passkey', { response: JSON.stringify(key.assert(again.challenge)), next: '/settings/security/passkeys/new', need: 'factors' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, '/settings/security/passkeys/new');
    // The same key again: the browser is told to exclude it, and the server refuses it anyway.
    await c.get('/settings/security/passkeys/new');
    const addOptions = await json(c, '/settings/security/passkeys/options');
    assert.deepEqual(addOptions.excludeCredentials?.map((k) => k.id), [key.id]);
    const dup = await c.post('/settings/security/passkeys/new', { name: 'Again', response: JSON.stringify(key.register(addOptions)) });
    assert.equal(dup.status, 400);
    assert.match(textOf(dup.text), /already added/);
    const second = await addKey(c, newKey(), 'Spare', { stepUp: false });
    assert.equal(second.status, 303);
    assert.equal(second.headers.location, '/settings/security/backup-codes/new', 'a seeded key came without backup codes: the first key added brings them');
    assert.deepEqual((await t.s.webauthn.list(user.id)).map((k) => k.name), ['First key', 'Spare']);
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'stepup.ok' && e.details?.method === 'webauthn'));
  });
});

describe('renaming and removing keys', () => {
  test('another user’s key cannot be renamed or removed: 404, and it stays as it was', async () => {
    const owner = await buildUser(t.s);
    const theirs = await seedKey(owner, newKey(), 'Owner key');
    const other = await buildUser(t.s);
    const c = await t.signIn(other.email);
    await t.stepUp(c, '/settings/security/passkeys');
    assert.equal((await c.post(`/settings/security/passkeys/${theirs.id}/rename`, { name: 'Mine now' })).status, 404);
    assert.equal((await c.post(`/settings/security/passkeys/${theirs.id}/remove`)).status, 404);
    assert.equal((await c.post('/settings/security/passkeys/not-a-uuid/remove')).status, 404);
    assert.deepEqual((await t.s.webauthn.list(owner.id)).map((k) => k.name), ['Owner key']);
  });

  test('renaming needs no step-up and is audited; a 1 MB name is refused cleanly', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    const row = await seedKey(user, key, 'Old name');
    const c = t.client();
    await signInWithKey(c, user, key);
    await ageSessions(t.s, user.id, 11 * 60_000);
    await c.get('/settings/security/passkeys');
    const res = await c.post(`/settings/security/passkeys/${row.id}/rename`, { name: '  Keyring  ' });
    assert.equal(res.status, 303);
    assert.match(textOf((await c.get('/settings/security/passkeys')).text), /Renamed to “Keyring”/);
    const renamed = (await eventsOf(t.s, user.id)).find((e) => e.event === 'webauthn.renamed');
    assert.deepEqual([renamed?.details?.from, renamed?.details?.to], ['Old name', 'Keyring']);
    assert.equal((await c.post(`/settings/security/passkeys/${row.id}/rename`, { name: 'x'.repeat(1024 * 1024) })).status, 413);
    assert.equal((await c.post(`/settings/security/passkeys/${row.id}/rename`, { name: 'x'.repeat(41) })).status, 400);
  });

  test('a user held for forced two-step enrolment can choose a security key, and is let in once it is added', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const c = t.client();
    await c.get('/login');
    const signedIn = await c.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(signedIn.headers.location, '/account-security');
    const page = await c.get('/account-security');
    assert.equal(page.status, 200, page.headers.location);
    assert.match(textOf(page.text), /Use a security key or passkey/);
    // Held: the settings pages' own key routes are not the way in.
    assert.equal((await c.post('/settings/security/passkeys/options')).headers.location, '/account-security');
    const form = await c.get('/account-security/passkey');
    assert.equal(form.status, 200);
    assert.ok(!/Two-step verification<\/a>/.test(form.text), 'no settings navigation for a held user');
    const key = newKey();
    key.userHandle = Buffer.from(user.id).toString('base64url');
    // An answer to a challenge this session was never given: refused, and the user stays held.
    const forged = await c.post('/account-security/passkey', { name: 'Forged', response: JSON.stringify(key.register({ challenge: 'bWFkZS11cA', rp: { id: RP_ID }, user: { id: key.userHandle } })) });
    assert.equal(forged.status, 400);
    assert.equal((await c.get('/')).headers.location, '/account-security');
    const options = await json(c, '/account-security/passkey/options');
    const added = await c.post('/account-security/passkey', { name: 'Desk key', response: JSON.stringify(key.register(options)) });
    assert.equal(added.status, 303);
    // A first factor: its backup codes are shown once, then the user goes on to the start page.
    assert.equal(added.headers.location, '/settings/security/backup-codes/new');
    assert.equal((await c.get('/')).status, 200);
    assert.deepEqual((await t.s.webauthn.list(user.id)).map((k) => k.name), ['Desk key']);
  });

  test('the last factor cannot be removed while the administrator requires two-step verification', async () => {
    const user = await buildUser(t.s, { require2fa: true });
    const key = newKey();
    const row = await seedKey(user, key, 'Only key');
    const c = t.client();
    assert.equal((await signInWithKey(c, user, key)).headers.location, '/');
    assert.match(textOf((await c.get('/settings/security/passkeys')).text), /before you remove your last security key/);
    const res = await c.post(`/settings/security/passkeys/${row.id}/remove`);
    assert.equal(res.status, 303);
    assert.match(textOf((await c.get('/settings/security/passkeys')).text), /This key is your only way to verify/);
    assert.equal((await t.s.webauthn.list(user.id)).length, 1);
  });

  test('removing a key is audited and noticed, and that key then fails at sign-in with the generic message', async () => {
    const user = await buildUser(t.s, { phone: '+8613500135103' });
    const key = newKey();
    const row = await seedKey(user, key, 'Lost key');
    const c = t.client();
    await signInWithKey(c, user, key);
    await c.get('/settings/security/passkeys');
    const res = await c.post(`/settings/security/passkeys/${row.id}/remove`);
    assert.equal(res.status, 303);
    assert.match(textOf((await c.get('/settings/security/passkeys')).text), /Security key “Lost key” removed/);
    const events = await eventsOf(t.s, user.id);
    assert.equal(events.find((e) => e.event === 'webauthn.removed')?.details?.credentialId, key.id);
    assert.equal(events.find((e) => e.event === 'factor.removed')?.details?.factor, 'webauthn');
    const mailed = await t.s.db.select().from(notices).where(eq(notices.userId, user.id));
    assert.ok(mailed.some((n) => n.kind === 'factor.removed'));

    const d = t.client();
    await d.get('/login');
    await d.post('/login', { email: user.email, password: PASSWORD });
    const page = textOf((await d.get('/login/code')).text);
    assert.ok(!/Use your security key/.test(page), 'the text message is asked for now');
    // The key is still in the attacker's hand: its answer, posted anyway, fails like any wrong one.
    const forged = await d.post('/login/passkey', { response: JSON.stringify(key.assert('c29tZS1jaGFsbGVuZ2U')) });
    assert.equal(forged.status, 401);
    const passkey = await passwordless(t.client(), key);
    assert.equal(passkey.status, 401);
    assert.match(textOf(passkey.text), GENERIC_PASSWORDLESS);
  });
});

describe('signing in with a passkey alone', () => {
  test('a passkey that verified its user signs in to the web without the password', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key, 'Phone passkey');
    const c = t.client();
    const login = await c.get('/login');
    assert.match(textOf(login.text), /Sign in with a passkey/);
    const options = await json(c, '/login/passwordless/options');
    assert.equal(options.userVerification, 'required');
    assert.equal(options.allowCredentials?.length ?? 0, 0, 'any passkey of this site: the key names the account');
    const res = await c.post('/login/passwordless', { response: JSON.stringify(key.assert(options.challenge)) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
    assert.equal((await c.get('/settings/security')).status, 200);
    // Counted as both factors: a fresh factor for a step-up.
    assert.equal((await c.get('/settings/security/passkeys/new')).status, 200);
    assert.equal((await eventsOf(t.s, user.id)).find((e) => e.event === 'login.ok')?.details?.via, 'passkey');
  });

  test('without user verification, without the form token, or for a disabled account it fails', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    const noUv = await passwordless(t.client(), key, { uv: false });
    assert.equal(noUv.status, 401);
    assert.match(textOf(noUv.text), GENERIC_PASSWORDLESS);

    const c = t.client();
    await c.get('/login');
    const options = await json(c, '/login/passwordless/options');
    const forgedToken = await c.post('/login/passwordless', { _csrf: 'forged', response: JSON.stringify(key.assert(options.challenge)) });
    assert.equal(forgedToken.status, 403);

    await t.s.users.update(user.id, { disabled: true });
    const disabled = await passwordless(t.client(), key);
    assert.equal(disabled.status, 401);
    assert.match(textOf(disabled.text), GENERIC_PASSWORDLESS);
    const reasons = (await eventsOf(t.s, user.id)).filter((e) => e.event === 'login.code_failed').map((e) => e.details?.reason);
    assert.deepEqual(reasons, ['invalid', 'disabled']);
  });

  test('a user handle that names another account is refused', async () => {
    const user = await buildUser(t.s);
    const other = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    const res = await passwordless(t.client(), key, { userHandle: Buffer.from(other.id).toString('base64url') });
    assert.equal(res.status, 401);
  });

  test('asking for a passkey sign-in stores nothing: strangers cannot fill the session table', async () => {
    const { sessions } = await import('../src/db/schema/index.ts');
    const rows = async () => (await t.s.db.select({ sid: sessions.sid }).from(sessions)).length;
    const before = await rows();
    for (let i = 0; i < 30; i++) {
      const c = t.client();
      await c.get('/login');
      await json(c, '/login/passwordless/options');
    }
    assert.equal(await rows(), before);
  });

  test('a challenge is good once, in the browser it was given to, unaltered', async () => {
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    // Another browser answering this one's challenge: it holds no such challenge.
    const a = t.client();
    await a.get('/login');
    const options = await json(a, '/login/passwordless/options');
    const b = t.client();
    await b.get('/login');
    await json(b, '/login/passwordless/options');
    assert.equal((await b.post('/login/passwordless', { response: JSON.stringify(key.assert(options.challenge)) })).status, 401);
    // A challenge the browser made up, under the cookie's name: refused.
    const c = t.client();
    await c.get('/login');
    const held = await json(c, '/login/passwordless/options');
    const name = ['postern_passkey', '__Host-postern_passkey'].find((n) => c.cookie(n) !== undefined)!;
    const [, at, mac] = c.cookie(name)!.split('.');
    c.setCookie(name, `bWFkZS11cA.${at}.${mac}`);
    assert.equal((await c.post('/login/passwordless', { response: JSON.stringify(key.assert('bWFkZS11cA')) })).status, 401);
    // The right answer, posted twice at once: one sign-in.
    const d = t.client();
    await d.get('/login');
    const once = await json(d, '/login/passwordless/options');
    const answer = JSON.stringify(key.assert(once.challenge));
    const cookie = d.cookie(name)!;
    const e = t.client();
    await e.get('/login');
    e.setCookie(name, cookie);
    const both = await Promise.all([d.post('/login/passwordless', { response: answer }), e.post('/login/passwordless', { response: answer })]);
    assert.deepEqual(both.map((r) => r.status).sort(), [303, 401]);
    assert.ok(held.challenge);
  });

  test('unknown keys are failures counted against the address, and waits follow', async () => {
    // Earlier tests here may have spent some of this address's free failures already (every client is 127.0.0.1).
    const statuses: number[] = [];
    for (let i = 0; i < 6 && statuses.at(-1) !== 429; i++) statuses.push((await passwordless(t.client(), newKey())).status);
    assert.equal(statuses.at(-1), 429);
    assert.ok(statuses.slice(0, -1).every((s) => s === 401) && statuses.length <= 6, statuses.join());
    const all = await eventsOf(t.s);
    assert.ok(all.some((e) => e.event === 'login.code_failed' && e.details?.reason === 'unknown_credential' && e.details?.purpose === 'passwordless'));
    assert.ok(all.some((e) => e.event === 'login.throttled' && e.details?.purpose === 'passwordless'));
    // A stranger's key probing does not lock a real passkey out: it counts against its own account.
    const user = await buildUser(t.s);
    const key = newKey();
    await seedKey(user, key);
    assert.equal((await passwordless(t.client(), key)).headers.location, '/');
  });
});

describe('without a usable PUBLIC_URL', () => {
  test('the settings page says why, the login page shows no passkey button, and a user with keys is asked for another factor', async () => {
    const plain = await startApp({ PUBLIC_URL: 'http://mail.example.test' });
    try {
      const user = await buildUser(plain.s, { phone: '+8613500135104' });
      const key = new SoftAuthenticator('http://mail.example.test', 'mail.example.test');
      key.userHandle = 'x';
      await plain.s.db.insert(webauthnCredentials).values({ userId: user.id, credentialId: key.id, publicKey: key.publicKey, transports: [], name: 'Old key', backedUp: false, deviceType: 'singleDevice', aaguid: '' });
      const c = plain.client();
      const login = await c.get('/login');
      assert.ok(!/Sign in with a passkey/.test(textOf(login.text)));
      assert.equal((await c.post('/login/passwordless/options', { _csrf: 'x' })).status, 403);
      await c.post('/login', { email: user.email, password: PASSWORD });
      const step = textOf((await c.get('/login/code')).text);
      assert.ok(!/security key/i.test(step.split('Use another way')[0]!), 'the key is not what is asked for');
      await c.post('/login/method', { factor: 'sms' });
      assert.equal((await c.post('/login/code', { code: plain.s.lastCode('+8613500135104') })).headers.location, '/');
      const settings = textOf((await c.get('/settings/security/passkeys')).text);
      assert.match(settings, /need a secure \(https:\/\/\) address/);
      assert.match(settings, /Old key/);
      assert.ok(!/Add a security key/.test(settings.split('Old key')[1]!), 'no way to add one');
    } finally {
      await plain.close();
    }
  });
});

describe('the database keeps no secret', () => {
  test('a key row holds the public key and counter only', async () => {
    const result = (await t.s.db.execute(sql`select column_name from information_schema.columns where table_name = 'webauthn_credentials' order by column_name`)) as unknown as { rows: Array<{ column_name: string }> };
    assert.deepEqual(
      result.rows.map((r) => r.column_name),
      ['aaguid', 'backed_up', 'counter', 'created_at', 'credential_id', 'device_type', 'discoverable', 'id', 'last_used_at', 'name', 'public_key', 'transports', 'user_id'],
    );
  });
});
