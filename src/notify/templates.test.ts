import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCALES } from '../i18n/index.ts';
import { formatUtc, NOTICE_KINDS, noticeDetails, renderNotice, type NoticeKind } from './templates.ts';

const AT = new Date('2026-12-03T14:02:37Z');
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const OPTS = { service: 'Postern', publicUrl: 'https://mail.example.edu/' };

/** Secret-looking values an event's details might carry by mistake; none may reach a mail. */
const SECRETS = {
  code: '493817',
  password: 'hunter2-correct-horse',
  secret: 'JBSWY3DPEHPK3PXPSECRET',
  token: 'tok_8f1c2e9a7b6d5c4e',
  codes: ['k4p9-2mxq', 'z7w3-8hjt'],
};

/** What identifies each kind of change, as the features record it. */
const DETAILS: Record<NoticeKind, Record<string, unknown>> = {
  'apppassword.created': { name: 'iPhone Mail', scopes: ['imap', 'smtp'], expires: null },
  'phone.bound': { phone: '+86 135****0000' },
  'phone.changed': { from: '+86 135****0000', phone: '+86 136****1111', trustedDevicesRevoked: 2 },
  'phone.unbound': { phone: '+86 135****0000' },
  'factor.added': { factor: 'sms', phone: '+86 135****0000', backupCodesIssued: true },
  'factor.removed': { factor: 'totp', name: 'Work phone', trustedDevicesRevoked: 1, factorsLeft: true },
  'twofactor.disabled': { factorsRemoved: 2, trustedDevicesRevoked: 0 },
  'device.trusted': { device: 'Firefox on Linux', expires: '2026-12-10T14:02:00Z' },
  'backup_code.used': { left: 7, trustedDevicesRevoked: 0 },
  'backup_codes.issued': { count: 10 },
  'password.changed': { trustedDevicesRevoked: 0, sessionsEnded: 1 },
  'password.reset': { admin: 'root@example.edu', reason: 'locked out' },
  'share.granted': { delegate: 'assistant@example.edu', delegateId: '0000', permission: 'send_as' },
  'access_pass.issued': { admin: 'root@example.edu', reason: 'lost phone', expires: '2026-12-03T15:02:00Z' },
  'user.disabled': { admin: 'root@example.edu', reason: 'left' },
  'token.bound': { serial: 'HW-000123' },
  'token.revoked': { serial: 'HW-000123', admin: 'root@example.edu', reason: 'lost' },
  'factors.reset': { admin: 'root@example.edu', reason: 'new phone' },
};

/** render builds a notice the way the outbox does: from an audit event, through the safe details. */
function render(kind: NoticeKind, locale: (typeof LOCALES)[number], extra: Record<string, unknown> = {}, opts = OPTS) {
  const details = noticeDetails(kind, { account: 'mia@example.edu', at: AT, ip: '203.0.113.7', userAgent: CHROME, details: { ...DETAILS[kind], ...extra } });
  return { details, mail: renderNotice(kind, locale, { ...details }, opts) };
}

const IDENTIFIES: Partial<Record<NoticeKind, string>> = {
  'apppassword.created': 'iPhone Mail',
  'phone.bound': '+86 135****0000',
  'phone.changed': '+86 136****1111',
  'phone.unbound': '+86 135****0000',
  'factor.added': '+86 135****0000',
  'factor.removed': 'Work phone',
  'backup_code.used': '7',
  'backup_codes.issued': '10',
  'share.granted': 'assistant@example.edu',
  'token.bound': 'HW-000123',
  'token.revoked': 'HW-000123',
};

describe('security notice mails', () => {
  test('every kind renders in both languages: what happened, the account, the time in UTC, and what to do', () => {
    for (const kind of NOTICE_KINDS) {
      for (const locale of LOCALES) {
        const { mail } = render(kind, locale);
        const where = `${kind} ${locale}`;
        assert.ok(mail.subject.startsWith('Postern'), where);
        assert.doesNotMatch(mail.subject + mail.text, /\{\w+\}|notice\.|undefined|null|\[object/, `${where}: every placeholder filled`);
        assert.ok(mail.text.includes('mia@example.edu'), `${where}: names the account`);
        assert.ok(mail.text.includes('2026-12-03 14:02 UTC'), `${where}: the time, offset written`);
        if (IDENTIFIES[kind]) assert.ok(mail.text.includes(IDENTIFIES[kind]), `${where}: names ${IDENTIFIES[kind]}`);
        if (kind !== 'user.disabled') assert.ok(mail.text.includes('https://mail.example.edu/settings/security'), `${where}: links the security page`);
      }
    }
  });

  test('English and Chinese read in their own language', () => {
    const en = render('apppassword.created', 'en').mail;
    assert.equal(en.subject, 'Postern security alert: New app password');
    assert.match(en.text, /An app password named “iPhone Mail” was created/);
    assert.match(en.text, /From: IP address 203\.0\.113\.7, Chrome on Windows/);
    assert.match(en.text, /If this was not you, change your password now/);
    const zh = render('apppassword.created', 'zh-CN').mail;
    assert.equal(zh.subject, 'Postern 安全提醒：新建了客户端专用密码');
    assert.match(zh.text, /名为“iPhone Mail”的客户端专用密码/);
    assert.match(zh.text, /来源：IP 地址 203\.0\.113\.7，Windows 上的 Chrome/);
    assert.match(zh.text, /请立即修改密码/);
    assert.match(render('factor.added', 'zh-CN').mail.text, /二次验证方式：短信验证码（\+86 135\*\*\*\*0000）/);
    assert.match(render('share.granted', 'en').mail.text, /shared with assistant@example\.edu \(permission: Send as /);
  });

  test('an administrator’s action says so, and shows neither their address nor where they were', () => {
    for (const kind of ['password.reset', 'access_pass.issued', 'user.disabled', 'token.revoked', 'factors.reset'] as const) {
      const { mail } = render(kind, 'en');
      assert.match(mail.text, /By: an administrator/, kind);
      assert.ok(!mail.text.includes('203.0.113.7'), `${kind}: no administrator's IP`);
      assert.ok(!mail.text.includes('root@example.edu'), `${kind}: no administrator's address`);
      assert.ok(!mail.text.includes('locked out') && !mail.text.includes('lost phone'), `${kind}: no reason text`);
    }
    assert.match(render('user.disabled', 'en').mail.text, /If you think this is a mistake, contact your administrator/);
  });

  test('a reset of the factors made by a sign-in with an access pass is not put on an administrator', () => {
    const { mail } = render('factors.reset', 'en', { admin: undefined, reason: 'access_pass' });
    assert.match(mail.text, /After a sign-in with a temporary access pass/);
    assert.match(mail.text, /From: IP address 203\.0\.113\.7/);
    assert.doesNotMatch(mail.text, /administrator removed|By: an administrator/);
    assert.match(render('factors.reset', 'zh-CN').mail.text, /管理员移除了您账户的全部二次验证方式/);
  });

  test('never carries a secret: codes, passwords, secret keys or tokens in an event’s details stay out, for every kind', () => {
    for (const kind of NOTICE_KINDS) {
      for (const locale of LOCALES) {
        const { details, mail } = render(kind, locale, SECRETS);
        // Straight into the renderer too, as a row written by hand might hold them.
        const direct = renderNotice(kind, locale, { ...details, ...SECRETS }, OPTS);
        for (const value of [SECRETS.code, SECRETS.password, SECRETS.secret, SECRETS.token, ...SECRETS.codes]) {
          assert.ok(!JSON.stringify(details).includes(value), `${kind}: ${value} kept in the notice`);
          for (const m of [mail, direct]) assert.ok(!(m.subject + m.text).includes(value), `${kind} ${locale}: ${value} in the mail`);
        }
      }
    }
  });

  test('subjects never hold a line break, whatever the service name or details', () => {
    for (const kind of NOTICE_KINDS) {
      for (const locale of LOCALES) {
        const evil = { name: 'x\r\nBcc: victim@example.org', delegate: 'a@b\r\nX: y', serial: 'S\n1', phone: '1\r2', factor: 'sms\r\n' };
        const { mail } = render(kind, locale, evil, { service: 'Post\r\nBcc: all@example.org', publicUrl: '' });
        assert.doesNotMatch(mail.subject, /[\r\n]/, `${kind} ${locale}`);
        // In the body the values keep to their own line.
        assert.doesNotMatch(mail.text, /\nBcc:|\nX: y/, `${kind} ${locale}`);
      }
    }
  });

  test('without PUBLIC_URL there is no link; details that are missing read as unknown', () => {
    const mail = renderNotice('apppassword.created', 'en', { account: 'mia@example.edu', at: AT.toISOString() }, { service: 'Postern' });
    assert.doesNotMatch(mail.text, /https?:/);
    assert.match(mail.text, /named “unknown”/);
    assert.match(mail.text, /From: IP address unknown, unknown/);
  });

  test('long values are cut short and oversized input does not slow rendering down', () => {
    const long = 'A'.repeat(100_000);
    const started = Date.now();
    const { details, mail } = render('apppassword.created', 'en', { name: long });
    assert.ok(Date.now() - started < 500);
    assert.ok(String(details.name).length <= 60);
    assert.ok(mail.text.length < 2000);
  });

  test('times are written in UTC with the offset named', () => {
    assert.equal(formatUtc('2026-12-03T22:02:59+08:00'), '2026-12-03 14:02 UTC');
    assert.equal(formatUtc('not a date'), undefined);
  });
});
