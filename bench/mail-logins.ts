import { createRequire } from 'node:module';
import { startServices } from '../test/helpers/services.ts';
import { startMailauthFront } from '../src/mailauth/front.ts';
import { startMailStack, MAILAUTH_SECRET } from '../test/helpers/stack.ts';
import { percentile, tsWorker, type Bench, type Figure } from './harness.ts';
import type { ImapWorkerInput, ImapWorkerOutput } from './imap-worker.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
export const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

export const MAIL_ENV = { MAILAUTH_SECRET, IMAP_HOST: '127.0.0.1', IMAP_PORT: '1143', SUBMISSION_HOST: '127.0.0.1', SUBMISSION_PORT: '1587', MAIL_MASTER_USER: 'postern', MAIL_MASTER_PASSWORD: 'bench-master', LOG_LEVEL: 'warn' };

export function nginxHeaders(user: string, pass: string) {
  return {
    'X-Mailauth-Secret': MAILAUTH_SECRET,
    'Auth-Method': 'plain',
    'Auth-User': encodeURIComponent(user),
    'Auth-Pass': encodeURIComponent(pass),
    'Auth-Protocol': 'imap',
    'Auth-Login-Attempt': '1',
    'Client-IP': '192.0.2.1',
  };
}

/** checkEndpoint runs autocannon against GET /mailauth/nginx, with a cache or without. */
async function checkEndpoint(name: string, cacheSeconds: string, connections: number, durationSeconds: number, users: number): Promise<Figure[]> {
  // As deployed: nginx asks on MAILAUTH_LISTEN, answered by the front's own thread.
  const s = await startServices({ ...MAIL_ENV, MAIL_LOGIN_CACHE_SECONDS: cacheSeconds, MAILAUTH_LISTEN: '127.0.0.1:0' });
  const front = await startMailauthFront(s, { host: '127.0.0.1', port: 0 });
  try {
    const creds: Array<{ user: string; pass: string }> = [];
    for (let i = 0; i < users; i++) {
      const u = await s.users.save({ email: `mail-${i}@bench.example`, passwordHash: 'x', displayName: '' });
      const { secret } = await s.appPasswords.create(u, { name: 'bench', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: '' });
      creds.push({ user: u.email, pass: secret });
    }
    // With the cache on, each client has logged in once before the timed run: what follows are reconnects.
    if (cacheSeconds !== '0') {
      for (const c of creds) await fetch(`http://127.0.0.1:${front.port}/mailauth/nginx`, { headers: nginxHeaders(c.user, c.pass) }).then((r) => r.arrayBuffer());
    }
    const result = await autocannon({
      url: `http://127.0.0.1:${front.port}/mailauth/nginx`,
      connections,
      duration: durationSeconds,
      workers: 1,
      requests: creds.map((c) => ({ method: 'GET', headers: nginxHeaders(c.user, c.pass) })),
    });
    const note = `${connections} connections, ${durationSeconds} s, ${result.requests.total} requests, ${users} user(s)${result.non2xx + result.errors ? `, ${result.non2xx + result.errors} failed` : ''}`;
    return [
      { bench: name, metric: 'throughput', value: result.requests.average, unit: 'req/s', note },
      { bench: name, metric: 'latency p50', value: result.latency.p50, unit: 'ms' },
      { bench: name, metric: 'latency p99', value: result.latency.p99, unit: 'ms' },
    ];
  } finally {
    await front.close();
    await s.close();
  }
}

/** mailCheckRepeat: a client reconnecting with credentials verified moments ago (answered from the cache). */
export const mailCheckRepeat: Bench = {
  name: 'mail check, repeat login',
  run: (_server, opts) => checkEndpoint('mail check, repeat login', '300', opts.connections, opts.durationSeconds, 1),
};

/**
 * mailCheckRepeatMany: the same, for 200 users' clients taking turns, so
 * that no login repeats within an audit batch: one audit line each.
 */
export const mailCheckRepeatMany: Bench = {
  name: 'mail check, repeat logins of 200 users',
  run: (_server, opts) => checkEndpoint('mail check, repeat logins of 200 users', '300', opts.connections, opts.durationSeconds, 200),
};

/** mailCheckFirst: every login verified afresh (cache off): one argon2id each. */
export const mailCheckFirst: Bench = {
  name: 'mail check, first login',
  run: (_server, opts) => checkEndpoint('mail check, first login', '0', opts.concurrency, opts.durationSeconds, 1),
};

function imapLogins(port: number, user: string, pass: string, concurrency: number, durationMs: number): Promise<ImapWorkerOutput> {
  const input: ImapWorkerInput = { port, user, pass, concurrency, durationMs };
  return new Promise((resolve, reject) => {
    const worker = tsWorker(new URL('./imap-worker.ts', import.meta.url), input);
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/**
 * imapThroughProxy: whole IMAP logins (connect, LOGIN, LOGOUT) through
 * nginx → Postern → Dovecot with a client-specific password, against direct
 * Dovecot master logins in the same run.
 */
export const imapThroughProxy: Bench = {
  name: 'IMAP login',
  async run(_server, opts) {
    const m = await startMailStack({ LOG_LEVEL: 'warn' }, { front: true });
    try {
      const u = await m.s.userService.create({ email: 'imap-bench@bench.example', password: 'bench horse battery staple' });
      await m.s.phones.save(u.id, '+8613800138000');
      const { secret } = await m.s.appPasswords.create(u, { name: 'bench', scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: '' });
      const concurrency = 4;
      const ms = opts.durationSeconds * 1000;
      const proxied = await imapLogins(m.nginx.imapPort, u.email, secret, concurrency, ms);
      const direct = await imapLogins(m.dovecot.imapPort, `${u.email}*${m.dovecot.masterUser}`, m.dovecot.masterPassword, concurrency, ms);
      const rate = (o: ImapWorkerOutput) => (o.ok * 1000) / o.elapsedMs;
      const note = (o: ImapWorkerOutput) => `${concurrency} parallel, ${o.ok} ok, ${o.failed} failed${o.lastError ? ` (${o.lastError})` : ''}`;
      return [
        { bench: this.name, metric: 'via nginx + Postern', value: rate(proxied), unit: 'logins/s', note: note(proxied) },
        { bench: this.name, metric: 'via nginx p99', value: percentile(proxied.latencies, 99), unit: 'ms' },
        { bench: this.name, metric: 'direct Dovecot master', value: rate(direct), unit: 'logins/s', note: note(direct) },
        { bench: this.name, metric: 'direct p99', value: percentile(direct.latencies, 99), unit: 'ms' },
        { bench: this.name, metric: 'proxied ÷ direct', value: rate(proxied) / rate(direct), unit: '', note: `target ≥ 0.9: ${rate(proxied) / rate(direct) >= 0.9 ? 'meets' : 'BELOW'}` },
      ];
    } finally {
      await m.stop();
    }
  },
};
