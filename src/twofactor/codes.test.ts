import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { count, eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../test/helpers/app.ts';
import { buildUser, eventsOf, PASSWORD } from '../../test/helpers/factories.ts';
import { textOf } from '../../test/helpers/client.ts';
import { oneTimeCodes } from '../db/schema/index.ts';
import { DEFAULT_RULES } from '../auth/regulation.ts';
import { OneTimeCodes, type CodePurpose } from './codes.ts';
import type { SmsSender } from './sms/sender.ts';

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
    .update(oneTimeCodes)
    .set({ createdAt: sql`${oneTimeCodes.createdAt} - make_interval(secs => ${seconds})`, expiresAt: sql`${oneTimeCodes.expiresAt} - make_interval(secs => ${seconds})` })
    .where(eq(oneTimeCodes.userId, userId));
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
    // No account-wide waits here, so what refuses the right code can only be the code's own lock.
    const lenient = await startApp({}, { rules: { ...DEFAULT_RULES, freeFailures: 1000, lockAfter: 100_000 } });
    try {
      const user = await buildUser(lenient.s, { phone: '+8613900139001' });
      const c = lenient.client();
      await c.get('/login');
      await c.post('/login', { email: user.email, password: PASSWORD });
      await c.get('/login/code');
      const code = lenient.s.lastCode('+8613900139001');
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5; i++) {
        const res = await c.post('/login/code', { code: wrong });
        assert.equal(res.status, 401);
        assert.match(textOf(res.text), i < 4 ? /The code is incorrect or has expired/ : /tried too many times/);
      }
      const res = await c.post('/login/code', { code });
      assert.equal(res.status, 401);
      assert.match(textOf(res.text), /This code was tried too many times and no longer works/);
      const [row] = await lenient.s.db.select().from(oneTimeCodes).where(eq(oneTimeCodes.userId, user.id));
      assert.equal(row!.status, 'locked');
    } finally {
      await lenient.close();
    }
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

  test('resend waits 60 seconds; the wrong tries belong to the old code, so the new one works at once', async () => {
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
    // A fifth wrong try overall, but the first on the new code: it says how many are left on this code.
    const wrong = await c.post('/login/code', { code: '999999' === t.s.lastCode() ? '888888' : '999999' });
    assert.match(textOf(wrong.text), /Tries left before a pause: 4/);
    const res = await c.post('/login/code', { code: t.s.lastCode() });
    assert.equal(res.status, 303);
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
    const rows = await t.s.db.select().from(oneTimeCodes).where(eq(oneTimeCodes.userId, user.id));
    assert.ok(rows.length > 0);
    for (const r of rows) assert.ok(!JSON.stringify(r).includes(code));
  });
});

describe('default caps', () => {
  test('leave room for a person who signs in on several devices and asks for new codes', async () => {
    const roomy = await startApp();
    try {
      const user = await buildUser(roomy.s, { phone: '+8613900139700' });
      for (let device = 0; device < 4; device++) {
        const c = roomy.client();
        await c.get('/login');
        await c.post('/login', { email: user.email, password: PASSWORD });
        await c.get('/login/code');
        await roomy.s.db.update(oneTimeCodes).set({ createdAt: sql`${oneTimeCodes.createdAt} - interval '61 seconds'` }).where(eq(oneTimeCodes.userId, user.id));
        await c.post('/login/code/resend');
      }
      assert.equal(roomy.s.texts.filter((x) => x.to === '+8613900139700').length, 8, 'four sign-ins and four new codes within the hour all went out');
    } finally {
      await roomy.close();
    }
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

describe('codes under parallel requests', () => {
  const key = Buffer.alloc(32, 7);
  /** smsCodes checks codes the way text messages use them, through `sender`. */
  const smsCodes = (config: typeof t.s.config, sender: SmsSender) => {
    const codes = new OneTimeCodes(t.s.db, config, key);
    return {
      send: (r: { userId: string; phone: string; purpose: CodePurpose; ip: string; replaces?: string }) =>
        codes.send({ userId: r.userId, channel: 'sms', destination: r.phone, purpose: r.purpose, ip: r.ip, replaces: r.replaces, deliver: (c) => sender.send(r.phone, c) }),
      verify: (id: string, userId: string, purpose: CodePurpose, code: string) => codes.verify(id, userId, 'sms', purpose, code),
    };
  };
  const sink = (): SmsSender & { sent: string[] } => {
    const sent: string[] = [];
    return { sent, send: async (_to: string, body: string) => void sent.push(body) };
  };

  test('40 parallel guesses at one code compare it at most five times', async () => {
    const sender = sink();
    const codes = smsCodes(t.s.config, sender);
    const user = await buildUser(t.s);
    const sent = await codes.send({ userId: user.id, phone: '+8613900139200', purpose: 'login', ip: '203.0.113.60' });
    assert.ok(sent.ok);
    const right = sender.sent[0]!;
    const wrong = right === '000000' ? '111111' : '000000';
    const results = await Promise.all(Array.from({ length: 40 }, () => codes.verify(sent.challengeId, user.id, 'login', wrong)));
    assert.equal(results.filter((r) => !r.ok && r.reason === 'wrong').length, 4);
    assert.equal(results.filter((r) => !r.ok && r.reason === 'locked').length, 36);
    const [row] = await t.s.db.select().from(oneTimeCodes).where(eq(oneTimeCodes.id, sent.challengeId));
    assert.equal(row!.failedAttempts, 5);
    assert.equal((await codes.verify(sent.challengeId, user.id, 'login', right)).ok, false);
  });

  test('the right code among parallel guesses is accepted once', async () => {
    const sender = sink();
    const codes = smsCodes(t.s.config, sender);
    const user = await buildUser(t.s);
    const sent = await codes.send({ userId: user.id, phone: '+8613900139201', purpose: 'login', ip: '203.0.113.61' });
    assert.ok(sent.ok);
    const right = sender.sent[0]!;
    const results = await Promise.all(Array.from({ length: 4 }, () => codes.verify(sent.challengeId, user.id, 'login', right)));
    assert.equal(results.filter((r) => r.ok).length, 1);
  });

  test('parallel sends cannot pass the per-account cap', async () => {
    const sender = sink();
    const capped = { ...t.s.config, SMS_MAX_PER_ACCOUNT_HOUR: 5 };
    const codes = smsCodes(capped, sender);
    const user = await buildUser(t.s);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => codes.send({ userId: user.id, phone: `+86139001393${String(i).padStart(2, '0')}`, purpose: 'bind', ip: '203.0.113.62' })),
    );
    assert.equal(results.filter((r) => r.ok).length, 5);
    assert.equal(sender.sent.length, 5);
  });

  test('parallel sends cannot pass the per-address and site caps', async () => {
    const sender = sink();
    const codes = smsCodes({ ...t.s.config, SMS_MAX_PER_IP_HOUR: 3 }, sender);
    const users = await Promise.all(Array.from({ length: 20 }, () => buildUser(t.s)));
    const results = await Promise.all(users.map((u, i) => codes.send({ userId: u.id, phone: `+86139001394${String(i).padStart(2, '0')}`, purpose: 'login', ip: '203.0.113.63' })));
    assert.equal(results.filter((r) => r.ok).length, 3);
    const [{ n }] = (await t.s.db.select({ n: count() }).from(oneTimeCodes)) as [{ n: number }];
    const budget = smsCodes({ ...t.s.config, SMS_DAILY_BUDGET: n + 2 }, sender);
    const more = await Promise.all(users.map((u, i) => budget.send({ userId: u.id, phone: `+86139001395${String(i).padStart(2, '0')}`, purpose: 'login', ip: `198.51.100.${i}` })));
    assert.equal(more.filter((r) => r.ok).length, 2);
  });

  test('a provider that takes the text but answers too late still uses up the caps', async () => {
    let delivered = 0;
    const slow: SmsSender = {
      async send() {
        delivered += 1; // the phone gets it ...
        throw new Error('timed out'); // ... but Postern never hears back
      },
    };
    const codes = smsCodes({ ...t.s.config, SMS_MAX_PER_ACCOUNT_HOUR: 5, SMS_MAX_PER_NUMBER_HOUR: 100 }, slow);
    const user = await buildUser(t.s);
    const results = [];
    for (let i = 0; i < 9; i++) results.push(await codes.send({ userId: user.id, phone: '+8613900139600', purpose: 'login', ip: '203.0.113.64' }));
    assert.equal(delivered, 5);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.reason)),
      ['send_failed', 'send_failed', 'send_failed', 'send_failed', 'send_failed', 'capped', 'capped', 'capped', 'capped'],
    );
  });

  test('a failed send still starts the resend wait', async () => {
    const flaky: SmsSender = {
      async send() {
        throw new Error('provider down');
      },
    };
    const codes = smsCodes(t.s.config, flaky);
    const user = await buildUser(t.s);
    const first = await codes.send({ userId: user.id, phone: '+8613900139601', purpose: 'login', ip: '203.0.113.65' });
    assert.ok(!first.ok && first.reason === 'send_failed');
    const again = await codes.send({ userId: user.id, phone: '+8613900139601', purpose: 'login', ip: '203.0.113.65', replaces: first.challengeId });
    assert.ok(!again.ok && again.reason === 'too_soon');
  });

  test('after a failed send at sign-in, the page makes the user wait before asking again', async () => {
    const down = await startApp({}, { sms: { send: async () => Promise.reject(new Error('provider down')) } });
    try {
      const user = await buildUser(down.s, { phone: '+8613900139602' });
      const c = down.client();
      await c.get('/login');
      await c.post('/login', { email: user.email, password: PASSWORD });
      const page = textOf((await c.get('/login/code')).text);
      assert.match(page, /could not be sent/);
      await c.post('/login/code/resend');
      assert.match(textOf((await c.get('/login/code')).text), /Please wait \d+ s before asking for another code/);
      const rows = await down.s.db.select().from(oneTimeCodes).where(eq(oneTimeCodes.userId, user.id));
      assert.equal(rows.length, 1, 'the resend was refused before the provider was asked');
    } finally {
      await down.close();
    }
  });
});
