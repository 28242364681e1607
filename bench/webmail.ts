/**
 * webmail: what a person waits for in the mailbox, against what the IMAP
 * backend itself needs for the same data, measured in the same run.
 *
 *   - the inbox page (50 newest of a 10,000-message maildir INBOX), p50/p99,
 *     next to a raw imapflow fetch of the same 50 envelopes on an open connection
 *     (target: at most 1.5 times the raw fetch);
 *   - opening a 1 MB message, next to a raw imapflow fetch of the parts the page
 *     shows (target: at most twice) and of its whole source;
 *   - a body search over the 10,000 messages (IMAP SEARCH BODY), and the search page;
 *   - the process's peak RSS while 50 users page through 10,000-message folders
 *     (target: under 200 MB).
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
import { createThrowawayDatabase } from '../test/helpers/services.ts';
import { freePort } from '../test/harness/ports.ts';
import { openStore } from '../src/db/client.ts';
import { UserRepo } from '../src/users/repo.ts';
import { startPostern } from './postern-process.ts';

interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

const NAME = 'webmail';
const FOLDER_SIZE = 10_000;
const PAGING_USERS = 50;
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
    // Idle keep-alive sockets outlive the pauses between phases; a socket the server closed as the client reused it would reset.
    server.keepAliveTimeout = 120_000;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const email = `bench-${process.pid}@bench.example`;
    const raw = new ImapFlow({ host: '127.0.0.1', port: dovecot.imapPort, secure: false, logger: false, disableAutoIdle: true, auth: { user: dovecot.masterUser, pass: dovecot.masterPassword, authzid: email } });
    try {
      const passwordHash = await hashPassword(PASSWORD);
      await ts.users.save({ email, displayName: 'Bench', passwordHash, isAdmin: false });
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
      // What the page shows of the 1 MB message: its HTML part (1); the PDF stays on the server.
      const rawShown = await time(Math.ceil(rounds / 3), async () => {
        await raw.fetchOne(String(bigUid), { uid: true, bodyParts: ['1'] }, { uid: true });
      });
      const rawSearch = await time(Math.max(10, Math.ceil(rounds / 10)), async () => {
        const found = await raw.search({ body: `Body of message ${1 + Math.floor(Math.random() * FOLDER_SIZE)}.` }, { uid: true });
        if (!found || !found.length) throw new Error('body search found nothing');
      });

      // The figures mean something only if the pages show the mail.
      const first = await (await fetch(`${url}/mail`, { headers: { cookie, 'accept-language': 'en' } })).text();
      if (!first.includes(`Message number ${FOLDER_SIZE} about`)) throw new Error(`GET /mail does not show the newest message: ${first.slice(0, 2000)}`);
      const opened = await (await fetch(`${url}/mail/folder/INBOX/${bigUid}`, { headers: { cookie, 'accept-language': 'en' } })).text();
      if (!opened.includes('Agenda item with <b>notes</b>') || !opened.includes('minutes.pdf')) throw new Error(`the 1 MB message does not show: ${opened.slice(0, 2000)}`);
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
      const search = await time(Math.max(10, Math.ceil(rounds / 10)), async () => {
        const needle = `Body of message ${1 + Math.floor(Math.random() * FOLDER_SIZE)}.`;
        const res = await fetch(`${url}/mail?q=${encodeURIComponent(needle)}&field=body`, { headers: { cookie, 'accept-language': 'en' } });
        if (res.status !== 200) throw new Error(`GET /mail?q= answered ${res.status}`);
        await res.arrayBuffer();
      });
      // The same work without HTTP (session, the mailbox chrome, the template): what the IMAP side and the sanitizer cost.
      const owner = (await ts.users.loadByEmail(email))!;
      const access = { owner, actor: owner, level: 'owner' as const };
      const origin = { ip: '127.0.0.1', userAgent: 'bench' };
      const readOnly = await time(Math.ceil(rounds / 3), async () => {
        await ts.mail.webmail.read(access, 'INBOX', bigUid, false, origin);
      });
      const listOnly = await time(rounds, async () => {
        await ts.mail.webmail.list(access, 'INBOX', 1);
      });
      const open = ts.mail.imap.open(email);
      const ms = (opts.durationSeconds ?? 10) * 1000;
      const paging = await pageAll((u) => ts.users.save(u).then(() => undefined), dovecot, url, email, passwordHash, ms, { prefix: 'pager', rss: () => process.memoryUsage().rss });
      // Postern alone, in a process of its own on PostgreSQL, against the same 200 MB target.
      const own = await pagingInOwnProcess(dovecot, sink, email, passwordHash, ms);
      return [
        fig('inbox page p50', pct(page, 50), `GET /mail, 50 newest of ${FOLDER_SIZE}, ${page.length} requests`),
        fig('inbox page p99', pct(page, 99)),
        fig('raw imapflow 50 envelopes p50', pct(rawList, 50), 'same fields, one open connection'),
        fig('raw imapflow 50 envelopes p99', pct(rawList, 99)),
        fig('open 1 MB message p50', pct(message, 50), `parse + sanitize + render, ${message.length} requests`),
        fig('open 1 MB message p99', pct(message, 99)),
        fig('raw imapflow 1 MB source p50', pct(rawBig, 50)),
        fig('raw imapflow 1 MB source p99', pct(rawBig, 99)),
        fig('raw imapflow 1 MB shown parts p50', pct(rawShown, 50), 'BODY.PEEK[1], the HTML part the page shows'),
        ratio('inbox page ÷ raw 50 envelopes', pct(page, 50) / pct(rawList, 50), 1.5),
        ratio('open 1 MB message ÷ raw shown parts', pct(message, 50) / pct(rawShown, 50), 2),
        fig('list() 50 newest p50, no HTTP', pct(listOnly, 50), 'Webmail.list on the pool'),
        fig('read() 1 MB message p50, no HTTP', pct(readOnly, 50), 'Webmail.read on the pool: structure, shown part, sanitize'),
        ratio('read() ÷ raw shown parts', pct(readOnly, 50) / pct(rawShown, 50), 2),
        fig('raw IMAP body search p50', pct(rawSearch, 50), `SEARCH BODY over ${FOLDER_SIZE} messages, one open connection, ${rawSearch.length} searches`),
        fig('body search page p50', pct(search, 50), `GET /mail?q=…&field=body over ${FOLDER_SIZE} messages, ${search.length} requests`),
        { bench: NAME, metric: 'RSS peak, 50 users paging', value: paging.peakMb, unit: 'MB', note: `${paging.requests} pages of ${FOLDER_SIZE}-message folders in ${paging.seconds} s; target < 200 MB (the whole process: PGlite's memory counts here)` },
        { bench: NAME, metric: 'RSS growth, 50 users paging', value: paging.peakMb - paging.startMb, unit: 'MB', note: `peak minus the ${paging.startMb} MB the process held, signed in and warmed up, before paging began` },
        fig('paging page p50', paging.p50, `${PAGING_USERS} users at once`),
        fig('paging page p99', paging.p99),
        ...own,
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

function ratio(metric: string, value: number, target: number): Figure {
  return { bench: NAME, metric, value, unit: '×', note: `${value <= target ? 'meets' : 'ABOVE'} target ≤ ${target}×` };
}

/**
 * pageAll has 50 users, each with a 10,000-message INBOX, page through
 * their folders at once for `ms`, and samples the process's RSS. Their
 * maildirs hold hard links to the benchmark user's files: the same 10,000
 * messages, each user's own Dovecot index. Each user opens the folder once
 * before the clock starts (Dovecot indexes a folder on first sight).
 */
async function pageAll(
  save: (u: { email: string; displayName: string; passwordHash: string; isAdmin: boolean }) => Promise<void>,
  dovecot: Awaited<ReturnType<typeof startDovecot>>,
  url: string,
  email: string,
  passwordHash: string,
  ms: number,
  o: { prefix: string; rss: () => number },
) {
  const [local, domain] = email.split('@') as [string, string];
  const shared = path.join(dovecot.mailDir, domain, local, 'Maildir');
  const users: string[] = [];
  for (let i = 0; i < PAGING_USERS; i++) {
    const user = `${o.prefix}${i}-${process.pid}@${domain}`;
    const home = path.join(dovecot.mailDir, domain, user.split('@')[0]!);
    const own = path.join(home, 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(own, sub), { recursive: true });
    for (const name of fs.readdirSync(path.join(shared, 'cur'))) fs.linkSync(path.join(shared, 'cur', name), path.join(own, 'cur', name));
    if (process.getuid?.() === 0) for (const dir of [home, own, ...['cur', 'new', 'tmp'].map((d) => path.join(own, d))]) fs.chownSync(dir, 65534, 65534);
    await save({ email: user, displayName: `Pager ${i}`, passwordHash, isAdmin: false });
    users.push(user);
  }
  // Sign-ins and first opens a few at a time: this measures paging, not the sign-in limiter or indexing.
  const cookies: string[] = [];
  for (let i = 0; i < users.length; i += 5) {
    const batch = await Promise.all(users.slice(i, i + 5).map((u) => signIn(url, u).catch(() => signIn(url, u))));
    await Promise.all(batch.map((cookie) => fetch(`${url}/mail`, { headers: { cookie } }).then((r) => r.arrayBuffer())));
    cookies.push(...batch);
  }
  global.gc?.();
  const startMb = Math.round(o.rss() / 1024 / 1024);
  let peak = o.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, o.rss());
  }, 20);
  const pages = Math.ceil(FOLDER_SIZE / 50);
  const samples: number[] = [];
  const end = performance.now() + ms;
  try {
    await Promise.all(
      cookies.map(async (cookie, i) => {
        let page = 1 + (i % pages);
        while (performance.now() < end) {
          const t0 = performance.now();
          const res = await fetch(`${url}/mail?page=${page}`, { headers: { cookie, 'accept-language': 'en' } });
          if (res.status !== 200) throw new Error(`GET /mail?page=${page} answered ${res.status}`);
          await res.arrayBuffer();
          samples.push(performance.now() - t0);
          page = (page % pages) + 1;
        }
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  return { peakMb: Math.round(peak / 1024 / 1024), startMb, requests: samples.length, seconds: Math.round(ms / 1000), p50: pct(samples, 50), p99: pct(samples, 99) };
}

/**
 * pagingInOwnProcess runs Postern as `npm start` runs it, in a process of its
 * own on a throwaway PostgreSQL database, and has 50 users page through
 * their 10,000-message folders while that process's RSS is sampled: the
 * figure the 200 MB target is about, without the benchmark's own clients
 * and databases. It needs PostgreSQL (BENCH_DATABASE_URL or
 * TEST_DATABASE_URL): an embedded database cannot be shared by two processes.
 */
async function pagingInOwnProcess(dovecot: Awaited<ReturnType<typeof startDovecot>>, sink: Awaited<ReturnType<typeof startSmtpSink>>, email: string, passwordHash: string, ms: number): Promise<Figure[]> {
  const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!base) return [{ bench: NAME, metric: 'Postern process RSS peak, 50 users paging', value: NaN, unit: 'MB', note: 'needs PostgreSQL: set BENCH_DATABASE_URL' }];
  const db = await createThrowawayDatabase(base);
  const store = await openStore({ url: db.url, dataDir: '.' });
  const users = new UserRepo(store.db);
  const child = await startPostern({ ...webmailEnv(dovecot, sink), DATABASE_URL: db.url, PORT: String(await freePort()), LOG_LEVEL: 'info' });
  try {
    const r = await pageAll((u) => users.save(u).then(() => undefined), dovecot, child.url, email, passwordHash, ms, { prefix: 'own', rss: child.rss });
    return [
      { bench: NAME, metric: 'Postern process RSS peak, 50 users paging', value: r.peakMb, unit: 'MB', note: `its own process on PostgreSQL, ${r.requests} pages in ${r.seconds} s; target < 200 MB: ${r.peakMb < 200 ? 'meets' : 'MISSES'}` },
      { bench: NAME, metric: 'Postern process RSS before paging', value: r.startMb, unit: 'MB', note: '50 users signed in, folders opened once' },
      fig('own process paging page p50', r.p50, `${PAGING_USERS} users at once`),
      fig('own process paging page p99', r.p99),
    ];
  } finally {
    await child.stop();
    await store.close();
    await db.drop();
  }
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
  // The answer sets the session cookie among others (the login form's own one is cleared): keep every one still set.
  const jar = new Map(cookie.split('; ').map((c) => c.split('=') as [string, string]));
  for (const set of res.headers.getSetCookie()) {
    const [pair] = set.split(';');
    const [name, value] = pair!.split('=') as [string, string];
    if (value && !/expires=Thu, 01 Jan 1970/i.test(set)) jar.set(name, value);
    else jar.delete(name);
  }
  const location = res.headers.get('location') ?? '';
  if (!location.startsWith('/mail') && location !== '/') throw new Error(`sign-in went to ${location}`);
  return [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
}

// Run alone: node --import tsx bench/webmail.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await webmail.run(undefined, { durationSeconds: Number(process.env.BENCH_DURATION) || 10 });
  for (const f of figures) console.log(`${f.metric}: ${f.value.toFixed(2)} ${f.unit}${f.note ? `  (${f.note})` : ''}`);
}
