import { percentile, tsWorker, type Bench } from './harness.ts';
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
  async run(server, opts) {
    const emails = await server.createUsers(USERS, PASSWORD);
    const input: LoginWorkerInput = {
      url: server.url,
      emails,
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
      { bench: this.name, metric: 'throughput', value: (out.ok * 1000) / out.elapsedMs, unit: 'logins/s', note },
      { bench: this.name, metric: 'latency p50', value: percentile(out.latencies, 50), unit: 'ms', note: 'GET /login + POST /login' },
      { bench: this.name, metric: 'latency p99', value: percentile(out.latencies, 99), unit: 'ms' },
      { bench: this.name, metric: 'CPU per sign-in', value: cpuMs, unit: 'ms', note: `load generator excluded (${(out.busyMs / Math.max(1, out.ok)).toFixed(1)} ms)${server.database.startsWith('PGlite') ? '' : ', database server not included'}` },
    ];
  },
};
