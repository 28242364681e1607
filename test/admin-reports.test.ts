import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startApp, type TestApp } from './helpers/app.ts';
import { buildUser } from './helpers/factories.ts';
import { textOf, type WebClient } from './helpers/client.ts';
import { auditEvents, oneTimeCodes } from '../src/db/schema/index.ts';
import type { User } from '../src/users/repo.ts';

/**
 * The administrators' reports: the audit log with its filters, keyset
 * paging and CSV export, SMS usage with the signs of pumping, and mail
 * logins. Administrators only, after a fresh step-up.
 */

const ROUTES = ['/admin/audit', '/admin/audit.csv', '/admin/sms', '/admin/mail-logins'];
const MIN = 60_000;

let t: TestApp;
let admin: WebClient;
let alice: User;
let bob: User;
const now = Date.now();
const at = (minutesAgo: number) => new Date(now - minutesAgo * MIN);

before(async () => {
  t = await startApp();
  const boss = await buildUser(t.s, { admin: true });
  admin = await t.signIn(boss.email);
  await t.stepUp(admin, '/admin/audit');
  alice = await buildUser(t.s);
  bob = await buildUser(t.s);
});
after(() => t.close());

/** event writes one audit row as the services would, with a marker in its details to find it on the page. */
function event(marker: string, o: { user?: User; account?: string; event?: string; ip?: string; minutesAgo?: number; userAgent?: string; details?: Record<string, unknown> }) {
  return {
    event: o.event ?? 'login.ok',
    userId: o.user?.id ?? null,
    account: o.account ?? o.user?.email ?? null,
    ip: o.ip ?? '192.0.2.10',
    userAgent: o.userAgent ?? 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    details: { marker, ...o.details },
    createdAt: at(o.minutesAgo ?? 1),
  };
}

/** markers reads, in page order, the markers of the events a page lists. */
function markers(html: string): string[] {
  return [...textOf(html).matchAll(/marker: (\w+)/g)].map((m) => m[1]!);
}

/** nextLink reads the "Older events" link of a page. */
function nextLink(html: string): string | undefined {
  return html.match(/href="([^"]+)" rel="next"/)?.[1]?.replace(/&amp;/g, '&');
}

describe('who may see the reports', () => {
  test('a user who is not an administrator gets 403 on every report, fresh step-up or not', async () => {
    const user = await buildUser(t.s);
    const c = await t.signIn(user.email);
    await t.stepUp(c);
    for (const path of ROUTES) {
      const res = await c.get(path);
      assert.equal(res.status, 403, path);
      assert.match(textOf(res.text), /This page is for administrators/, path);
    }
  });

  test('a visitor is sent to sign in', async () => {
    for (const path of ROUTES) {
      const res = await t.client().get(path);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.location!, /^\/login/, path);
    }
  });

  test('an administrator without a fresh step-up is sent to the verify page first', async () => {
    const other = await buildUser(t.s, { admin: true });
    const c = await t.signIn(other.email);
    for (const path of ROUTES) {
      const res = await c.get(path);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.location!, /^\/settings\/security\/verify\?/, path);
    }
  });
});

describe('the audit log', () => {
  before(async () => {
    await t.s.db.insert(auditEvents).values([
      event('a1', { user: alice, event: 'login.ok', ip: '198.51.100.1', minutesAgo: 5 }),
      event('a2', { user: alice, event: 'password.changed', ip: '198.51.100.2', minutesAgo: 3 * 24 * 60 }),
      event('b1', { user: bob, event: 'login.password_failed', ip: '198.51.100.1', minutesAgo: 4 }),
      event('b2', { user: bob, event: 'mail.login_failed', ip: '2001:db8::7', minutesAgo: 10 * 24 * 60, userAgent: 'imap', details: { protocol: 'imap', reason: 'wrong_password' } }),
      event('g1', { account: 'ghost@nowhere.test', event: 'login.password_failed', ip: '203.0.113.9', minutesAgo: 2 }),
      event('g2', { account: 'ghost@nowhere.test', event: 'login.password_failed', ip: '203.0.113.9', minutesAgo: 40 * 24 * 60 }),
    ]);
  });

  test('lists events newest first with time, label, account, IP, a short client and the details', async () => {
    const res = await admin.get('/admin/audit');
    assert.equal(res.status, 200);
    const seen = markers(res.text).filter((m) => /^[abg]\d$/.test(m));
    assert.deepEqual(seen, ['g1', 'b1', 'a1', 'a2', 'b2', 'g2']);
    const text = textOf(res.text);
    assert.match(text, /Wrong password|Failed sign-in/);
    assert.match(text, /Chrome 126 · Windows/);
    assert.match(text, /marker: b2 .*reason: wrong_password/);
    assert.match(text, /marker: b2 .*protocol: imap/);
    assert.match(text, /ghost@nowhere\.test/);
  });

  test('each filter narrows the rows', async () => {
    const day = (minutesAgo: number) => at(minutesAgo).toISOString().slice(0, 10);
    const only = async (query: string) => markers((await admin.get(`/admin/audit?${query}`)).text).filter((m) => /^[abg]\d$/.test(m));
    assert.deepEqual(await only(`user=${encodeURIComponent(alice.email.toUpperCase())}`), ['a1', 'a2'], 'by account, whatever the case');
    assert.deepEqual(await only('user=ghost%40nowhere.test'), ['g1', 'g2'], 'an address with no account: what was typed');
    assert.match(textOf((await admin.get('/admin/audit?user=ghost%40nowhere.test')).text), /No account has this address: these are the sign-in attempts that typed it/);
    assert.deepEqual(await only(`user=ghost%40nowhere.test&from=${day(30)}`), ['g1'], 'from a start date');
    assert.deepEqual(await only('event=login.password_failed'), ['g1', 'b1', 'g2']);
    assert.deepEqual(await only('ip=198.51.100.1'), ['b1', 'a1']);
    assert.deepEqual(await only('ip=2001:db8::7'), ['b2']);
    assert.deepEqual(await only(`from=${day(4 * 24 * 60)}&to=${day(2 * 24 * 60)}`), ['a2'], 'a range of days, both included');
    assert.deepEqual(await only(`user=${encodeURIComponent(bob.email)}&event=mail.login_failed`), ['b2'], 'filters combine');
    assert.deepEqual(await only('event=logout'), []);
  });

  test('the event filter offers every labelled event by its label', async () => {
    const res = await admin.get('/admin/audit?event=sms.refused');
    assert.match(res.text, /<option value="sms\.refused" selected>Verification code refused \(limit reached\)<\/option>/);
    assert.match(res.text, /<option value="mail\.login_ok">Mail client signed in<\/option>/);
  });

  test('keyset paging shows the next rows, in order, with no duplicates, even among events of the same microsecond', async () => {
    // 120 events of one address; ten share each timestamp, so only the id can order them.
    await t.s.db.execute(sql`
      insert into audit_events (event, account, ip, details, created_at)
      select 'login.ok', 'pager@example.test', '198.51.100.200', jsonb_build_object('marker', 'p' || g), timestamptz '2026-06-01 10:00:00.123456+00' + (g / 10) * interval '1 second'
      from generate_series(0, 119) g`);
    const pages: string[][] = [];
    let url: string | undefined = '/admin/audit?ip=198.51.100.200';
    while (url) {
      const res = await admin.get(url);
      assert.equal(res.status, 200);
      pages.push(markers(res.text));
      url = nextLink(res.text);
      assert.ok(pages.length < 5, 'paging ends');
    }
    assert.deepEqual(pages.map((p) => p.length), [50, 50, 20]);
    const all = pages.flat();
    assert.equal(new Set(all).size, 120, 'no row twice');
    const expected = Array.from({ length: 120 }, (_, g) => g).sort((x, y) => Math.floor(y / 10) - Math.floor(x / 10) || y - x).map((g) => `p${g}`);
    assert.deepEqual(all, expected, 'newest first, ties newest id first');
    assert.match(nextLink((await admin.get('/admin/audit?ip=198.51.100.200')).text)!, /^\/admin\/audit\?ip=198\.51\.100\.200&before=\d+$/, 'the next page keeps the filters');
  });

  test('CSV export: the header, every filtered row, formulas defused and quoting done right', async () => {
    await t.s.db.insert(auditEvents).values([
      event('c1', { account: '=HYPERLINK("http://evil.example")', ip: '198.51.100.99', userAgent: '=cmd()', minutesAgo: 2 }),
      event('c2', { account: 'plain@example.test', ip: '198.51.100.99', userAgent: 'Agent, with "quotes"\nand a line', minutesAgo: 3, details: { note: '@SUM(A1)' } }),
      event('c3', { account: '-2+3', ip: '198.51.100.99', userAgent: '\tTabbed', minutesAgo: 4 }),
    ]);
    const res = await admin.agent.get('/admin/audit.csv?ip=198.51.100.99').buffer(true).parse((r, cb) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => (body += chunk));
      r.on('end', () => cb(null, body));
    });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /^text\/csv; charset=utf-8/);
    assert.match(res.headers['content-disposition']!, /^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const body = res.body as string;
    assert.ok(body.startsWith('\ufefftime,event,account,ip,user_agent,details\r\n'), 'a byte-order mark, then the header');
    const lines = body.slice(1).split('\r\n');
    assert.equal(lines.length, 5, 'header, three rows, the final line break');
    assert.match(lines[1]!, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z,login\.ok,"'=HYPERLINK\(""http:\/\/evil\.example""\)",198\.51\.100\.99,'=cmd\(\),"\{""marker"":""c1""\}"$/);
    assert.match(lines[2]!, /,plain@example\.test,198\.51\.100\.99,"Agent, with ""quotes""\nand a line","\{[^}]*""note"":""@SUM\(A1\)""[^}]*\}"$/);
    assert.match(lines[3]!, /,'-2\+3,198\.51\.100\.99,"?'\tTabbed"?,/);
  });

  test('bad filter values get a 400 page, never a 500', async () => {
    const bad = [
      `ip=${'1'.repeat(10_000)}`,
      'ip=not-an-address',
      'ip=1.2.3.4&ip=5.6.7.8',
      'from=yesterday',
      'from=2026-02-30',
      'to=2026-13-01',
      'from=2026-05-02&to=2026-05-01',
      'event=nope',
      `event=${'x'.repeat(5000)}`,
      `user=${'u'.repeat(300)}`,
      'before=-1',
      'before=abc',
      'before=1e40',
    ];
    for (const query of bad) {
      for (const path of ['/admin/audit', '/admin/audit.csv']) {
        const res = await admin.get(`${path}?${query}`);
        assert.equal(res.status, 400, `${path}?${query.slice(0, 40)}`);
        assert.match(textOf(res.text), /A filter is not valid/, query.slice(0, 40));
      }
    }
    const page = await admin.get(`/admin/audit?ip=${'1'.repeat(10_000)}`);
    assert.ok(page.text.length < 40_000, 'the oversized value is not echoed back');
  });
});

describe('SMS usage', () => {
  before(async () => {
    const code = (destination: string, minutesAgo: number, o: { status?: string; ip?: string } = {}) => ({
      userId: alice.id,
      purpose: 'login',
      channel: 'sms',
      destination,
      codeHash: 'x',
      ip: o.ip ?? '192.0.2.50',
      status: o.status ?? 'sent',
      createdAt: at(minutesAgo),
      expiresAt: at(minutesAgo - 5),
    });
    const day = t.s.config.SMS_MAX_PER_NUMBER_DAY;
    await t.s.db.insert(oneTimeCodes).values([
      // A number pumped to its daily cap, a text every 40 minutes.
      ...Array.from({ length: day }, (_, i) => code('+8613800138000', 10 + i * 40, { ip: '203.0.113.66' })),
      code('+12025550123', 30),
      code('+12025550123', 31, { status: 'failed' }),
      code('+447400123456', 3 * 24 * 60),
      // An email code is no text.
      { ...code('someone@example.test', 20), channel: 'email' },
    ]);
    await t.s.db.insert(auditEvents).values([
      event('r1', { user: alice, event: 'sms.refused', ip: '203.0.113.66', details: { purpose: 'login', to: '+86 138****8000', reason: 'capped' } }),
      event('r2', { user: alice, event: 'sms.refused', ip: '203.0.113.66', details: { purpose: 'login', to: '+86 138****8000', reason: 'capped' } }),
      event('r3', { user: alice, event: 'sms.refused', ip: '203.0.113.67', details: { purpose: 'login', to: '+86 138****8000', reason: 'too_soon' } }),
    ]);
  });

  test('shows the texts of the last 24 hours against the daily budget, by country, and per day', async () => {
    const res = await admin.get('/admin/sms');
    assert.equal(res.status, 200);
    const inDay = t.s.config.SMS_MAX_PER_NUMBER_DAY + 2;
    assert.match(res.text, new RegExp(`data-used>${inDay}<`));
    assert.match(res.text, new RegExp(`data-left>${t.s.config.SMS_DAILY_BUDGET - inDay}<`));
    const text = textOf(res.text);
    assert.match(text, new RegExp(`China \\(CN\\) ${t.s.config.SMS_MAX_PER_NUMBER_DAY}\\b`));
    assert.match(text, /United States \(US\) 2\b/);
    assert.match(text, /United Kingdom \(GB\) 1\b/);
    assert.match(res.text, /<svg [^>]*viewBox="0 0 400 \d+"[^>]*width="100%"/);
    assert.match(res.text, />Failed<\/text>/, 'failed texts are their own series');
    assert.match(res.text, /<title>\d\d-\d\d · Failed: 1<\/title>/);
    assert.doesNotMatch(res.text, /someone@example\.test/, 'email codes are not texts');
  });

  test('lists a number at a cap masked but for its last four digits, and the address that texted it', async () => {
    const res = await admin.get('/admin/sms');
    const text = textOf(res.text);
    assert.match(text, /\+\*{9}8000 China \(CN\) 30 \d+ daily \(30\)/);
    assert.doesNotMatch(res.text, /8613800138000|138\*\*\*\*8000/, 'the number is never shown whole or with its prefix');
    assert.doesNotMatch(text, /Addresses at a cap/, 'the address stayed under its own caps (raised for tests)');
    assert.match(text, /\+\*{5}8000 203\.0\.113\.66 2 /, 'the refusals at a cap, by number and address');
    assert.doesNotMatch(text, /203\.0\.113\.67/, 'a refusal for asking too soon is no cap');
  });
});

describe('mail logins', () => {
  before(async () => {
    const mail = (marker: string, ev: string, protocol: string, details: Record<string, unknown>, o: { account?: string; ip?: string } = {}) =>
      event(marker, { account: o.account ?? 'carol@example.test', event: ev, ip: o.ip ?? '192.0.2.80', userAgent: protocol, details: { protocol, ...details }, minutesAgo: 30 });
    await t.s.db.insert(auditEvents).values([
      mail('m1', 'mail.login_ok', 'imap', { via: 'app_password', cached: false }),
      mail('m2', 'mail.login_ok', 'imap', { via: 'app_password', cached: true }),
      mail('m3', 'mail.login_ok', 'smtp', { via: 'app_password', cached: false }),
      mail('m4', 'mail.login_failed', 'imap', { reason: 'wrong_password' }, { account: 'mallory@example.test', ip: '203.0.113.5' }),
      mail('m5', 'mail.login_failed', 'imap', { reason: 'wrong_password' }, { account: 'mallory@example.test', ip: '203.0.113.5' }),
      mail('m6', 'mail.login_failed', 'smtp', { reason: 'wrong_password' }, { account: 'dave@example.test', ip: '203.0.113.5' }),
      mail('m7', 'mail.login_failed', 'imap', { reason: 'second_factor_on' }),
      mail('m8', 'mail.throttled', 'imap', { knownIp: false }, { account: 'mallory@example.test', ip: '203.0.113.5' }),
    ]);
  });

  test('shows admitted logins per hour by protocol, and the refusals by reason, account and address', async () => {
    const res = await admin.get('/admin/mail-logins');
    assert.equal(res.status, 200);
    assert.match(res.text, /data-admitted>3</);
    assert.match(res.text, /data-refused>4</);
    assert.match(res.text, /data-throttled>1</);
    assert.match(res.text, /<title>\d\d:00 · IMAP: 2<\/title>/);
    assert.match(res.text, /<title>\d\d:00 · SMTP: 1<\/title>/);
    const reasons = [...res.text.matchAll(/<tr data-reason="(\w+)"><td[^>]*>([^<]+)<\/td><td[^>]*>(\d+)</g)].map((m) => [m[1], m[2], Number(m[3])]);
    assert.deepEqual(reasons, [
      ['wrong_password', 'Wrong password', 3],
      ['second_factor_on', 'Main password refused: two-step verification is on', 1],
      ['throttled', 'Paused after too many failures', 1],
    ]);
    const text = textOf(res.text);
    assert.match(text, /Most refused accounts Account Count mallory@example\.test 3 carol@example\.test 1 dave@example\.test 1/);
    assert.match(text, /Most refused addresses IP address Count 203\.0\.113\.5 4 192\.0\.2\.80 1/);
  });

  test('the reports read in Chinese too', async () => {
    const res = await admin.get('/admin/mail-logins?lang=zh-CN');
    assert.match(textOf(res.text), /按原因统计的拒绝 .*密码错误 3/);
    const sms = await admin.get('/admin/sms');
    assert.equal(sms.status, 200);
    assert.match(textOf(sms.text), /中国 \(CN\) 30/, 'country names in the reader’s language');
    const audit = await admin.get('/admin/audit?event=login.ok');
    assert.equal(audit.status, 200);
    assert.match(textOf(audit.text), /审计日志 .*登录成功/);
    await admin.get('/admin/mail-logins?lang=en');
  });
});
