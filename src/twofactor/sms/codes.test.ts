import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from '../../../test/helpers/factories.ts';
import { textOf } from '../../../test/helpers/client.ts';
import { smsChallenges } from '../../db/schema/index.ts';

let t: TestApp;
before(async () => {
  t = await startApp({ SMS_MAX_PER_NUMBER_HOUR: '3' });
});
after(() => t.close());

async function atCodePage(phone: string) {
  const user = await buildUser(t.s, { phone });
  const c = t.client();
  await c.get('/login');
  await c.post('/login', { email: user.email, password: PASSWORD });
  await c.get('/login/code');
  return { user, c };
}

/** Move every code of a user back in time, as if minutes had passed. */
async function age(userId: string, seconds: number) {
  await t.s.db
    .update(smsChallenges)
    .set({ createdAt: sql`${smsChallenges.createdAt} - make_interval(secs => ${seconds})`, expiresAt: sql`${smsChallenges.expiresAt} - make_interval(secs => ${seconds})` })
    .where(eq(smsChallenges.userId, userId));
}

describe('login codes', () => {
  test('are six digits, texted in the reader’s language and naming the service', async () => {
    const user = await buildUser(t.s, { phone: '+8613900139000' });
    const c = t.client({ 'accept-language': 'zh-CN,zh;q=0.9' });
    await c.get('/login');
    await c.post('/login', { email: user.email, password: PASSWORD });
    const text = t.s.texts.at(-1)!;
    assert.equal(text.to, '+8613900139000');
    assert.match(text.body, /^【Postern】您的验证码是 \d{6}，5 分钟内有效。/);
  });

  test('five wrong codes lock the code: the right one no longer works', async () => {
    const { c } = await atCodePage('+8613900139001');
    const code = t.s.lastCode('+8613900139001');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await c.post('/login/code', { code: wrong });
      assert.equal(res.status, 401);
      assert.match(textOf(res.text), /The code is incorrect or has expired/);
    }
    const res = await c.post('/login/code', { code });
    assert.notEqual(res.status, 303);
    assert.match(textOf(res.text), /incorrect or has expired|Too many attempts/);
  });

  test('a code is single use and expires after five minutes', async () => {
    const { user, c } = await atCodePage('+8613900139002');
    const code = t.s.lastCode('+8613900139002');
    await age(user.id, 301);
    const res = await c.post('/login/code', { code });
    assert.equal(res.status, 401);
    // A fresh code works once; replaying it in another half-signed-in session fails.
    const again = await c.post('/login/code/resend');
    assert.equal(again.status, 303);
    const fresh = t.s.lastCode('+8613900139002');
    assert.notEqual(fresh, code);
    assert.equal((await c.post('/login/code', { code: fresh })).status, 303);
    const other = t.client();
    await other.get('/login');
    await other.post('/login', { email: user.email, password: PASSWORD });
    await other.get('/login/code');
    assert.equal((await other.post('/login/code', { code: fresh })).status, 401);
  });

  test('a code is tied to the login that asked for it', async () => {
    const a = await atCodePage('+8613900139003');
    const b = await atCodePage('+8613900139004');
    const codeForA = t.s.lastCode('+8613900139003');
    assert.equal((await b.c.post('/login/code', { code: codeForA })).status, 401);
  });

  test('resend waits 60 seconds, and the failure count survives resends', async () => {
    const { user, c } = await atCodePage('+8613900139005');
    const sent = t.s.texts.length;
    const early = await c.post('/login/code/resend');
    assert.equal(early.status, 303);
    assert.match(textOf((await c.get('/login/code')).text), /Please wait \d+ s before asking for another code/);
    assert.equal(t.s.texts.length, sent, 'no text went out');
    for (let i = 0; i < 4; i++) await c.post('/login/code', { code: '999999' === t.s.lastCode() ? '888888' : '999999' });
    await age(user.id, 61);
    await c.post('/login/code/resend');
    assert.equal(t.s.texts.length, sent + 1);
    // One more failure on the new code is the fifth in a row for the account: waits begin.
    await c.post('/login/code', { code: '999999' === t.s.lastCode() ? '888888' : '999999' });
    const res = await c.post('/login/code', { code: t.s.lastCode() });
    assert.equal(res.status, 429);
    assert.match(textOf(res.text), /Too many attempts/);
  });

  test('caps texts per number per hour, whoever asks', async () => {
    const phone = '+8613900139006';
    const users = await Promise.all([1, 2, 3, 4].map(() => buildUser(t.s, { phone })));
    for (const u of users.slice(0, 3)) {
      const c = t.client();
      await c.get('/login');
      await c.post('/login', { email: u.email, password: PASSWORD });
    }
    const before = t.s.texts.filter((x) => x.to === phone).length;
    const c = t.client();
    await c.get('/login');
    await c.post('/login', { email: users[3]!.email, password: PASSWORD });
    const page = await c.get('/login/code');
    assert.match(textOf(page.text), /Too many codes were requested/);
    assert.equal(t.s.texts.filter((x) => x.to === phone).length, before);
    const refused = (await eventsOf(t.s, users[3]!.id)).filter((e) => e.event === 'sms.refused');
    assert.equal(refused.length, 1);
  });

  test('codes are stored only as hashes', async () => {
    const { user } = await atCodePage('+8613900139007');
    const code = t.s.lastCode('+8613900139007');
    const rows = await t.s.db.select().from(smsChallenges).where(eq(smsChallenges.userId, user.id));
    assert.ok(rows.length > 0);
    for (const r of rows) assert.ok(!JSON.stringify(r).includes(code));
  });
});

describe('per-IP cap', () => {
  test('one client IP cannot text more than its hourly share', async () => {
    const capped = await startApp({ SMS_MAX_PER_IP_HOUR: '2' });
    try {
      const sent: number[] = [];
      for (let i = 0; i < 3; i++) {
        const user = await buildUser(capped.s, { phone: `+86139001391${i}0` });
        const c = capped.client();
        await c.get('/login');
        await c.post('/login', { email: user.email, password: PASSWORD });
        sent.push(capped.s.texts.length);
        if (i === 2) assert.match(textOf((await c.get('/login/code')).text), /Too many codes were requested/);
      }
      assert.deepEqual(sent, [1, 2, 2]);
    } finally {
      await capped.close();
    }
  });
});
