import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { startApp, type TestApp } from '../../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from '../../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../../test/helpers/client.ts';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../../../test/harness/smtp-sink.ts';
import { freePort } from '../../../test/harness/ports.ts';
import { oneTimeCodes } from '../../db/schema/index.ts';

const PAGE = '/settings/security/email';

let n = 0;
/** elsewhere makes a fresh address with another provider. */
const elsewhere = (name = 'me') => `${name}${++n}-${process.pid}@elsewhere.test`;

/** mailedTo waits for the next message to `address` after the first `skip` the sink holds, and reads the code in it. */
async function mailedTo(sink: SmtpSink, address: string, skip: number): Promise<{ message: SinkMessage; code: string }> {
  const message = await sink.waitFor((m) => sink.messages.indexOf(m) >= skip && m.to.includes(address));
  // The code stands on a line of its own; the account name may hold digits too.
  const code = message.parsed.text?.match(/^(\d{6})$/m)?.[1];
  assert.ok(code, `no code in: ${message.parsed.text}`);
  return { message, code };
}

/** sentTo counts the messages the sink took for `address`. */
const sentTo = (sink: SmtpSink, address: string) => sink.messages.filter((m) => m.to.includes(address)).length;

/** ageCodes moves a user's codes back past the resend wait, as if a minute had gone by. */
async function ageCodes(t: TestApp, userId: string): Promise<void> {
  await t.s.db.update(oneTimeCodes).set({ createdAt: new Date(Date.now() - 61_000) }).where(eq(oneTimeCodes.userId, userId));
}

/** stepUpByText proves the user's phone on the verify page, as a change to the factors needs once they have one. */
async function stepUpByText(t: TestApp, c: WebClient, next: string): Promise<void> {
  const fields = { next, need: 'factors', factor: 'sms' };
  await c.get(`/settings/security/verify?${new URLSearchParams(fields)}`);
  await c.post('/settings/security/verify/send', fields);
  const res = await c.post('/settings/security/verify', { ...fields, code: t.s.lastCode() });
  assert.equal(res.status, 303, `step-up failed: ${textOf(res.text)}`);
  await c.get(next);
}

/** bind adds `address` from a session that may change factors, and returns where confirming led. */
async function bind(t: TestApp, sink: SmtpSink, c: WebClient, address: string): Promise<string> {
  const skip = sink.messages.length;
  assert.equal((await c.post(`${PAGE}/send`, { address })).headers.location, PAGE);
  const { code } = await mailedTo(sink, address, skip);
  await c.get(PAGE);
  const done = await c.post(`${PAGE}/confirm`, { code });
  assert.equal(done.status, 303, textOf(done.text));
  return done.headers.location!;
}

describe('a recovery address (Settings → Security → Recovery email)', () => {
  let t: TestApp;
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
    t = await startApp({ SMTP_PORT: String(sink.port) });
  });
  after(async () => {
    await t.close();
    await sink.stop();
  });

  test('an open session alone cannot add an address: a fresh check comes first, and no mail goes out', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await c.get(PAGE);
    const before = sink.messages.length;
    const res = await c.post(`${PAGE}/send`, { address: elsewhere() });
    assert.equal(res.status, 303);
    assert.match(res.headers.location!, /^\/settings\/security\/verify\?/);
    const confirm = await c.post(`${PAGE}/confirm`, { code: '123456' });
    assert.match(confirm.headers.location!, /^\/settings\/security\/verify\?/);
    assert.equal(sink.messages.length, before, 'no code was mailed');
    assert.equal(await t.s.recoveryEmails.load(user.id), undefined);
  });

  test('the code mailed to the address confirms it; as the first factor it brings backup codes', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, PAGE);
    const page = await c.get(PAGE);
    assert.match(textOf(page.text), /Not set up/);
    const address = elsewhere('mia');
    const skip = sink.messages.length;
    // Typed with capitals and spaces: stored as one lower-case address.
    const sent = await c.post(`${PAGE}/send`, { address: `  ${address.toUpperCase()} ` });
    assert.equal(sent.headers.location, PAGE);
    const { message, code } = await mailedTo(sink, address, skip);
    assert.deepEqual(message.to, [address]);
    assert.match(message.parsed.subject!, /Postern/);
    const text = message.parsed.text!;
    assert.match(text, /Postern/);
    assert.ok(text.includes(user.email), 'the mail names the account');
    assert.match(text, /recovery address/);
    assert.match(text, /10 minutes/);

    const waiting = await c.get(PAGE);
    assert.match(textOf(waiting.text), /A code was emailed to m\*\*\*@elsewhere\.test/);
    assert.match(textOf(waiting.text), /We emailed a 6-digit code to m\*\*\*@elsewhere\.test\. It is valid for 10 minutes/);
    assert.match(textOf(waiting.text), /Tries left: 5/);
    assert.match(waiting.text, /name="code"/);
    assert.ok(!waiting.text.includes(code), 'the page never shows the code');

    const done = await c.post(`${PAGE}/confirm`, { code: code.slice(0, 3) + ' ' + code.slice(3) });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/settings/security/backup-codes/new');
    assert.equal(await t.s.recoveryEmails.load(user.id), address);

    const bound = textOf((await c.get(PAGE)).text);
    assert.match(bound, /Codes can be emailed to m\*\*\*@elsewhere\.test/);
    assert.ok(!bound.includes(address), 'the page shows the address masked');
    const added = (await eventsOf(t.s, user.id)).find((e) => e.event === 'factor.added');
    assert.deepEqual(added?.details, { factor: 'email', to: 'm***@elsewhere.test', backupCodesIssued: true });

    // From now on a change to the factors needs a factor: the password checked before no longer does.
    const again = await c.post(`${PAGE}/confirm`, { code });
    assert.match(again.headers.location!, /^\/settings\/security\/verify\?.*need=factors/);
  });

  test('with the address as the only factor, sign-in and the step-up both mail a code, and only the right one works', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, PAGE);
    await c.get(PAGE);
    const address = elsewhere('noa');
    await bind(t, sink, c, address);

    // Sign-in: the second step mails a code to the address, as the only way besides the backup codes.
    const d = t.client();
    await d.get('/login');
    let skip = sink.messages.length;
    assert.equal((await d.post('/login', { email: user.email, password: PASSWORD })).headers.location, '/login/code');
    const { code } = await mailedTo(sink, address, skip);
    const page = await d.get('/login/code');
    assert.match(textOf(page.text), /n\*\*\*@elsewhere\.test/);
    const wrong = await d.post('/login/code', { code: code === '000000' ? '111111' : '000000' });
    assert.equal(wrong.status, 401);
    assert.equal((await d.post('/login/code', { code })).status, 303);
    assert.equal((await d.get('/settings/security')).status, 200, 'signed in');
    assert.equal((await t.s.users.load(user.id))!.lastFactor, 'email');

    // Step-up: the verify page offers the address too.
    const next = '/settings/app-passwords';
    const fields = { next, need: 'sensitive', factor: 'email' };
    await d.get(`/settings/security/verify?${new URLSearchParams(fields)}`);
    skip = sink.messages.length;
    await d.post('/settings/security/verify/send', fields);
    const mailed = await mailedTo(sink, address, skip);
    const verified = await d.post('/settings/security/verify', { ...fields, code: mailed.code });
    assert.equal(verified.status, 303, textOf(verified.text));
    assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'stepup.ok' && e.details?.method === 'email'));
  });

  test('the code mail and the page speak Chinese to a zh-CN browser', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email, { client: t.client({ 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' }) });
    await t.stepUp(c, PAGE);
    assert.match(textOf((await c.get(PAGE)).text), /恢复邮箱/);
    const address = elsewhere();
    const skip = sink.messages.length;
    await c.post(`${PAGE}/send`, { address });
    const { message } = await mailedTo(sink, address, skip);
    assert.match(message.parsed.subject!, /^Postern 验证码：\d{6}$/);
    const text = message.parsed.text!;
    assert.match(text, /恢复邮箱/);
    assert.match(text, /10 分钟内有效/);
    assert.ok(text.includes(user.email));
    assert.match(textOf((await c.get(PAGE)).text), /验证码已发送到 m\*\*\*@elsewhere\.test/);
  });

  test('refuses the account’s own address, another account’s, and any at its own domain, mailing none of them', async () => {
    const user = await buildUser(t.s);
    const other = await t.s.userService.create({ email: `neighbour-${process.pid}@second-domain.test`, password: PASSWORD });
    const c = await t.signIn(user.email);
    await t.stepUp(c, PAGE);
    const before = sink.messages.length;
    const cases: Array<[string, RegExp]> = [
      [user.email.toUpperCase(), /That is this account’s own address/],
      [other.email, /This address is handled by this mail service/],
      [`postmaster@${user.email.split('@')[1]}`, /This address is handled by this mail service/],
      ['not an address', /This is not a valid email address/],
      ['one@elsewhere.test, two@elsewhere.test', /This is not a valid email address/],
    ];
    for (const [address, message] of cases) {
      const res = await c.post(`${PAGE}/send`, { address });
      assert.equal(res.status, 400, address);
      assert.match(textOf(res.text), message, address);
    }
    assert.equal(sink.messages.length, before, 'no mail went out');
    assert.equal((await eventsOf(t.s, user.id)).filter((e) => e.event.startsWith('email.')).length, 0);
  });

  test('a megabyte in the address field is refused, and the page still works', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, PAGE);
    const before = sink.messages.length;
    const res = await c.post(`${PAGE}/send`, { address: 'a'.repeat(1024 * 1024) + '@elsewhere.test' });
    assert.ok(res.status === 400 || res.status === 413, String(res.status));
    assert.equal((await c.get(PAGE)).status, 200);
    assert.equal(sink.messages.length, before);
  });

  test('five wrong codes use a code up; the right one is then refused, and a new code works at once', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c, PAGE);
    const address = elsewhere();
    let skip = sink.messages.length;
    await c.post(`${PAGE}/send`, { address });
    const { code } = await mailedTo(sink, address, skip);
    const wrong = code === '000000' ? '111111' : '000000';
    for (const left of [4, 3, 2, 1]) {
      const res = await c.post(`${PAGE}/confirm`, { code: wrong });
      assert.equal(res.status, 400);
      assert.match(textOf(res.text), new RegExp(`The code is incorrect\\. Tries left: ${left}\\.`));
    }
    const fifth = await c.post(`${PAGE}/confirm`, { code: wrong });
    assert.equal(fifth.status, 400);
    assert.match(textOf(fifth.text), /entered wrongly too many times/);

    const right = await c.post(`${PAGE}/confirm`, { code });
    assert.equal(right.status, 400);
    const said = textOf(right.text);
    assert.match(said, /entered wrongly too many times and no longer works\. Request a new code/);
    assert.doesNotMatch(said, /expired/);
    assert.doesNotMatch(right.text, /name="code"/, 'no form asks for the used-up code');
    assert.equal(await t.s.recoveryEmails.load(user.id), undefined);

    // A new code may follow once the resend wait is over, and is not held back by the old code's failures.
    const early = await c.post(`${PAGE}/send`, { address });
    assert.equal(early.headers.location, PAGE);
    assert.match(textOf((await c.get(PAGE)).text), /Please wait \d+ s before asking for another code/);
    await ageCodes(t, user.id);
    skip = sink.messages.length;
    await c.post(`${PAGE}/send`, { address });
    const fresh = await mailedTo(sink, address, skip);
    await c.get(PAGE);
    const done = await c.post(`${PAGE}/confirm`, { code: fresh.code });
    assert.equal(done.status, 303, textOf(done.text));
    assert.equal(await t.s.recoveryEmails.load(user.id), address);
  });

  test('a changed address is audited once, from and to, and ends trusted browsers; removing it turns it off', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138501' });
    const c = await t.signIn(user.email);
    await stepUpByText(t, c, PAGE);
    const first = elsewhere('ann');
    assert.equal(await bind(t, sink, c, first), '/settings/security/backup-codes/new');
    // A browser trusted at an earlier sign-in.
    await t.s.trusted.trust(user.id, 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', '127.0.0.1');

    await c.get(PAGE);
    const second = elsewhere('bob');
    assert.equal(await bind(t, sink, c, second), PAGE, 'no new backup codes');
    assert.match(textOf((await c.get(PAGE)).text), /The recovery address was changed to b\*\*\*@elsewhere\.test/);
    assert.equal(await t.s.recoveryEmails.load(user.id), second);
    assert.equal((await t.s.trusted.list(user.id)).length, 0, 'the browser trusted under the old address is no longer');
    const added = (await eventsOf(t.s, user.id)).filter((e) => e.event === 'factor.added');
    assert.equal(added.length, 2);
    assert.deepEqual(added[1]!.details, { factor: 'email', from: 'a***@elsewhere.test', to: 'b***@elsewhere.test', trustedDevicesRevoked: 1, backupCodesIssued: false });

    const removed = await c.post(`${PAGE}/remove`);
    assert.equal(removed.headers.location, PAGE);
    const page = textOf((await c.get(PAGE)).text);
    assert.match(page, /The recovery address was removed/);
    assert.match(page, /Not set up/);
    assert.equal(await t.s.recoveryEmails.load(user.id), undefined);
    const gone = (await eventsOf(t.s, user.id)).find((e) => e.event === 'factor.removed');
    assert.equal(gone?.details?.factor, 'email');
    assert.equal(gone?.details?.address, 'b***@elsewhere.test');
  });

  test('while the administrator requires two-step, the only factor cannot be removed', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138502' });
    const c = await t.signIn(user.email);
    await stepUpByText(t, c, PAGE);
    const address = elsewhere();
    await bind(t, sink, c, address);
    // The phone went meanwhile: the address is all that is left.
    await t.s.phones.delete(user.id);
    await t.s.users.update(user.id, { require2fa: true });
    const page = await c.get(PAGE);
    assert.match(textOf(page.text), /Your administrator requires two-step verification/);
    assert.doesNotMatch(page.text, /action="\/settings\/security\/email\/remove"/);
    const res = await c.post(`${PAGE}/remove`);
    assert.equal(res.headers.location, PAGE);
    assert.match(textOf((await c.get(PAGE)).text), /Add another one before removing it/);
    assert.equal(await t.s.recoveryEmails.load(user.id), address);
    assert.equal((await eventsOf(t.s, user.id)).filter((e) => e.event === 'factor.removed').length, 0);
  });
});

describe('a recovery address when mail cannot be sent, or too many codes were', () => {
  test('with the relay down the page says the email could not be sent, and asks for no code', async () => {
    const t = await startApp({ SMTP_PORT: String(await freePort()) });
    try {
      const user = await buildUser(t.s);
      const c = await t.signIn(user.email);
      await t.stepUp(c, PAGE);
      const address = elsewhere();
      const sent = await c.post(`${PAGE}/send`, { address });
      assert.equal(sent.headers.location, PAGE);
      const page = await c.get(PAGE);
      const text = textOf(page.text);
      assert.match(text, /The email could not be sent\. Try again in a few minutes, or use another way\./);
      assert.doesNotMatch(text, /emailed a 6-digit code|A code was emailed/);
      assert.doesNotMatch(page.text, /name="code"/);
      // The address stays filled in, to try again once the resend wait is over.
      assert.match(page.text, new RegExp(`name="address" value="${address.replace(/[.]/g, '\\.')}"`));
      assert.match(text, /Send a new code in \d+ s/);
      assert.ok((await eventsOf(t.s, user.id)).some((e) => e.event === 'email.failed'));
    } finally {
      await t.close();
    }
  });

  test('a third code within the hour is refused when two are the limit', async () => {
    const sink = await startSmtpSink();
    const t = await startApp({ SMTP_PORT: String(sink.port), SMS_MAX_PER_ACCOUNT_HOUR: '2' });
    try {
      const user = await buildUser(t.s);
      const c = await t.signIn(user.email);
      await t.stepUp(c, PAGE);
      const address = elsewhere();
      for (let i = 0; i < 2; i++) {
        const skip = sink.messages.length;
        await c.post(`${PAGE}/send`, { address });
        await mailedTo(sink, address, skip);
        await ageCodes(t, user.id);
      }
      const third = await c.post(`${PAGE}/send`, { address });
      assert.equal(third.headers.location, PAGE);
      assert.match(textOf((await c.get(PAGE)).text), /Too many codes were requested/);
      assert.equal(sentTo(sink, address), 2);
    } finally {
      await t.close();
      await sink.stop();
    }
  });
});
