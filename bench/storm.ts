import net from 'node:net';
import { appPasswords, users } from '../src/db/schema/index.ts';
import { startMailStack } from '../test/helpers/stack.ts';
import type { Bench } from './harness.ts';

const CLIENTS = Number(process.env.BENCH_STORM_CLIENTS ?? 500);

interface Outcome {
  admitted: boolean;
  /** Temporary failures (NO) the client saw before it got in. */
  retries: number;
  /** The connection closed with no OK: nginx gave up on Postern (auth_http_timeout) or the backend refused. */
  dropped: boolean;
  ms: number;
}

/**
 * login is a mail client reconnecting: connect through nginx, LOGIN, and on a
 * temporary NO try LOGIN again on the same connection (nginx kept it open
 * for Auth-Wait); a connection closed without an answer counts as dropped.
 */
function login(port: number, user: string, pass: string, started: number, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = '';
    let retries = 0;
    let greeted = false;
    let settled = false;
    const finish = (o: Omit<Outcome, 'ms' | 'retries'>) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ...o, retries, ms: performance.now() - started });
    };
    const send = () => socket.write(`a${retries} LOGIN "${user}" "${pass}"\r\n`);
    socket.setEncoding('utf8');
    socket.setTimeout(deadlineMs, () => finish({ admitted: false, dropped: true }));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (!greeted && line.startsWith('* OK')) {
          greeted = true;
          send();
        } else if (line.startsWith(`a${retries} OK`)) {
          socket.write('z LOGOUT\r\n');
          finish({ admitted: true, dropped: false });
        } else if (line.startsWith(`a${retries} NO`)) {
          retries += 1;
          if (performance.now() - started > deadlineMs) finish({ admitted: false, dropped: false });
          else send();
        }
      }
    });
    socket.on('error', () => finish({ admitted: false, dropped: true }));
    socket.on('close', () => finish({ admitted: false, dropped: true }));
  });
}

/**
 * reconnectStorm: CLIENTS mail apps of CLIENTS different users log in
 * through nginx at the same moment, none of them cached (as after a restart
 * of Postern), each needing one argon2 verification at production cost.
 * Goal: none dropped by nginx's 5 s auth_http_timeout, all in within 60 s.
 */
export const reconnectStorm: Bench = {
  name: 'reconnect storm',
  async run() {
    const m = await startMailStack({ LOG_LEVEL: 'error', ...(process.env.MAIL_AUTH_QUEUE_MS ? { MAIL_AUTH_QUEUE_MS: process.env.MAIL_AUTH_QUEUE_MS } : {}) });
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
      const started = performance.now();
      const outcomes = await Promise.all(all.map((email) => login(m.nginx.imapPort, email, secret, started, 90_000)));
      const admitted = outcomes.filter((o) => o.admitted);
      const dropped = outcomes.filter((o) => o.dropped).length;
      const lastIn = Math.max(...admitted.map((o) => o.ms));
      const retried = outcomes.filter((o) => o.retries > 0).length;

      return [
        { bench: this.name, metric: 'admitted', value: admitted.length, unit: `of ${CLIENTS}` },
        { bench: this.name, metric: 'dropped without a reply', value: dropped, unit: '', note: `target 0: ${dropped === 0 ? 'meets' : 'MISSES'}` },
        { bench: this.name, metric: 'told to retry', value: retried, unit: 'clients', note: `${outcomes.reduce((n, o) => n + o.retries, 0)} temporary failures in all` },
        { bench: this.name, metric: 'all in after', value: lastIn / 1000, unit: 's', note: `target ≤ 60 s: ${admitted.length === CLIENTS && lastIn <= 60_000 ? 'meets' : 'MISSES'}` },
      ];
    } finally {
      await m.stop();
    }
  },
};
