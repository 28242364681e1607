import { appPasswords, users } from '../src/db/schema/index.ts';
import { startMailStack } from '../test/helpers/stack.ts';
import { tsWorker, type Bench } from './harness.ts';
import type { Outcome, StormWorkerInput } from './storm-worker.ts';

const CLIENTS = Number(process.env.BENCH_STORM_CLIENTS ?? 500);

/**
 * reconnectStorm: CLIENTS mail apps of CLIENTS different users log in
 * through nginx at the same moment, none of them cached (as after a restart
 * of Postern), each needing one argon2 verification at production cost.
 * Goal: none dropped by nginx's 5 s auth_http_timeout, all in within 60 s.
 */
export const reconnectStorm: Bench = {
  name: 'reconnect storm',
  async run() {
    // As deployed: nginx and Dovecot ask on MAILAUTH_LISTEN, whose own thread accepts their connections.
    const m = await startMailStack({ LOG_LEVEL: 'error', ...(process.env.MAIL_AUTH_QUEUE_MS ? { MAIL_AUTH_QUEUE_MS: process.env.MAIL_AUTH_QUEUE_MS } : {}) }, { front: true });
    try {
      // One real client-specific password; the other users get a copy of its row (same secret, same hash), which costs no hashing to set up.
      const first = await m.s.userService.create({ email: 'storm-0@bench.example', password: 'bench horse battery staple' });
      await m.s.totp.save({ userId: first.id, name: 'Phone', secretSealed: m.s.secrets.seal('JBSWY3DPEHPK3PXP'), lastStep: 0 });
      const { secret, row } = await m.s.appPasswords.create(first, { name: 'bench', scopes: ['imap'] }, { ip: '127.0.0.1', userAgent: '' });
      const rest = await m.s.db
        .insert(users)
        .values(Array.from({ length: CLIENTS - 1 }, (_, i) => ({ email: `storm-${i + 1}@bench.example`, passwordHash: first.passwordHash })))
        .returning({ id: users.id, email: users.email });
      await m.s.db.insert(appPasswords).values(rest.map((u) => ({ userId: u.id, name: 'bench', selector: row.selector, hash: row.hash, scopes: ['imap'] })));
      const all = [first.email, ...rest.map((u) => u.email)];
      const outcomes = await clients({ port: m.nginx.imapPort, emails: all, secret, deadlineMs: 90_000 });
      const admitted = outcomes.filter((o) => o.admitted);
      const dropped = outcomes.filter((o) => o.dropped).length;
      const lastIn = Math.max(...admitted.map((o) => o.ms));
      const retried = outcomes.filter((o) => o.retries > 0).length;

      return [
        { bench: this.name, metric: 'admitted', value: admitted.length, unit: `of ${CLIENTS}` },
        { bench: this.name, metric: 'left out', value: CLIENTS - admitted.length, unit: '', note: 'not in within 90 s' },
        { bench: this.name, metric: 'dropped without a reply', value: dropped, unit: '', note: `target 0: ${dropped === 0 ? 'meets' : 'MISSES'}` },
        { bench: this.name, metric: 'told to retry', value: retried, unit: 'clients', note: `${outcomes.reduce((n, o) => n + o.retries, 0)} temporary failures in all` },
        { bench: this.name, metric: 'all in after', value: lastIn / 1000, unit: 's', note: `target ≤ 60 s: ${admitted.length === CLIENTS && lastIn <= 60_000 ? 'meets' : 'MISSES'}` },
      ];
    } finally {
      await m.stop();
    }
  },
};

/** clients runs the mail apps in a thread of their own, as real ones run elsewhere: their work does not slow Postern's event loop. */
function clients(input: StormWorkerInput): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const worker = tsWorker(new URL('./storm-worker.ts', import.meta.url), input);
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
