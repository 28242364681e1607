/**
 * webmail: what a person waits for in the mailbox, against what the IMAP
 * backend itself needs for the same data, measured in the same run.
 *
 *   - the inbox page (50 newest of a 10,000-message maildir INBOX), p50/p99,
 *     next to a raw imapflow fetch of the same 50 envelopes on an open connection;
 *   - opening a 1 MB message, next to a raw imapflow fetch of its source.
 *
 * It brings its own Dovecot (the test harness) and its own Postern on a
 * free port configured against it; the shared bench server is not used.
 * Self-contained on purpose: only structural types, so it compiles alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ImapFlow } from 'imapflow';
import { createApp } from '../src/http/app.ts';
import { hashPassword } from '../src/auth/password.ts';
import { startServices } from '../test/helpers/services.ts';
import { startDovecot } from '../test/harness/dovecot.ts';
import { startSmtpSink } from '../test/harness/smtp-sink.ts';
import { webmailEnv } from '../test/helpers/mail.ts';

interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

const NAME = 'webmail';
const FOLDER_SIZE = 10_000;
const PASSWORD = 'bench webmail password 1';

/** webmail is the benchmark run by bench/run.ts (it ignores the shared server). */
export const webmail = {
  name: NAME,
  async run(_server?: unknown, opts: { durationSeconds?: number } = {}): Promise<Figure[]> {
    const rounds = Math.max(50, Math.min(1000, Math.round((opts.durationSeconds ?? 10) * 30)));
    const sink = await startSmtpSink();
    const dovecot = await startDovecot({ relay: { host: '127.0.0.1', port: sink.port } });
    const ts = await startServices({ LOG_LEVEL: 'warn', ...webmailEnv(dovecot, sink) });
    const server = await new Promise<Server>((resolve) => {
      const srv = createApp(ts).listen(0, '127.0.0.1', () => resolve(srv));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const email = `bench-${process.pid}@bench.example`;
    const raw = new ImapFlow({ host: '127.0.0.1', port: dovecot.imapPort, secure: false, logger: false, disableAutoIdle: true, auth: { user: dovecot.masterUser, pass: dovecot.masterPassword, authzid: email } });
    try {
      await ts.users.save({ email, displayName: 'Bench', passwordHash: await hashPassword(PASSWORD), isAdmin: false });
      const bigUid = await fillMailbox(dovecot, email);
      const cookie = await signIn(url, email);

      // The baseline: one open master-user session, as the pool keeps them.
      raw.on('error', () => {});
      await raw.connect();
      await raw.mailboxOpen('INBOX', { readOnly: true });
      const fields = { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true } as const;
      const rawList = await time(rounds, async () => {
        const box = raw.mailbox as { exists: number };
        await raw.fetchAll(`${box.exists - 49}:${box.exists}`, fields);
      });
      const rawBig = await time(Math.ceil(rounds / 3), async () => {
        await raw.fetchOne(String(bigUid), { uid: true, flags: true, source: true }, { uid: true });
      });

      const page = await time(rounds, async () => {
        const res = await fetch(`${url}/mail`, { headers: { cookie, 'accept-language': 'en' } });
        if (res.status !== 200) throw new Error(`GET /mail answered ${res.status}`);
        await res.arrayBuffer();
      });
      const message = await time(Math.ceil(rounds / 3), async () => {
        const res = await fetch(`${url}/mail/folder/INBOX/${bigUid}`, { headers: { cookie, 'accept-language': 'en' } });
        if (res.status !== 200) throw new Error(`GET message answered ${res.status}`);
        await res.arrayBuffer();
      });
      const open = ts.mail.imap.open(email);
      return [
        fig('inbox page p50', pct(page, 50), `GET /mail, 50 newest of ${FOLDER_SIZE}, ${page.length} requests`),
        fig('inbox page p99', pct(page, 99)),
        fig('raw imapflow 50 envelopes p50', pct(rawList, 50), 'same fields, one open connection'),
        fig('raw imapflow 50 envelopes p99', pct(rawList, 99)),
        fig('open 1 MB message p50', pct(message, 50), `parse + sanitize + render, ${message.length} requests`),
        fig('open 1 MB message p99', pct(message, 99)),
        fig('raw imapflow 1 MB source p50', pct(rawBig, 50)),
        fig('raw imapflow 1 MB source p99', pct(rawBig, 99)),
        { bench: NAME, metric: 'pooled IMAP connections', value: open, unit: '', note: 'for the mailbox after the run (bounded at 3)' },
      ];
    } finally {
      await raw.logout().catch(() => {});
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ts.mail.close();
      await ts.close();
      await Promise.all([dovecot.stop(), sink.stop()]);
    }
  },
};

function fig(metric: string, value: number, note?: string): Figure {
  return { bench: NAME, metric, value, unit: 'ms', note };
}

async function time(n: number, fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < Math.min(10, n); i++) await fn(); // warm-up: connections, indexes, caches
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

function pct(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * fillMailbox writes 10,000 small messages straight into the maildir (APPEND
 * one by one would take minutes), then APPENDs one 1 MB message; returns its UID.
 */
async function fillMailbox(dovecot: Awaited<ReturnType<typeof startDovecot>>, email: string): Promise<number> {
  const [local, domain] = email.split('@') as [string, string];
  const maildir = path.join(dovecot.mailDir, domain, local, 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
  const start = Date.UTC(2026, 0, 1);
  for (let i = 1; i <= FOLDER_SIZE; i++) {
    const date = new Date(start + i * 60_000);
    const body = [
      `From: Sender ${i % 97} <sender${i % 97}@example.org>`,
      `To: ${email}`,
      `Subject: Message number ${i} about the quarterly report`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <bench-${i}@example.org>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Body of message ${i}.`,
      '',
    ].join('\r\n');
    const name = `${Math.floor(date.getTime() / 1000)}.M${i}P1.bench:2,${i % 3 ? 'S' : ''}`;
    const file = path.join(maildir, 'cur', name);
    fs.writeFileSync(file, body);
    fs.utimesSync(file, date, date);
  }
  if (process.getuid?.() === 0) {
    for (const dir of [path.join(dovecot.mailDir, domain), path.join(dovecot.mailDir, domain, local)]) fs.chownSync(dir, 65534, 65534);
    chownTree(maildir);
  }
  const big = [
    'From: Archive <archive@example.org>',
    `To: ${email}`,
    'Subject: Scanned minutes (1 MB)',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    `<p>Minutes attached.</p>${'<p>Agenda item with <b>notes</b> and a <a href="https://example.org/x">link</a>.</p>'.repeat(400)}`,
    '--b1',
    'Content-Type: application/pdf; name="minutes.pdf"',
    'Content-Disposition: attachment; filename="minutes.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.alloc(740 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\r\n'),
    '--b1--',
    '',
  ].join('\r\n');
  const c = new ImapFlow({ host: '127.0.0.1', port: dovecot.imapPort, secure: false, logger: false, auth: { user: dovecot.masterUser, pass: dovecot.masterPassword, authzid: email } });
  await c.connect();
  try {
    const res = await c.append('INBOX', Buffer.from(big));
    if (!res || !res.uid) throw new Error('no UID for the 1 MB message');
    return res.uid;
  } finally {
    await c.logout();
  }
}

function chownTree(dir: string): void {
  fs.chownSync(dir, 65534, 65534);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p);
    else fs.chownSync(p, 65534, 65534);
  }
}

/** signIn logs in through the form like a browser and returns the session cookie. */
async function signIn(url: string, email: string): Promise<string> {
  const page = await fetch(`${url}/login`);
  let cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = (await page.text()).match(/name="_csrf" value="([^"]+)"/)?.[1] ?? '';
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email, password: PASSWORD }),
  });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  cookie = (res.headers.get('set-cookie') ?? cookie).split(';')[0]!;
  return cookie;
}

// Run alone: node --import tsx bench/webmail.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await webmail.run(undefined, { durationSeconds: Number(process.env.BENCH_DURATION) || 10 });
  for (const f of figures) console.log(`${f.metric}: ${f.value.toFixed(2)} ${f.unit}${f.note ? `  (${f.note})` : ''}`);
}
