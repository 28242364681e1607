import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asc, eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from '../../../test/helpers/app.ts';
import { buildUser, PASSWORD } from '../../../test/helpers/factories.ts';
import { textOf, type WebClient } from '../../../test/helpers/client.ts';
import { startFakeTwilio, type FakeTwilio, type FakeTwilioRequest } from '../../../test/fakes/twilio.ts';
import { auditEvents, oneTimeCodes } from '../../db/schema/index.ts';
import { createLogger } from '../../log.ts';
import { testConfig } from '../../../test/helpers/services.ts';
import { TwilioSmsSender } from './sender.ts';
import type { User } from '../../users/repo.ts';

const ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH_TOKEN = 'fake-auth-token-3f9c2a';
const FROM = '+15005550006';
const MESSAGING_SERVICE_SID = 'MG' + 'fedcba9876543210'.repeat(2);
const SERVICE_NAME = 'Example Mail';
const MESSAGES_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;

function twilioEnv(fake: Pick<FakeTwilio, 'url'>, extra: Record<string, string> = { TWILIO_FROM: FROM }): Record<string, string> {
  return {
    SMS_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: fake.url,
    TWILIO_TIMEOUT_MS: '1500',
    SERVICE_NAME,
    ...extra,
  };
}

function codeIn(req: FakeTwilioRequest): string {
  const code = req.form.Body?.match(/\b(\d{6})\b/)?.[1];
  assert.ok(code, `no 6-digit code in ${JSON.stringify(req.form.Body)}`);
  return code;
}

async function submitPassword(t: TestApp, user: User): Promise<{ c: WebClient; ms: number }> {
  const c = t.client();
  await c.get('/login');
  const started = Date.now();
  const res = await c.post('/login', { email: user.email, password: PASSWORD });
  const ms = Date.now() - started;
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, '/login/code');
  return { c, ms };
}

async function smsEvents(t: TestApp, user: User): Promise<Array<{ event: string; reason: unknown }>> {
  const rows = await t.s.db.select().from(auditEvents).where(eq(auditEvents.userId, user.id)).orderBy(asc(auditEvents.id));
  return rows.filter((r) => r.event.startsWith('sms.')).map((r) => ({ event: r.event, reason: r.details?.reason }));
}

/** twilioWorld runs the app against a fake Twilio API for the tests of one describe block. */
function twilioWorld(extra: Record<string, string> = { TWILIO_FROM: FROM }): { readonly fake: FakeTwilio; readonly t: TestApp } {
  const w = {} as { fake: FakeTwilio; t: TestApp };
  before(async () => {
    w.fake = await startFakeTwilio();
    w.t = await startApp(twilioEnv(w.fake, extra), { sms: undefined });
  });
  after(async () => {
    await w.t?.close();
    await w.fake?.close();
  });
  return w;
}

describe('Twilio provider with a sender number', () => {
  const w = twilioWorld();

  test('a phone user signing in gets the code through the Messages API and signs in with it', async () => {
    const user = await buildUser(w.t.s, { phone: '+8613800138000' });
    w.fake.requests.length = 0;
    const { c } = await submitPassword(w.t, user);

    assert.equal(w.fake.requests.length, 1);
    const [req] = w.fake.requests;
    assert.equal(req!.method, 'POST');
    assert.equal(req!.path, MESSAGES_PATH);
    assert.deepEqual(req!.auth, { user: ACCOUNT_SID, pass: AUTH_TOKEN });
    assert.equal(req!.form.To, '+8613800138000');
    assert.equal(req!.form.From, FROM);
    assert.equal(req!.form.MessagingServiceSid, undefined);
    assert.ok(req!.form.Body!.includes(SERVICE_NAME), req!.form.Body);
    const code = codeIn(req!);

    const page = await c.get('/login/code');
    assert.equal(page.status, 200);
    assert.match(textOf(page.text), /We sent a 6-digit code by text message to \+86 138\*\*\*\*8000/);
    const done = await c.post('/login/code', { code });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/');
    assert.equal((await c.get('/settings/security')).status, 200);
    assert.deepEqual(await smsEvents(w.t, user), [{ event: 'sms.sent', reason: undefined }]);
  });

  for (const mode of ['error500', 'hang'] as const) {
    test(`when Twilio ${mode === 'hang' ? 'does not answer' : 'fails'}, the user is told, and may ask again after the usual wait`, async () => {
      const phone = mode === 'hang' ? '+8613800138011' : '+8613800138010';
      const user = await buildUser(w.t.s, { phone });
      w.fake.requests.length = 0;
      w.fake.setMode(mode);
      let c: WebClient;
      try {
        const step = await submitPassword(w.t, user);
        c = step.c;
        // TWILIO_TIMEOUT_MS is 1.5 s: the sign-in page must not wait for the SDK's own 30 s.
        assert.ok(step.ms < 6000, `password step took ${step.ms} ms`);
      } finally {
        w.fake.setMode('ok');
      }
      assert.equal(w.fake.requests.length, 1, 'one attempt reached Twilio');
      assert.equal(w.fake.requests[0]!.path, MESSAGES_PATH);

      const page = await c.get('/login/code');
      assert.equal(page.status, 200);
      assert.match(textOf(page.text), /The code could not be sent\. You can ask for a new one in a minute\./);
      // The text may still arrive (a provider that answers too late): the wait before another one applies.
      assert.match(textOf(page.text), /Send a new code in \d+ s/);
      assert.deepEqual(await smsEvents(w.t, user), [{ event: 'sms.failed', reason: 'send_failed' }]);

      // A code that was never delivered cannot be used.
      const guess = await c.post('/login/code', { code: codeIn(w.fake.requests[0]!) });
      assert.equal(guess.status, 401);

      const early = await c.post('/login/code/resend');
      assert.equal(early.headers.location, '/login/code');
      assert.match(textOf((await c.get('/login/code')).text), /Please wait \d+ s before asking for another code/);
      assert.equal(w.fake.requests.length, 1, 'an immediate resend is not sent');
      await w.t.s.db.update(oneTimeCodes).set({ createdAt: sql`${oneTimeCodes.createdAt} - interval '61 seconds'` }).where(eq(oneTimeCodes.userId, user.id));
      const resend = await c.post('/login/code/resend');
      assert.equal(resend.status, 303);
      assert.equal(resend.headers.location, '/login/code');
      assert.equal(w.fake.requests.length, 2, 'the resend a minute later went out');
      assert.equal(w.fake.requests[1]!.form.To, phone);
      const again = await c.get('/login/code');
      assert.match(textOf(again.text), /A new code is on its way\./);
      assert.doesNotMatch(textOf(again.text), /could not be sent/);
      assert.deepEqual(await smsEvents(w.t, user), [
        { event: 'sms.failed', reason: 'send_failed' },
        { event: 'sms.refused', reason: 'too_soon' },
        { event: 'sms.sent', reason: undefined },
      ]);

      const done = await c.post('/login/code', { code: codeIn(w.fake.requests[1]!) });
      assert.equal(done.status, 303);
      assert.equal(done.headers.location, '/');
      assert.equal((await c.get('/settings/security')).status, 200);
    });
  }

  test('after a failed send the code page does not claim a code was sent', async () => {
    const user = await buildUser(w.t.s, { phone: '+8613800138012' });
    w.fake.setMode('error500');
    let c: WebClient;
    try {
      c = (await submitPassword(w.t, user)).c;
    } finally {
      w.fake.setMode('ok');
    }
    const text = textOf((await c.get('/login/code')).text);
    assert.match(text, /The code could not be sent/);
    assert.doesNotMatch(text, /We sent a 6-digit code/);
  });
});

describe('Twilio provider log lines', () => {
  const w = twilioWorld();

  test('name the number only masked, for texts sent and texts Twilio failed', async () => {
    const phone = '+8613800138020';
    const user = await buildUser(w.t.s, { phone });
    const linesBefore = w.t.s.logLines.length;
    await submitPassword(w.t, user);
    w.fake.setMode('error500');
    try {
      await submitPassword(w.t, user);
    } finally {
      w.fake.setMode('ok');
    }
    assert.equal(w.fake.requests.filter((r) => r.form.To === phone).length, 2, 'both texts reached Twilio');
    const lines = w.t.s.logLines.slice(linesBefore).filter((l) => (JSON.parse(l) as { msg: string }).msg.startsWith('sms'));
    assert.deepEqual(
      lines.map((l) => [(JSON.parse(l) as { msg: string }).msg, (JSON.parse(l) as { to?: string }).to]),
      [
        ['sms', '+86 138****8020'],
        ['sms failed', '+86 138****8020'],
      ],
    );
    for (const line of w.t.s.logLines) assert.ok(!line.includes('13800138020'), `the full number is in: ${line}`);
  });
});

describe('Twilio refusing a number', () => {
  test('a refusal quoting the number is logged with the number masked', async () => {
    const phone = '+8613800138021';
    // Twilio quotes the number in some refusals (21211 "The 'To' number … is not a valid phone number.").
    const server = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 21211, message: `The 'To' number ${phone} is not a valid phone number.`, status: 400 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const lines: string[] = [];
    try {
      const { port } = server.address() as AddressInfo;
      const config = testConfig(twilioEnv({ url: `http://127.0.0.1:${port}` }));
      const sender = new TwilioSmsSender(config, createLogger('info', (l) => lines.push(l)));
      await assert.rejects(sender.send(phone, 'Your code is 123456'));
    } finally {
      server.close();
    }
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as { msg: string; to: string; code: number; error: string };
    assert.equal(entry.msg, 'sms failed');
    assert.equal(entry.code, 21211);
    assert.equal(entry.to, '+86 138****8021');
    assert.match(entry.error, /The 'To' number \+86 138\*\*\*\*8021 is not a valid phone number/);
    assert.ok(!lines[0]!.includes('13800138021'), lines[0]);
  });
});

describe('Twilio provider with a messaging service', () => {
  const w = twilioWorld({ TWILIO_MESSAGING_SERVICE_SID: MESSAGING_SERVICE_SID });

  test('sends MessagingServiceSid instead of From', async () => {
    const user = await buildUser(w.t.s, { phone: '+14155550123' });
    const { c } = await submitPassword(w.t, user);
    assert.equal(w.fake.requests.length, 1);
    const [req] = w.fake.requests;
    assert.equal(req!.path, MESSAGES_PATH);
    assert.deepEqual(req!.auth, { user: ACCOUNT_SID, pass: AUTH_TOKEN });
    assert.equal(req!.form.To, '+14155550123');
    assert.equal(req!.form.MessagingServiceSid, MESSAGING_SERVICE_SID);
    assert.equal(req!.form.From, undefined);
    await c.get('/login/code');
    const done = await c.post('/login/code', { code: codeIn(req!) });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/');
  });
});
