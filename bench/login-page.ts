import { createRequire } from 'node:module';
import type { Bench } from './harness.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

// autocannon is CommonJS without type definitions.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/**
 * loginPage: GET /login as fast as `connections` clients can ask, no cookies
 * kept, so every request is a new visitor (a new session and CSRF token).
 * The load runs on a worker thread so it does not share the server's event loop.
 */
export const loginPage: Bench = {
  name: 'GET /login',
  async run(server, opts) {
    const result = await autocannon({
      url: `${server.url}/login`,
      connections: opts.connections,
      duration: opts.durationSeconds,
      workers: 1,
      headers: { 'accept-language': 'en' },
    });
    const bad = result.non2xx + result.errors + result.timeouts;
    const note = `${opts.connections} connections, ${opts.durationSeconds} s, ${result.requests.total} requests${bad ? `, ${bad} failed` : ''}`;
    return [
      { bench: this.name, metric: 'throughput', value: result.requests.average, unit: 'req/s', note },
      { bench: this.name, metric: 'latency p50', value: result.latency.p50, unit: 'ms' },
      { bench: this.name, metric: 'latency p99', value: result.latency.p99, unit: 'ms' },
    ];
  },
};
