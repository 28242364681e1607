import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { appPasswords } from '../src/db/schema/index.ts';
import type { User } from '../src/users/repo.ts';
import { addAuthenticator, buildUser } from './helpers/factories.ts';
import { startMailStack, type MailStack } from './helpers/stack.ts';

const IDLE_CLIENT = fileURLToPath(new URL('./clients/imap-idle.py', import.meta.url));
const origin = { ip: '192.0.2.1', userAgent: 'test' };

/** IdleClient is a Python imaplib session in IDLE, connected through nginx from its own loopback address. */
interface IdleClient {
  proc: ChildProcess;
  lines: string[];
  /** ended resolves with BYE, CLOSED or REFUSED and how long after `since` it came. */
  ended: Promise<string>;
}

function idle(port: number, user: string, password: string, source: string): Promise<IdleClient> {
  const proc = spawn('python3', [IDLE_CLIENT, '127.0.0.1', String(port), user, password, source], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let onReady: (v: IdleClient) => void;
  let onFail: (e: Error) => void;
  let endedWith: (v: string) => void;
  const ended = new Promise<string>((r) => (endedWith = r));
  const client = { proc, lines, ended };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      lines.push(line);
      if (line === 'READY') onReady(client);
      else if (/^(BYE|CLOSED|REFUSED|NOIDLE)/.test(line)) {
        endedWith(line.split(' ')[0]!);
        onFail(new Error(`client ended before idling: ${line}`));
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk.trim()}`));
  proc.on('exit', () => endedWith('EXIT'));
  return new Promise((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
}

/** within resolves with how a session ended, or "still open" after `ms`. */
const within = (c: IdleClient, ms: number) => Promise.race([c.ended, new Promise<string>((r) => setTimeout(() => r('still open'), ms))]);

describe('revoking ends live IMAP sessions (nginx with PROXY protocol, doveadm kick)', () => {
  let stack: MailStack;
  let user: User;
  const clients: IdleClient[] = [];
  const open = async (secret: string, source: string) => {
    const c = await idle(stack.nginx.imapPort, user.email, secret, source);
    clients.push(c);
    return c;
  };
  const newPassword = async (name: string) => (await stack.s.appPasswords.create(user, { name, scopes: ['imap', 'smtp'] }, origin)).secret;
  const idOf = async (name: string) => (await stack.s.appPasswords.list(user.id)).find((p) => p.name === name)!.id;

  before(async () => {
    stack = await startMailStack({}, { proxyProtocol: true, doveadm: true });
    user = await buildUser(stack.s);
    await addAuthenticator(stack.s, user.id);
  });
  after(async () => {
    for (const c of clients) c.proc.kill();
    await stack?.stop();
  });

  test('a revoked password’s IDLE session gets BYE within 5 s; a client of another password on another address stays', async () => {
    const phone = await newPassword('Phone');
    const laptop = await newPassword('Laptop');
    const onPhone = await open(phone, '127.0.0.2');
    const onLaptop = await open(laptop, '127.0.0.3');
    const started = Date.now();
    await stack.s.appPasswords.revoke(user, await idOf('Phone'), origin);
    assert.match(await within(onPhone, 5000), /^(BYE|CLOSED|EXIT)$/, onPhone.lines.join('\n'));
    assert.ok(Date.now() - started < 5000);
    assert.equal(await within(onLaptop, 1500), 'still open', 'the other password’s session from another address is left alone');
    // The phone reconnects, as mail apps do after BYE: the revoked password is refused.
    const again = await idle(stack.nginx.imapPort, user.email, phone, '127.0.0.2').catch((err: Error) => err);
    assert.ok(again instanceof Error && /REFUSED/.test(again.message), String(again));
  });

  test('a client sharing the revoked password’s address is disconnected, then admitted again on reconnect', async () => {
    const tablet = await newPassword('Tablet');
    const desktop = await newPassword('Desktop');
    // The tablet once logged in from the desktop's address (same office NAT).
    const visit = await open(tablet, '127.0.0.4');
    visit.proc.kill();
    await visit.ended;
    const onDesktop = await open(desktop, '127.0.0.4');
    await stack.s.appPasswords.revoke(user, await idOf('Tablet'), origin);
    assert.match(await within(onDesktop, 5000), /^(BYE|CLOSED|EXIT)$/);
    const back = await open(desktop, '127.0.0.4');
    assert.equal(await within(back, 500), 'still open', 'its own password still works: reconnecting needs nothing from the user');
  });

  test('disabling the user ends every session of theirs', async () => {
    const other = await newPassword('Other');
    const a = await open(other, '127.0.0.5');
    const b = await open(await newPassword('Another'), '127.0.0.6');
    await stack.s.users.update(user.id, { disabled: true });
    await stack.s.audit.record({ event: 'user.disabled', userId: user.id, account: user.email, origin, details: { reason: 'test' } });
    assert.match(await within(a, 5000), /^(BYE|CLOSED|EXIT)$/);
    assert.match(await within(b, 5000), /^(BYE|CLOSED|EXIT)$/);
    await stack.s.users.update(user.id, { disabled: false });
    void other;
  });

  test('a password that expires takes its session with it at the next sweep', async () => {
    const temp = await newPassword('Temporary');
    const c = await open(temp, '127.0.0.7');
    await stack.s.db.update(appPasswords).set({ expiresAt: new Date(Date.now() + 300) }).where(eq(appPasswords.id, await idOf('Temporary')));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await stack.s.mailSessions.sweepExpired(), 1);
    assert.match(await within(c, 5000), /^(BYE|CLOSED|EXIT)$/);
  });

  test('the same holds for clients Dovecot admits itself through the Lua passdb', async () => {
    const direct = await newPassword('Direct');
    const c = await idle(stack.dovecot.imapPort, user.email, direct, '127.0.0.8');
    clients.push(c);
    await stack.s.appPasswords.revoke(user, await idOf('Direct'), origin);
    assert.match(await within(c, 5000), /^(BYE|CLOSED|EXIT)$/);
  });
});
