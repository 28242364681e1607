import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buildUser, PASSWORD, soon } from './helpers/factories.ts';
import { imapLogin, imapRefusal, MAILAUTH_SECRET, smtpTransport, startMailStack, type MailStack } from './helpers/stack.ts';
import { authAttempts } from '../src/db/schema/index.ts';
import type { User } from '../src/users/repo.ts';
import type { DovecotInstance } from './harness/index.ts';

let m: MailStack;
before(async () => {
  m = await startMailStack({}, { front: true });
});
after(() => m.stop());

/**
 * imapFrom logs in with IMAP LOGIN from one of the loopback addresses, as a
 * client elsewhere on the network would; it resolves to the server's tagged answer.
 */
async function imapFrom(localAddress: string, port: number, user: string, pass: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.setEncoding('utf8');
  let received = '';
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const found = received.split('\r\n').find((l) => pattern.test(l));
        if (found) resolve(found);
        return !!found;
      };
      if (look()) return;
      socket.on('data', () => look());
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed after: ${received}`)));
    });
  socket.on('data', (chunk: string) => (received += chunk));
  try {
    await line(/^\* OK/);
    socket.write(`a LOGIN "${user}" "${pass}"\r\n`);
    return await line(/^a /);
  } finally {
    socket.destroy();
  }
}

/** messagesIn returns the raw messages stored in a mailbox's maildir, by the directory Dovecot keeps it in. */
function messagesIn(dovecot: DovecotInstance, address: string): string[] {
  const [local, domain] = address.split('@') as [string, string];
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    const dir = path.join(dovecot.mailDir, domain, local, 'Maildir', sub);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) out.push(fs.readFileSync(path.join(dir, f), 'utf8'));
  }
  return out;
}

/** mailboxDirs lists <domain>/<local part> for every maildir Dovecot created. */
function mailboxDirs(dovecot: DovecotInstance): string[] {
  return fs.readdirSync(dovecot.mailDir).flatMap((domain) => fs.readdirSync(path.join(dovecot.mailDir, domain)).map((local) => `${domain}/${local}`));
}

/** appendAs logs in as `login` and appends a message with `subject` to INBOX. */
async function appendAs(port: number, login: string, secret: string, subject: string): Promise<void> {
  const client = await imapLogin(port, login, secret);
  try {
    await client.append('INBOX', `From: someone@example.net\r\nSubject: ${subject}\r\n\r\nhello\r\n`);
  } finally {
    await client.logout();
  }
}

/** inboxSubjects lists the subjects in INBOX as the mailbox's owner sees them. */
async function inboxSubjects(port: number, login: string, secret: string): Promise<string[]> {
  const client = await imapLogin(port, login, secret);
  try {
    await client.mailboxOpen('INBOX');
    const subjects: string[] = [];
    for await (const msg of client.fetch('1:*', { envelope: true })) subjects.push(msg.envelope?.subject ?? '');
    return subjects;
  } finally {
    await client.logout();
  }
}

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

describe('a stranger guessing from elsewhere', () => {
  test("does not lock the owner out of the address they sign in from, told apart by nginx's Client-IP", async () => {
    const { user, secret } = await staff();
    const home = '127.0.0.21';
    assert.match(await imapFrom(home, m.nginx.imapPort, user.email, secret), /^a OK/);
    // Someone elsewhere has been guessing for a while: twenty wrong passwords in the last minutes.
    const start = Date.now() - 20 * 60_000;
    await m.s.db.insert(authAttempts).values(
      Array.from({ length: 20 }, (_, i) => ({ kind: 'mail', account: user.email, ip: '127.0.0.22', success: false, createdAt: new Date(start + i * 60_000) })),
    );
    // Asked as nginx asks: through nginx itself the answer would come only after the wait it names.
    const stranger = await fetch(`${m.mailauthUrl}/mailauth/nginx`, {
      headers: { 'X-Mailauth-Secret': MAILAUTH_SECRET, 'Auth-Method': 'plain', 'Auth-Protocol': 'imap', 'Auth-User': user.email, 'Auth-Pass': secret, 'Client-IP': '127.0.0.23' },
    });
    assert.match(stranger.headers.get('auth-status') ?? '', /Too many failed logins/, 'unknown addresses wait, even with the right password');
    // A second client at home: not answered from the cache, so the throttle decides.
    const phone = await m.s.appPasswords.create(user, { name: 'Phone', scopes: ['imap'] }, { ip: home, userAgent: '' });
    assert.match(await imapFrom(home, m.nginx.imapPort, user.email, phone.secret), /^a OK/);
  });
});

describe('the mailbox a login opens', () => {
  test('is the canonical one, whatever case the address was typed in, through nginx or straight to Dovecot', async () => {
    const { user, secret } = await staff();
    const shouted = user.email.toUpperCase().replace('EXAMPLE.TEST', 'Example.Test');
    await appendAs(m.nginx.imapPort, shouted, secret, 'via nginx');
    await appendAs(m.dovecot.imapPort, shouted, secret, 'via dovecot');
    assert.deepEqual((await inboxSubjects(m.nginx.imapPort, user.email, secret)).sort(), ['via dovecot', 'via nginx']);
    assert.equal(messagesIn(m.dovecot, user.email).length, 2);
  });

  describe('where Dovecot passes login names on as typed (auth_username_chars empty, no lower-casing)', () => {
    let loose: MailStack;
    before(async () => {
      loose = await startMailStack();
      // As sites do that allow non-ASCII addresses; the harness config, then reloaded.
      const conf = path.join(loose.dovecot.dir, 'dovecot.conf');
      fs.appendFileSync(conf, '\nauth_username_chars =\nauth_username_format = %u\n');
      execFileSync('doveadm', ['-c', conf, 'reload']);
    });
    after(() => loose?.stop());

    test('a variant with capitals, a trailing space or a tab opens the canonical maildir', async () => {
      const user = await buildUser(loose.s, { phone: '+8613100131002' });
      const { secret } = await loose.s.appPasswords.create(user, { name: 'Mail', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: '' });
      const variants = [`${user.email.toUpperCase()} `, `${user.email}\t`, ` ${user.email.replace('example', 'Example')}`];
      // The reload restarts Dovecot's auth service; the first login may still meet the old one.
      await soon(() => appendAs(loose.dovecot.imapPort, variants[0]!, secret, 'variant 0'), 5000);
      for (let i = 1; i < variants.length; i++) await appendAs(loose.dovecot.imapPort, variants[i]!, secret, `variant ${i}`);
      assert.deepEqual((await inboxSubjects(loose.dovecot.imapPort, user.email, secret)).sort(), ['variant 0', 'variant 1', 'variant 2']);
      assert.equal(messagesIn(loose.dovecot, user.email).length, 3);
      assert.deepEqual(mailboxDirs(loose.dovecot), [`example.test/${user.email.split('@')[0]}`]);
    });

    test('a Unicode look-alike is refused, or opens the canonical maildir when it folds to the address', async () => {
      const user = await loose.s.userService.create({ email: `kate-${process.pid}@example.test`, password: PASSWORD });
      await loose.s.phones.save(user.id, '+8613100131003');
      const { secret } = await loose.s.appPasswords.create(user, { name: 'Mail', scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: '' });
      // Fullwidth letters are other characters: no such account.
      assert.match(await imapRefusal(loose.dovecot.imapPort, user.email.replace(/^k/, '\uff4b'), secret), /Authentication failed/);
      // The Kelvin sign lower-cases to "k": the same account, so the same maildir.
      await appendAs(loose.dovecot.imapPort, user.email.replace(/^k/, '\u212a'), secret, 'kelvin');
      assert.deepEqual(await inboxSubjects(loose.dovecot.imapPort, user.email, secret), ['kelvin']);
      assert.doesNotMatch(mailboxDirs(loose.dovecot).join(' '), /[^\x00-\x7f]/, 'no maildir under a non-ASCII name');
    });
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
