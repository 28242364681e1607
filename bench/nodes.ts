import { freePort } from '../test/harness/ports.ts';
import { tsWorker, type Bench, type Figure } from './harness.ts';
import { autocannon, MAIL_ENV, nginxHeaders } from './mail-logins.ts';
import { startPostern, type PosternProcess } from './postern-process.ts';
import type { LoginWorkerInput, LoginWorkerOutput } from './login-worker.ts';

const NAME = 'Postern processes';
const PASSWORD = 'bench horse battery staple';
/** Resident memory Postern may hold under the login load. */
const RSS_TARGET_MB = 150;

/**
 * postern processes: Postern as `npm start` runs it, in processes of its own
 * on PostgreSQL, so that the figures are Postern's alone. Under password
 * sign-ins and cached mail logins at once, its peak RSS against the target;
 * then repeat mail logins on one node, and on two nodes sharing the database
 * (each asked by its own load generator, as nginx asks both), side by side.
 */
export const posternProcesses: Bench = {
  name: NAME,
  async run(server, opts) {
    const url = process.env.BENCH_DATABASE_URL;
    if (!url) return [{ bench: NAME, metric: 'RSS peak under login load', value: Number.NaN, unit: 'MB', note: 'needs PostgreSQL: set BENCH_DATABASE_URL' }];
    const emails = await server.createUsers(200, PASSWORD);
    const mailUser = await server.s.users.loadByEmail(emails[0]!);
    const { secret } = await server.s.appPasswords.create(mailUser!, { name: 'bench', scopes: ['imap', 'smtp'] }, { ip: '127.0.0.1', userAgent: '' });
    // As deployed: nginx asks each node on its MAILAUTH_LISTEN address.
    const env = async () => ({ ...MAIL_ENV, LOG_LEVEL: 'info', PORT: String(await freePort()), MAILAUTH_LISTEN: `127.0.0.1:${await freePort()}`, DATABASE_URL: url, MAIL_LOGIN_CACHE_SECONDS: '300' });
    const a = await startPostern(await env());
    let b: PosternProcess | undefined;
    try {
      const ms = opts.durationSeconds * 1000;
      // Both loads at once on node A, its memory sampled every 100 ms.
      let peak = a.rss();
      const start = peak;
      const sampler = setInterval(() => (peak = Math.max(peak, a.rss())), 100);
      const [signIns, mail] = await Promise.all([
        signInLoad({ url: a.url, emails, password: PASSWORD, concurrency: opts.concurrency, warmupMs: 1000, durationMs: ms }),
        repeatLogins([a], emails[0]!, secret, opts.connections, opts.durationSeconds),
      ]);
      clearInterval(sampler);
      const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
      const figures: Figure[] = [
        {
          bench: NAME,
          metric: 'RSS peak under login load',
          value: mb(peak),
          unit: 'MB',
          note: `one node, ${signIns.ok} password sign-ins and ${mail.total} mail logins in ${opts.durationSeconds} s (started at ${mb(start)} MB); target ≤ ${RSS_TARGET_MB} MB: ${mb(peak) <= RSS_TARGET_MB ? 'meets' : 'MISSES'}`,
        },
      ];
      const one = await repeatLogins([a], emails[0]!, secret, opts.connections, opts.durationSeconds);
      b = await startPostern(await env());
      const two = await repeatLogins([a, b], emails[0]!, secret, opts.connections, opts.durationSeconds);
      figures.push(
        { bench: NAME, metric: 'repeat mail logins, one node', value: one.rate, unit: 'req/s', note: `${opts.connections} connections, p99 ${one.p99} ms` },
        { bench: NAME, metric: 'repeat mail logins, two nodes', value: two.rate, unit: 'req/s', note: `${opts.connections} connections to each, p99 ${two.p99} ms; the same two cores serve both` },
      );
      return figures;
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
    }
  },
};

function signInLoad(input: LoginWorkerInput): Promise<LoginWorkerOutput> {
  return new Promise((resolve, reject) => {
    const worker = tsWorker(new URL('./login-worker.ts', import.meta.url), input);
    worker.on('message', (m: 'timing' | LoginWorkerOutput) => m !== 'timing' && resolve(m));
    worker.once('error', reject);
  });
}

/** repeatLogins asks every node at once, as nginx would, with cached credentials; returns the rate summed over the nodes. */
async function repeatLogins(nodes: PosternProcess[], user: string, pass: string, connections: number, durationSeconds: number) {
  const results = await Promise.all(
    nodes.map((n) => autocannon({ url: `${n.mailauthUrl}/mailauth/nginx`, connections, duration: durationSeconds, workers: 1, headers: nginxHeaders(user, pass) })),
  );
  return {
    rate: results.reduce((sum, r) => sum + r.requests.average, 0),
    total: results.reduce((sum, r) => sum + r.requests.total, 0),
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}
