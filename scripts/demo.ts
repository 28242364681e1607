/**
 * npm run demo: the whole stack on this machine — an SMTP sink as the relay,
 * Dovecot, nginx's mail proxy and Postern (embedded database in memory) —
 * with demo accounts and a seeded inbox. Needs the Debian packages that
 * scripts/install-debian-deps.sh installs. Ctrl-C stops everything.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createApp } from '../src/http/app.ts';
import { createServices } from '../src/services.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { openStore } from '../src/db/client.ts';
import { startDovecot, startNginx, startSmtpSink } from '../test/harness/index.ts';
import { backendEnv } from '../test/helpers/stack.ts';

for (const bin of ['/usr/sbin/dovecot', '/usr/sbin/nginx', '/usr/lib/nginx/modules/ngx_mail_module.so']) {
  if (!existsSync(bin)) {
    console.error(`${bin} is missing. Install the mail stack first:  sudo bash scripts/install-debian-deps.sh`);
    process.exit(1);
  }
}

const port = Number(process.env.PORT ?? 8080);
const url = `http://127.0.0.1:${port}`;
const secret = 'demo-mailauth-secret-not-for-production';
const password = 'correct horse battery staple';

const sink = await startSmtpSink();
const dovecot = await startDovecot({ relay: { host: '127.0.0.1', port: sink.port }, postern: { url, secret } });
const config = loadConfig({
  ...process.env,
  PORT: String(port),
  SESSION_SECRET: 'demo-session-secret-demo-session-secret',
  ...backendEnv(dovecot, secret),
  MAIL_CLIENT_HOST: '127.0.0.1',
  SMTP_HOST: '127.0.0.1',
  SMTP_PORT: String(sink.port),
});
const log = createLogger('info');
const s = await createServices(config, log, { store: await openStore({ url: 'memory://', dataDir: '.' }) });
const alice = await s.userService.create({ email: 'alice@example.test', password, displayName: 'Alice Wang', isAdmin: true });
const bob = await s.userService.create({ email: 'bob@example.test', password, displayName: 'Bob Li' });
await s.phones.save(bob.id, '+8613800138000');
const { secret: app } = await s.appPasswords.create(bob, { name: 'Demo mail app', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: 'demo' });

// Dovecot asks Postern about the master login used to seed the mailboxes: listen first.
const server: Server = await new Promise((resolve) => {
  const srv = createApp(s).listen(port, '127.0.0.1', () => resolve(srv));
});

const now = Date.now();
const seed = [
  ['it@example.test', 'Welcome to Postern', 'Your mailbox is ready. Two-step verification keeps it safe.'],
  ['dean@example.test', '关于下周组会的通知', '各位老师：下周二上午十点在 301 会议室召开组会，请准时参加。'],
  ['library@example.test', 'Books due soon', 'Two books on your account are due on Friday.'],
];
for (const owner of [alice.email, bob.email]) {
  for (const [i, [from, subject, body]] of seed.entries()) {
    const date = new Date(now - (seed.length - i) * 3600_000).toUTCString();
    await dovecot.appendMessage(owner, `From: ${from}\r\nTo: ${owner}\r\nSubject: =?UTF-8?B?${Buffer.from(subject!).toString('base64')}?=\r\nDate: ${date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`);
  }
}

const nginx = await startNginx({ postern: { url, secret } });

console.log(`
Postern demo is running.

Web:   ${url}
  alice@example.test / ${password}   (no second step yet; administrator)
  bob@example.test   / ${password}   (phone bound: the code appears in the log lines above/below as {"msg":"sms",…})

Mail apps, through the nginx proxy that asks Postern (plain text, local only):
  IMAP 127.0.0.1:${nginx.imapPort}   SMTP 127.0.0.1:${nginx.smtpPort}
  bob@example.test with the client-specific password ${app}
  (bob's main password is refused there: he has two-step verification)

  curl -s --url imap://127.0.0.1:${nginx.imapPort}/INBOX --user 'bob@example.test:${app}' -X 'FETCH 1:* (FLAGS)'

Messages sent through the relay land in an SMTP sink (${sink.port}) and are logged here.
Press Ctrl-C to stop.
`);

const timer = setInterval(() => {
  while (sink.messages.length) {
    const m = sink.messages.shift()!;
    log.info('relay received', { from: m.from, to: m.to, subject: m.parsed.subject });
  }
}, 1000);

const stop = async () => {
  clearInterval(timer);
  server.closeAllConnections();
  server.close();
  await nginx.stop();
  await dovecot.stop();
  await sink.stop();
  await s.store.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
