import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { createApp } from '../src/http/app.ts';
import { openStore } from '../src/db/client.ts';
import { createLogger } from '../src/log.ts';
import { createServices, type Services } from '../src/services.ts';
import { hashPassword } from '../src/auth/password.ts';
import { ConsoleSmsSender } from '../src/twofactor/sms/sender.ts';
import { startServices, testConfig } from '../test/helpers/services.ts';

/** Figure is one measured number, printed as a row of the summary table. */
export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

/** BenchServer is Postern listening on a real port, with its services at hand for setting up data. */
export interface BenchServer {
  url: string;
  s: Services;
  /** database names the store the server runs on, for the report. */
  database: string;
  /** createUsers adds `n` accounts (no phone) sharing one password; returns their addresses. */
  createUsers(n: number, password: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Bench is one benchmark: a name and a run that returns figures. Add new ones as files under bench/. */
export interface Bench {
  name: string;
  run(server: BenchServer, opts: BenchOptions): Promise<Figure[]>;
}

export interface BenchOptions {
  /** Seconds each timed phase runs. */
  durationSeconds: number;
  /** Parallel sign-ins (and parallel argon2 verifications). */
  concurrency: number;
  /** HTTP connections for page-load figures. */
  connections: number;
}

/** benchOptions reads BENCH_DURATION, BENCH_CONCURRENCY and BENCH_CONNECTIONS, with the defaults below. */
export function benchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const num = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    durationSeconds: num('BENCH_DURATION', 10),
    concurrency: num('BENCH_CONCURRENCY', 16),
    connections: num('BENCH_CONNECTIONS', 50),
  };
}

const ENV = { LOG_LEVEL: 'warn' };

/**
 * startBenchServer runs the app on 127.0.0.1 at a free port: on PostgreSQL
 * when BENCH_DATABASE_URL is set (the bench adds users and rows there), on
 * PGlite in memory otherwise.
 */
export async function startBenchServer(): Promise<BenchServer> {
  const url = process.env.BENCH_DATABASE_URL;
  let s: Services;
  let closeStore: () => Promise<void>;
  if (url) {
    const log = createLogger('warn');
    const store = await openStore({ url, dataDir: '.' });
    s = await createServices(testConfig(ENV), log, { store, sms: new ConsoleSmsSender(log) });
    closeStore = () => store.close();
  } else {
    const ts = await startServices(ENV);
    s = ts;
    closeStore = () => ts.close();
  }
  const app = createApp(s);
  const server = await new Promise<Server>((resolve, reject) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv));
    srv.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const run = `${Date.now().toString(36)}-${process.pid}`;
  let made = 0;
  return {
    url: `http://127.0.0.1:${port}`,
    s,
    database: url ? `PostgreSQL (${new URL(url).host})` : 'PGlite in memory',
    async createUsers(n, password) {
      // One hash serves every account: the salt is inside it, and hashing per account would only slow set-up.
      const passwordHash = await hashPassword(password);
      const emails: string[] = [];
      for (let i = 0; i < n; i++) {
        made += 1;
        const email = `bench-${run}-${made}@bench.example`;
        await s.users.save({ email, displayName: `bench ${made}`, passwordHash, isAdmin: false });
        emails.push(email);
      }
      return emails;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeStore();
    },
  };
}

/** machine describes where the figures were taken. */
export function machine(): string {
  const cpus = os.cpus();
  const pool = process.env.UV_THREADPOOL_SIZE ?? '4 (libuv default)';
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, libuv pool ${pool}`;
}

/** busy reports the 1-minute load average against the CPU count: other work on the machine skews every figure, so read it before starting. */
export function busy(): string {
  const load = os.loadavg()[0]!;
  const cpus = os.cpus().length;
  return `load ${load.toFixed(2)} on ${cpus} CPU${cpus === 1 ? '' : 's'}${load > cpus / 2 ? ' (other work is running: figures will be pessimistic)' : ''}`;
}

/** percentile reads the p-th percentile (0–100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** table renders figures as aligned columns. */
export function table(figures: Figure[]): string {
  const rows = [
    ['benchmark', 'metric', 'value', 'unit', 'note'],
    ...figures.map((f) => [f.bench, f.metric, format(f.value), f.unit, f.note ?? '']),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function format(v: number): string {
  if (Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * tsWorker starts a worker thread on a TypeScript module. Workers do not
 * inherit `--import tsx` on Node 20, so a small bootstrap loads it first.
 */
export function tsWorker(module: URL, workerData: unknown): Worker {
  const boot = `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(module.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true, workerData });
}
