import argon2 from 'argon2';
import { ARGON2_OPTIONS } from '../src/auth/password.ts';
import { percentile, type Bench } from './harness.ts';

/**
 * argon2Verify: the ceiling for password sign-ins. It verifies one hash made
 * with the parameters sign-in uses, `concurrency` at a time, in this process
 * (the same libuv pool the server hashes on), with the server idle.
 */
export const argon2Verify: Bench = {
  name: 'argon2id verify',
  async run(_server, opts) {
    const password = 'bench horse battery staple';
    const hash = await argon2.hash(password, ARGON2_OPTIONS);
    const loop = async (until: number, samples?: number[]) => {
      let n = 0;
      while (Date.now() < until) {
        const started = performance.now();
        if (!(await argon2.verify(hash, password))) throw new Error('argon2 verify rejected the right password');
        samples?.push(performance.now() - started);
        n += 1;
      }
      return n;
    };
    const all = (until: number, samples?: number[]) => Promise.all(Array.from({ length: opts.concurrency }, () => loop(until, samples)));
    await all(Date.now() + 1000);
    const samples: number[] = [];
    const cpu = process.cpuUsage();
    const start = Date.now();
    const counts = await all(start + opts.durationSeconds * 1000, samples);
    const elapsed = Date.now() - start;
    const total = counts.reduce((a, b) => a + b, 0);
    const used = process.cpuUsage(cpu);
    const params = `m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}`;
    return [
      { bench: this.name, metric: 'throughput', value: (total * 1000) / elapsed, unit: 'verifies/s', note: `${opts.concurrency} parallel, ${params}, ${total} verifies` },
      { bench: this.name, metric: 'latency p50', value: percentile(samples, 50), unit: 'ms' },
      { bench: this.name, metric: 'CPU per verify', value: (used.user + used.system) / 1000 / Math.max(1, total), unit: 'ms' },
    ];
  },
};
