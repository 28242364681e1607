import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser, eventsOf, soon } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { testConfig } from './helpers/services.ts';
import { startSmtpSink, type SinkMessage, type SmtpSink } from './harness/smtp-sink.ts';
import { freePort } from './harness/ports.ts';
import { notices } from '../src/db/schema/index.ts';
import { RelayMailer, type Mailer, type OwnMessage } from '../src/notify/mailer.ts';
import { MAX_ATTEMPTS, Notices, retryDelayMs } from '../src/notify/notices.ts';
import type { User } from '../src/users/repo.ts';

/**
 * Relay is the SMTP relay Postern's own mail goes through, switched between
 * the sink (up) and a port nobody listens on (down): every send is a real
 * SMTP connection either way.
 */
class Relay implements Mailer {
  private current: RelayMailer;
  private readonly made: RelayMailer[] = [];

  constructor(port: number) {
    this.current = this.to(port);
  }

  private to(port: number): RelayMailer {
    const mailer = new RelayMailer(testConfig({ SMTP_PORT: String(port) }));
    this.made.push(mailer);
    return mailer;
  }

  switchTo(port: number): void {
    this.current = this.to(port);
  }

  send(message: OwnMessage): Promise<void> {
    return this.current.send(message);
  }

  close(): void {
    for (const m of this.made) m.close();
  }
}

let t: TestApp;
let sink: SmtpSink;
let relay: Relay;
let closedPort: number;

before(async () => {
  sink = await startSmtpSink();
  closedPort = await freePort();
  relay = new Relay(sink.port);
  t = await startApp({ SMTP_PORT: String(sink.port) }, { mailer: relay });
});
after(async () => {
  await t.s.notices.stop();
  await t.close();
  relay.close();
  await sink.stop();
});

const relayDown = () => relay.switchTo(closedPort);
const relayUp = () => relay.switchTo(sink.port);

/** mailsTo lists what the sink took for one address. */
const mailsTo = (address: string): SinkMessage[] => sink.messages.filter((m) => m.to.includes(address));

/** noticesOf lists a user's notice rows, oldest first. */
const noticesOf = (userId: string) => t.s.db.select().from(notices).where(eq(notices.userId, userId)).orderBy(notices.id);

/** createAppPassword makes a client-specific password through the page and returns it as shown. */
async function createAppPassword(c: WebClient, name: string): Promise<{ status: number; secret: string }> {
  await c.get('/settings/app-passwords');
  const made = await c.post('/settings/app-passwords', { name, imap: 'on', smtp: 'on' });
  assert.equal(made.headers.location, '/settings/app-passwords/new', textOf(made.text));
  const shown = (await c.get('/settings/app-passwords/new')).text.match(/<code id="app-password" class="secret">([^<]+)<\/code>/)?.[1];
  assert.ok(shown, 'the new password is shown');
  return { status: made.status, secret: shown.replace(/ /g, '') };
}

/** noticeOnAudit reads how the notices of a user's audit event stand, as the audit row records it. */
async function noticeOnAudit(userId: string, event: string): Promise<unknown> {
  return (await eventsOf(t.s, userId)).filter((e) => e.event === event).at(-1)?.details?.notice;
}

/** later is a moment `ms` from now, for the worker's clock. */
const later = (ms: number) => new Date(Date.now() + ms);

describe('security notices by email', () => {
  test('creating an app password mails the user one notice naming it, without the password; the audit row says sent', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138401' });
    const c = await t.signIn(user.email);
    const { status, secret } = await createAppPassword(c, 'Thunderbird at home');
    assert.equal(status, 303);
    assert.equal((await noticesOf(user.id)).length, 1, 'queued with the action');

    const run = await t.s.notices.runOnce();
    assert.equal(run.sent, 1);
    const [mail, ...more] = mailsTo(user.email);
    assert.ok(mail, 'the sink took the notice');
    assert.deepEqual(more, [], 'exactly one');
    assert.equal(mail.parsed.subject, 'Postern security alert: New app password');
    const text = mail.parsed.text!;
    assert.match(text, /An app password named “Thunderbird at home” was created for your account/);
    assert.ok(text.includes(user.email), 'names the account');
    assert.match(text, /Time: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(text, /From: IP address [\d.:a-f]+, Chrome on Windows/);
    assert.match(text, /If this was not you, change your password now/);
    const raw = mail.raw.toString('utf8');
    for (const shape of [secret, secret.replace(/(.{4})(?!$)/g, '$1 ')]) assert.ok(!raw.includes(shape), 'the new password is nowhere in the message');
    assert.ok(!JSON.stringify(await noticesOf(user.id)).includes(secret), 'nor in the outbox');
    assert.equal(await noticeOnAudit(user.id, 'apppassword.created'), 'sent');
    const [row] = await noticesOf(user.id);
    assert.equal(row!.status, 'sent');
    assert.equal(row!.attempts, 1);
    assert.equal((await t.s.notices.runOnce()).sent, 0, 'nothing is sent twice');
  });

  test('binding a phone tells a zh-CN user in Chinese, with the number masked and no code', async () => {
    const user = await buildUser(t.s);
    await t.s.users.update(user.id, { locale: 'zh-CN' });
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    assert.equal((await c.post('/settings/security/sms/send', { phone: '+8613800138402' })).status, 303);
    const code = t.s.lastCode('+8613800138402');
    const done = await c.post('/settings/security/sms/confirm', { code });
    assert.equal(done.status, 303);

    await t.s.notices.runOnce();
    const [mail, ...more] = mailsTo(user.email);
    assert.ok(mail);
    assert.deepEqual(more, []);
    assert.equal(mail.parsed.subject, 'Postern 安全提醒：添加了二次验证方式');
    const text = mail.parsed.text!;
    assert.match(text, /您的账户添加了二次验证方式：短信验证码（\+86 138\*\*\*\*8402）/);
    assert.match(text, /如果这不是您本人的操作/);
    assert.ok(!mail.raw.toString('utf8').includes(code), 'the code is not in the message');
    assert.ok(!text.includes('13800138402'), 'the number is masked');
    assert.equal(await noticeOnAudit(user.id, 'factor.added'), 'sent');
  });

  test('changing the phone number is told as a change, naming the new number masked', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138407' });
    const c = await t.signIn(user.email);
    await t.stepUp(c, '/settings/security/sms');
    assert.equal((await c.post('/settings/security/sms/change', { phone: '+8613800138408' })).status, 303);
    assert.equal((await c.post('/settings/security/sms/confirm', { code: t.s.lastCode('+8613800138408') })).status, 303);
    assert.equal(await t.s.phones.load(user.id), '+8613800138408');
    await t.s.notices.runOnce();
    const [mail, ...more] = mailsTo(user.email);
    assert.deepEqual(more, []);
    assert.equal(mail!.parsed.subject, 'Postern security alert: Phone number changed');
    assert.match(mail!.parsed.text!, /changed to \+86 138\*\*\*\*8408/);
  });

  test('with the relay down the action still succeeds; the notice waits, then goes out exactly once when the relay is back', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138403' });
    const c = await t.signIn(user.email);
    relayDown();
    try {
      const { status } = await createAppPassword(c, 'Outlook');
      assert.equal(status, 303);
      const first = await t.s.notices.runOnce();
      assert.deepEqual(first, { sent: 0, retrying: 1, failed: 0 });
      const [row] = await noticesOf(user.id);
      assert.equal(row!.status, 'queued');
      assert.ok(row!.attempts > 0);
      assert.match(row!.lastError!, /ECONNREFUSED/);
      assert.ok(row!.nextAttemptAt.getTime() > Date.now() + 50_000, 'tried again a minute later');
      assert.equal(await noticeOnAudit(user.id, 'apppassword.created'), 'queued');
      assert.deepEqual(await t.s.notices.runOnce(), { sent: 0, retrying: 0, failed: 0 }, 'not before it is due');
    } finally {
      relayUp();
    }
    assert.deepEqual(mailsTo(user.email), []);
    assert.equal((await t.s.notices.runOnce(later(61_000))).sent, 1);
    assert.equal((await t.s.notices.runOnce(later(3600_000))).sent, 0);
    assert.equal(mailsTo(user.email).length, 1, 'delivered exactly once');
    assert.equal(await noticeOnAudit(user.id, 'apppassword.created'), 'sent');
  });

  test('the running worker sends at once after the action, and a relay that is down never holds the action up', async () => {
    t.s.notices.start(60_000);
    try {
      const user = await buildUser(t.s, { phone: '+8613800138404' });
      const c = await t.signIn(user.email);
      await createAppPassword(c, 'Mail on the phone');
      await sink.waitFor((m) => m.to.includes(user.email));

      relayDown();
      const started = Date.now();
      const { status } = await createAppPassword(c, 'Second phone');
      assert.equal(status, 303);
      assert.ok(Date.now() - started < 5000);
      await soon(async () => {
        const rows = await noticesOf(user.id);
        assert.ok(rows[1]!.attempts > 0 && rows[1]!.status === 'queued', JSON.stringify(rows[1]));
      }, 5000);
    } finally {
      relayUp();
      await t.s.notices.stop();
    }
  });

  test('a notice that cannot even be queued does not fail the action; it is logged', async () => {
    const user = await buildUser(t.s, { phone: '+8613800138405' });
    const c = await t.signIn(user.email);
    await t.s.db.execute(sql`alter table notices rename to notices_away`);
    try {
      const { status } = await createAppPassword(c, 'Not announced');
      assert.equal(status, 303);
    } finally {
      await t.s.db.execute(sql`alter table notices_away rename to notices`);
    }
    assert.ok(t.s.logLines.some((l) => l.includes('security notice not queued') && l.includes('"level":"error"')));
    assert.ok((await t.s.appPasswords.list(user.id)).some((p) => p.name === 'Not announced'), 'the password was made');
  });

  test('retries back off (1, 5, 15, 60, 180 minutes, then 6 hours) and give up after eight attempts, marked failed', async () => {
    const user = await buildUser(t.s);
    await t.s.audit.record({ event: 'password.changed', userId: user.id, account: user.email, origin: { ip: '198.51.100.4', userAgent: 'curl/8' } });
    relayDown();
    try {
      let at = Date.now();
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const run = await t.s.notices.runOnce(new Date(at));
        assert.equal(run.sent, 0);
        const [row] = await noticesOf(user.id);
        assert.equal(row!.attempts, attempt);
        if (attempt < MAX_ATTEMPTS) {
          assert.equal(row!.status, 'queued');
          assert.equal(row!.nextAttemptAt.getTime() - at, retryDelayMs(attempt));
          await t.s.notices.runOnce(new Date(row!.nextAttemptAt.getTime() - 1000));
          assert.equal((await noticesOf(user.id))[0]!.attempts, attempt, 'not tried early');
          at = row!.nextAttemptAt.getTime();
        } else {
          assert.equal(row!.status, 'failed');
          assert.match(row!.lastError!, /ECONNREFUSED/);
        }
      }
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n) / 60_000), [1, 5, 15, 60, 180, 360, 360]);
      assert.equal(await noticeOnAudit(user.id, 'password.changed'), 'failed');
    } finally {
      relayUp();
    }
    assert.deepEqual(mailsTo(user.email), []);
  });

  test('two workers running at once send each notice once', async () => {
    const users: User[] = [];
    for (let i = 0; i < 12; i++) users.push(await buildUser(t.s));
    for (const u of users) {
      await t.s.audit.record({ event: 'password.changed', userId: u.id, account: u.email });
      await t.s.audit.record({ event: 'twofactor.disabled', userId: u.id, account: u.email });
    }
    const second = new Notices({ db: t.s.db, audit: t.s.audit, users: t.s.users, recoveryEmails: t.s.recoveryEmails, mailer: relay, log: t.s.log, service: 'Postern' });
    const [a, b] = await Promise.all([t.s.notices.runOnce(), second.runOnce()]);
    // Other tests' notices may be due as well: each of these users' must be sent once all the same.
    assert.ok(a.sent + b.sent >= 24);
    assert.ok(a.sent > 0 && b.sent > 0, `both worked: ${a.sent} + ${b.sent}`);
    for (const u of users) {
      const subjects = mailsTo(u.email).map((m) => m.parsed.subject).sort();
      assert.deepEqual(subjects, ['Postern security alert: Password changed', 'Postern security alert: Two-step verification turned off']);
    }
  });

  test('a recovery event goes to the recovery address too; other events only to the mailbox', async () => {
    const user = await buildUser(t.s);
    const recovery = `away-${process.pid}@elsewhere.test`;
    await t.s.recoveryEmails.save(user.id, recovery);
    await t.s.audit.record({ event: 'password.reset', userId: user.id, account: user.email, origin: { ip: '192.0.2.9', userAgent: 'x' }, details: { admin: 'root@example.test', reason: 'forgot it' } });
    await t.s.audit.record({ event: 'password.changed', userId: user.id, account: user.email });
    await t.s.notices.runOnce();
    assert.deepEqual(mailsTo(user.email).map((m) => m.parsed.subject), ['Postern security alert: Password reset by an administrator', 'Postern security alert: Password changed']);
    const [copy, ...more] = mailsTo(recovery);
    assert.deepEqual(more, []);
    assert.equal(copy!.parsed.subject, 'Postern security alert: Password reset by an administrator');
    assert.match(copy!.parsed.text!, /By: an administrator/);
    assert.ok(!copy!.parsed.text!.includes('192.0.2.9') && !copy!.parsed.text!.includes('root@example.test'));
    assert.equal(await noticeOnAudit(user.id, 'password.reset'), 'sent');
  });

  test('a hardware token is told once, and to its owner, not to the administrator who withdrew it', async () => {
    const owner = await buildUser(t.s);
    const admin = await buildUser(t.s, { admin: true });
    const origin = { ip: '192.0.2.10', userAgent: 'x' };
    // As binding records it: the token's event, then the factor's.
    await t.s.audit.record({ event: 'token.bound', userId: owner.id, account: owner.email, origin, details: { serial: 'HW-777', driftSteps: 0 } });
    await t.s.audit.record({ event: 'factor.added', userId: owner.id, account: owner.email, origin, details: { factor: 'hardware', serial: 'HW-777', backupCodesIssued: false } });
    // As an administrator's withdrawal records it: on the owner, the administrator in the details; then the owner's factor.
    await t.s.audit.record({ event: 'token.revoked', userId: owner.id, account: owner.email, origin, details: { admin: admin.email, serial: 'HW-777', status: 'activated', reason: 'lost' } });
    await t.s.audit.record({ event: 'factor.removed', userId: owner.id, account: owner.email, origin, details: { factor: 'hardware', serial: 'HW-777', revokedBy: admin.email } });
    await t.s.audit.record({ event: 'token.revoked', userId: null, account: null, origin, details: { admin: admin.email, serial: 'HW-778', status: 'available', reason: 'broken' } });
    await t.s.notices.runOnce();
    assert.deepEqual(mailsTo(owner.email).map((m) => m.parsed.subject), ['Postern security alert: Hardware token bound', 'Postern security alert: Hardware token revoked']);
    assert.match(mailsTo(owner.email)[1]!.parsed.text!, /HW-777[\s\S]*By: an administrator/);
    assert.deepEqual(mailsTo(admin.email), []);
  });

  test('a disabled account is told it was disabled, and of nothing else', async () => {
    const user = await buildUser(t.s, { disabled: true });
    await t.s.audit.record({ event: 'user.disabled', userId: user.id, account: user.email, details: { admin: 'root@example.test' } });
    await t.s.audit.record({ event: 'password.changed', userId: user.id, account: user.email });
    await t.s.notices.runOnce();
    assert.deepEqual(mailsTo(user.email).map((m) => m.parsed.subject), ['Postern security alert: Account disabled']);
  });
});

describe('Administration → Notices', () => {
  /** failedNotice makes a notice the relay refused until the worker gave up on it. */
  async function failedNotice(): Promise<{ user: User; id: number }> {
    const user = await buildUser(t.s);
    await t.s.audit.record({ event: 'password.changed', userId: user.id, account: user.email });
    relayDown();
    try {
      await t.s.notices.runOnce(later(25 * 3600_000));
    } finally {
      relayUp();
    }
    const [row] = await noticesOf(user.id);
    assert.equal(row!.status, 'failed');
    return { user, id: row!.id };
  }

  test('is for administrators only: anyone else gets 403, even for the retry', async () => {
    const { id } = await failedNotice();
    const user = await buildUser(t.s, { phone: '+8613800138406' });
    const c = await t.signIn(user.email);
    const page = await c.get('/admin/notices');
    assert.equal(page.status, 403);
    await c.get('/settings/security');
    assert.equal((await c.post(`/admin/notices/${id}/retry`)).status, 403);
    assert.equal((await t.s.db.select().from(notices).where(eq(notices.id, id)))[0]!.status, 'failed', 'nothing retried');
    assert.equal((await t.client().get('/admin/notices')).status, 303, 'a visitor is sent to sign in');
  });

  test('an administrator sees the counts and the failing notice, and retries it', async () => {
    const { user, id } = await failedNotice();
    const admin = await buildUser(t.s, { admin: true });
    const c = await t.signIn(admin.email);
    const cold = await c.get('/admin/notices');
    assert.equal(cold.status, 303);
    assert.match(cold.headers.location!, /^\/settings\/security\/verify\?/, 'a fresh step-up first');
    await t.stepUp(c, '/admin/notices');
    const page = await c.get('/admin/notices');
    assert.equal(page.status, 200);
    const text = textOf(page.text);
    assert.match(page.text, /data-count="failed">[1-9]/);
    assert.ok(text.includes(user.email), 'the recipient is listed');
    assert.match(text, /Password changed/);
    assert.match(text, /ECONNREFUSED/);
    assert.match(text, /Given up/);
    assert.match(page.text, new RegExp(`action="/admin/notices/${id}/retry"`));

    const retried = await c.post(`/admin/notices/${id}/retry`);
    assert.equal(retried.status, 303);
    assert.equal(retried.headers.location, '/admin/notices');
    assert.match(textOf((await c.get('/admin/notices')).text), new RegExp(`The notice to ${user.email.replace(/\./g, '\\.')} is queued again`));
    const audited = (await eventsOf(t.s, user.id)).find((e) => e.event === 'notice.retried');
    assert.equal(audited?.account, user.email);
    assert.equal(audited?.details?.admin, admin.email);
    assert.equal(audited?.details?.noticeId, id);

    assert.equal((await t.s.notices.runOnce()).sent, 1);
    assert.equal(mailsTo(user.email).length, 1);
    assert.equal(await noticeOnAudit(user.id, 'password.changed'), 'sent');
    assert.doesNotMatch(textOf((await c.get('/admin/notices')).text), new RegExp(user.email.replace(/\./g, '\\.')));
    // A notice that is not failed (this one is sent now) cannot be retried.
    assert.equal((await c.post(`/admin/notices/${id}/retry`)).status, 404);
  });

  test('refuses an id that is not a positive whole number, and one that does not exist', async () => {
    const admin = await buildUser(t.s, { admin: true });
    const c = await t.signIn(admin.email);
    await t.stepUp(c, '/admin/notices');
    for (const bad of ['0', '-1', 'abc', '1e3', '0x10', '9'.repeat(40), '1.5']) {
      await c.get('/admin/notices');
      assert.equal((await c.post(`/admin/notices/${encodeURIComponent(bad)}/retry`)).status, 400, bad);
    }
    await c.get('/admin/notices');
    assert.equal((await c.post('/admin/notices/999999999/retry')).status, 404);
  });
});
