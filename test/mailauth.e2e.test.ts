import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUser, PASSWORD, soon } from './helpers/factories.ts';
import { imapLogin, imapRefusal, smtpTransport, startMailStack, type MailStack } from './helpers/stack.ts';
import type { User } from '../src/users/repo.ts';

let m: MailStack;
before(async () => {
  m = await startMailStack();
});
after(() => m.stop());

async function staff(opts: { phone?: string; scopes?: ('imap' | 'smtp')[]; expiresAt?: Date } = {}): Promise<{ user: User; secret: string; id: string }> {
  const user = await buildUser(m.s, { phone: opts.phone ?? '+8613100131000' });
  const { secret, row } = await m.s.appPasswords.create(user, { name: 'Foxmail', scopes: opts.scopes ?? ['imap', 'smtp'], expiresAt: opts.expiresAt }, { ip: '127.0.0.1', userAgent: '' });
  return { user, secret, id: row.id };
}

describe('mail clients through nginx', () => {
  test('a fresh client-specific password lists INBOX and sends a message that reaches the relay', async () => {
    const { user, secret } = await staff();
    const client = await imapLogin(m.nginx.imapPort, user.email, secret);
    try {
      const boxes = await client.list();
      assert.ok(boxes.some((b) => b.path === 'INBOX'));
    } finally {
      await client.logout();
    }
    const subject = `through nginx ${Date.now()}`;
    await smtpTransport(m.nginx.smtpPort, user.email, secret).sendMail({ from: user.email, to: 'colleague@example.net', subject, text: 'hello' });
    const got = await m.sink.waitFor((x) => x.parsed.subject === subject);
    assert.equal(got.from, user.email);
    assert.deepEqual(got.to, ['colleague@example.net']);
    const [row] = await m.s.appPasswords.list(user.id);
    assert.equal(row!.lastUsedProtocol, 'smtp');
    assert.equal(row!.lastUsedIp, '127.0.0.1');
  });

  test('the main password of a 2FA user is refused, and the client is told why', async () => {
    const { user } = await staff();
    const text = await imapRefusal(m.nginx.imapPort, user.email, PASSWORD);
    assert.match(text, /use a client-specific password/);
    await assert.rejects(
      smtpTransport(m.nginx.smtpPort, user.email, PASSWORD).verify(),
      (err: Error & { response?: string }) => /client-specific password/.test(err.response ?? err.message),
    );
  });

  test('a revoked, expired or out-of-scope password is refused', async () => {
    const revoked = await staff();
    assert.ok(await imapLogin(m.nginx.imapPort, revoked.user.email, revoked.secret).then((c) => c.logout().then(() => true)));
    await m.s.appPasswords.revoke(revoked.user, revoked.id);
    await soon(async () => assert.match(await imapRefusal(m.nginx.imapPort, revoked.user.email, revoked.secret), /Authentication failed/));

    const expired = await staff({ expiresAt: new Date(Date.now() - 60_000) });
    assert.match(await imapRefusal(m.nginx.imapPort, expired.user.email, expired.secret), /Authentication failed/);

    const sendOnly = await staff({ scopes: ['smtp'] });
    assert.match(await imapRefusal(m.nginx.imapPort, sendOnly.user.email, sendOnly.secret), /Authentication failed/);
    await smtpTransport(m.nginx.smtpPort, sendOnly.user.email, sendOnly.secret).verify();
  });

  test('repeated failures engage the throttle, even for the right password', async () => {
    const { user, secret } = await staff();
    for (let i = 0; i < 5; i++) await imapRefusal(m.nginx.imapPort, user.email, `wrong${i}wrong${i}`);
    const text = await imapRefusal(m.nginx.imapPort, user.email, secret);
    assert.match(text, /Too many failed logins/);
  });
});

describe('mail clients straight to Dovecot (Lua passdb)', () => {
  test('the same rules hold without nginx', async () => {
    const { user, secret, id } = await staff();
    const client = await imapLogin(m.dovecot.imapPort, user.email, secret);
    assert.ok((await client.list()).some((b) => b.path === 'INBOX'));
    await client.logout();
    assert.match(await imapRefusal(m.dovecot.imapPort, user.email, PASSWORD), /use a client-specific password/);
    const subject = `direct ${Date.now()}`;
    await smtpTransport(m.dovecot.submissionPort, user.email, secret).sendMail({ from: user.email, to: 'x@example.net', subject, text: 'hi' });
    assert.equal((await m.sink.waitFor((x) => x.parsed.subject === subject)).from, user.email);
    await m.s.appPasswords.revoke(user, id);
    await soon(async () => assert.match(await imapRefusal(m.dovecot.imapPort, user.email, secret), /Authentication failed/));
  });
});

describe('when the database is down', () => {
  test('mail logins get a temporary failure, never OK', async () => {
    const down = await startMailStack();
    try {
      const { user, secret } = await (async () => {
        const u = await buildUser(down.s, { phone: '+8613100131001' });
        const { secret } = await down.s.appPasswords.create(u, { name: 'x', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: '' });
        return { user: u, secret };
      })();
      await down.s.close();
      const text = await imapRefusal(down.nginx.imapPort, user.email, secret);
      assert.match(text, /Temporary authentication failure/);
      await assert.rejects(smtpTransport(down.nginx.smtpPort, user.email, secret).verify(), (err: Error & { responseCode?: number }) => err.responseCode === 454);
      const direct = await imapRefusal(down.dovecot.imapPort, user.email, secret);
      assert.doesNotMatch(direct, /^OK/);
    } finally {
      await down.stop();
    }
  });
});
