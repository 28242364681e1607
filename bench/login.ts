import { newTotpSecret } from '../src/twofactor/totp/totp.ts';
import { percentile, tsWorker, type Bench, type BenchOptions, type BenchServer, type Figure } from './harness.ts';
import type { LoginWorkerInput, LoginWorkerOutput } from './login-worker.ts';

const PASSWORD = 'bench horse battery staple';

/** Accounts to rotate through; plenty, so no account sees bursts of its own. */
const USERS = 200;

/**
 * passwordLogins: complete password sign-ins per second for users without a
 * phone (GET /login for a fresh session and CSRF token, then POST /login,
 * counted on 303 → /). Only failures count towards the per-IP and
 * per-account limits, so successful sign-ins from one address never throttle.
 */
export const passwordLogins: Bench = {
  name: 'password sign-in',
  run: (server, opts) => runLogins('password sign-in', server, opts, false),
};

/**
 * totpLogins: complete sign-ins with the password and an authenticator app's
 * code (GET /login, POST /login, GET /login/code, POST /login/code), each
 * account using a fresh time step, as a person would.
 */
export const totpLogins: Bench = {
  name: 'password + app sign-in',
  run: (server, opts) => runLogins('password + app sign-in', server, opts, true),
};

async function runLogins(name: string, server: BenchServer, opts: BenchOptions, withApp: boolean): Promise<Figure[]> {
  // An app's code works once per time step (three steps are accepted at a time): enough accounts for the rate.
  const emails = await server.createUsers(withApp ? USERS * 3 : USERS, PASSWORD);
  const secrets = withApp ? await Promise.all(emails.map((e) => addApp(server, e))) : undefined;
  const input: LoginWorkerInput = {
    url: server.url,
    emails,
    secrets,
    password: PASSWORD,
    concurrency: opts.concurrency,
    warmupMs: 2000,
    durationMs: opts.durationSeconds * 1000,
  };
  let cpu: NodeJS.CpuUsage | undefined;
  const out = await new Promise<LoginWorkerOutput>((resolve, reject) => {
    const worker = tsWorker(new URL('./login-worker.ts', import.meta.url), input);
    worker.on('message', (m: 'timing' | LoginWorkerOutput) => {
      if (m === 'timing') cpu = process.cpuUsage();
      else resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`sign-in worker exited with ${code}`)));
  });
  const used = process.cpuUsage(cpu);
  // Process CPU time less the load generator thread's busy time: what the server spends per sign-in.
  const cpuMs = ((used.user + used.system) / 1000 - out.busyMs) / Math.max(1, out.ok);
  const failures = Object.entries(out.failures)
    .map(([what, n]) => `${n}× ${what}`)
    .join(', ');
  const note = `${opts.concurrency} parallel, ${(out.elapsedMs / 1000).toFixed(1)} s, ${out.ok} ok, ${out.failed} failed${failures ? ` (${failures})` : ''}`;
  return [
    { bench: name, metric: 'throughput', value: (out.ok * 1000) / out.elapsedMs, unit: 'logins/s', note },
    { bench: name, metric: 'latency p50', value: percentile(out.latencies, 50), unit: 'ms', note: 'GET /login + POST /login' },
    { bench: name, metric: 'latency p99', value: percentile(out.latencies, 99), unit: 'ms' },
    { bench: name, metric: 'CPU per sign-in', value: cpuMs, unit: 'ms', note: `load generator excluded (${(out.busyMs / Math.max(1, out.ok)).toFixed(1)} ms)${server.database.startsWith('PGlite') ? '' : ', database server not included'}` },
  ];
}

/** addApp gives an account an authenticator app and returns its key. */
async function addApp(server: BenchServer, email: string): Promise<string> {
  const user = (await server.s.users.loadByEmail(email))!;
  const secret = newTotpSecret();
  await server.s.totp.save({ userId: user.id, name: 'Phone', secretSealed: server.s.secrets.seal(secret), lastStep: 0 });
  return secret;
}
