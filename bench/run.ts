/**
 * npm run bench: starts Postern on a real port and runs every benchmark in
 * `benches`, then prints one summary table. To add a benchmark, write a file
 * under bench/ exporting a Bench and list it below.
 *
 *   BENCH_DATABASE_URL   postgres://… to run on PostgreSQL (default: PGlite in memory)
 *   BENCH_DURATION       seconds per timed phase (default 10)
 *   BENCH_ROUNDS         run everything this many times, back to back, and report medians (default 1);
 *                        on a machine with other work going on, 3 or more steadies the figures
 *   BENCH_CONCURRENCY    parallel sign-ins and argon2 verifications (default 16)
 *   BENCH_CONNECTIONS    connections for GET /login (default 50)
 *   BENCH_ONLY           semicolon-separated benchmark names to run (names may hold commas; default: all)
 */
import '../src/threadpool.ts';
import { argon2Verify } from './argon2.ts';
import { benchOptions, busy, machine, startBenchServer, table, type Bench, type Figure } from './harness.ts';
import { passwordLogins, totpLogins } from './login.ts';
import { loginPage } from './login-page.ts';
import { webmail } from './webmail.ts';
import { reconnectStorm } from './storm.ts';
import { imapThroughProxy, mailCheckFirst, mailCheckRepeat, mailCheckRepeatMany } from './mail-logins.ts';
import { adminConsole } from './admin.ts';
import { posternProcesses } from './nodes.ts';
import { targets } from './targets.ts';

const benches: Bench[] = [loginPage, passwordLogins, totpLogins, argon2Verify, mailCheckRepeat, mailCheckRepeatMany, mailCheckFirst, imapThroughProxy, reconnectStorm, posternProcesses, webmail, adminConsole];

/** Sign-ins should cost little more than their one argon2 verification. */
const RATIO_TARGET = 0.9;

const opts = benchOptions();
const rounds = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS) || 1));
const only = process.env.BENCH_ONLY?.split(';').map((s) => s.trim().toLowerCase()).filter(Boolean);
const selected = benches.filter((b) => !only || only.includes(b.name.toLowerCase()));

const before = busy();
const server = await startBenchServer();
const perRound: Figure[][] = [];
console.log(`Postern benchmarks on ${server.database}, ${machine()}; before start: ${before}`);
try {
  for (let round = 1; round <= rounds; round++) {
    const figures: Figure[] = [];
    for (const bench of selected) {
      console.log(`${rounds > 1 ? `[round ${round}/${rounds}] ` : ''}running ${bench.name} …`);
      const got = await bench.run(server, opts);
      for (const f of got) console.log(`  ${f.metric}: ${f.value.toFixed(1)} ${f.unit}${f.note ? `  (${f.note})` : ''}`);
      figures.push(...got);
    }
    figures.push(...efficiency(figures));
    perRound.push(figures);
  }
} finally {
  await server.close();
}

console.log(`\nSummary${rounds > 1 ? `, median of ${rounds} rounds` : ''}\n`);
const summary = medians(perRound);
console.log(table(summary));
console.log(`\nTargets\n`);
console.log(table(targets(summary)));

/**
 * efficiency relates sign-ins to the argon2 ceiling measured right after
 * them: the share of the machine's hashing capacity that turns into sign-ins.
 */
function efficiency(figures: Figure[]): Figure[] {
  const rate = (bench: Bench) => figures.find((f) => f.bench === bench.name && f.metric === 'throughput')?.value;
  const logins = rate(passwordLogins);
  const verifies = rate(argon2Verify);
  if (logins === undefined || verifies === undefined) return [];
  const ratio = logins / verifies;
  const out: Figure[] = [{ bench: 'sign-in efficiency', metric: 'logins/s ÷ verifies/s', value: ratio, unit: '' }];
  // What the app's code adds to a sign-in, in server CPU: target under 5 %.
  const cpu = (bench: Bench) => figures.find((f) => f.bench === bench.name && f.metric === 'CPU per sign-in')?.value;
  const [withApp, alone] = [cpu(totpLogins), cpu(passwordLogins)];
  if (withApp !== undefined && alone !== undefined) out.push({ bench: 'second factor cost', metric: 'extra CPU per sign-in', value: ((withApp - alone) / alone) * 100, unit: '%' });
  return out;
}

/** medians folds rounds into one row per metric: the median value, with the spread of rates in the note. */
function medians(rounds: Figure[][]): Figure[] {
  if (rounds.length === 1) return rounds[0]!.map((f) => verdict(f));
  return rounds[0]!.map((first) => {
    const values = rounds.map((r) => r.find((f) => f.bench === first.bench && f.metric === first.metric)!.value).sort((a, b) => a - b);
    const mid = values.length / 2;
    const value = values.length % 2 ? values[Math.floor(mid)]! : (values[mid - 1]! + values[mid]!) / 2;
    const spread = `rounds: ${values.map((v) => v.toFixed(v < 10 ? 2 : 0)).join(' / ')}`;
    const rate = first.metric === 'throughput' || first.bench === 'sign-in efficiency';
    return verdict({ ...first, value, note: rate ? spread : first.note }, rate ? spread : undefined);
  });
}

function verdict(f: Figure, spread?: string): Figure {
  if (f.bench !== 'sign-in efficiency') return f;
  const note = `${f.value >= RATIO_TARGET ? 'meets' : 'BELOW'} target ≥ ${RATIO_TARGET}`;
  return { ...f, note: spread ? `${note}; ${spread}` : note };
}
