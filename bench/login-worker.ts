/**
 * Runs on a worker thread: `concurrency` browsers-in-a-loop, each signing in
 * the way a person's browser does. Every sign-in starts a new cookie session:
 * GET /login for the session and its CSRF token, then POST /login. A sign-in
 * counts when the answer is 303 to "/".
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { totpCode, TOTP_PERIOD } from '../src/twofactor/totp/totp.ts';

export interface LoginWorkerInput {
  url: string;
  emails: string[];
  password: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** With authenticator keys (one per address, same order): the second step types the app's code. */
  secrets?: string[];
}

export interface LoginWorkerOutput {
  ok: number;
  failed: number;
  /** "status location" → count, for every answer that was not a sign-in. */
  failures: Record<string, number>;
  /** Milliseconds per sign-in (GET + POST), successful ones only. */
  latencies: number[];
  elapsedMs: number;
  /** Milliseconds this thread's event loop was busy in the timed phase: the load generator's own cost. */
  busyMs: number;
}

const input = workerData as LoginWorkerInput;

function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** What the load generator reads of an answer. */
interface Answer {
  status: number;
  location: string | null;
  setCookies: string[];
  body: string;
}

// node:http over kept-alive connections: the load generator shares the machine's cores with the server, so it should cost little (fetch costs several times more per request).
const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency });
const base = new URL(input.url);

/** send makes one request and reads the whole answer. */
function send(path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path, method: body === undefined ? 'GET' : 'POST', agent, headers: { 'accept-language': 'en', ...headers, ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, setCookies: res.headers['set-cookie'] ?? [], body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function keepCookies(jar: Map<string, string>, res: Answer): void {
  for (const line of res.setCookies) {
    const pair = line.split(';', 1)[0]!;
    const i = pair.indexOf('=');
    if (i > 0) jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
  }
}

let next = 0;
/** The last time step each account's code was used at: a step is accepted once, so each sign-in takes a later one. */
const usedStep = new Map<number, number>();

/** nextAccount picks the next account (and, with keys, a step its app accepts now: this one or the next, unused). */
function nextAccount(): { i: number; step?: number } {
  for (let tries = 0; tries < input.emails.length; tries++) {
    const i = next++ % input.emails.length;
    if (!input.secrets) return { i };
    const now = Math.floor(Date.now() / 1000 / TOTP_PERIOD);
    // Not the step before: it may have left the accepted window by the time the code is typed.
    const step = Math.max(now, (usedStep.get(i) ?? -Infinity) + 1);
    if (step > now + 1) continue;
    usedStep.set(i, step);
    return { i, step };
  }
  throw new Error('every account used its codes for this time step: add accounts');
}

/** signIn runs one complete sign-in (password, and the app's code when keys are given); returns null on success, else what came back. */
async function signIn(): Promise<string | null> {
  const { i, step } = nextAccount();
  const email = input.emails[i]!;
  const jar = new Map<string, string>();
  const page = await send('/login', {});
  keepCookies(jar, page);
  const csrf = page.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  if (page.status !== 200 || !csrf) return `GET ${page.status}${csrf ? '' : ' (no token)'}`;
  const res = await send('/login', { cookie: cookieHeader(jar) }, new URLSearchParams({ _csrf: csrf, email, password: input.password }).toString());
  keepCookies(jar, res);
  const location = res.location;
  if (step === undefined) return res.status === 303 && location === '/' ? null : `POST ${res.status}${location ? ` → ${location}` : ''}`;
  if (res.status !== 303 || location !== '/login/code') return `POST ${res.status}${location ? ` → ${location}` : ''}`;
  const codePage = await send('/login/code', { cookie: cookieHeader(jar) });
  keepCookies(jar, codePage);
  const token = codePage.body.match(/name="_csrf" value="([^"]+)"/)?.[1];
  if (codePage.status !== 200 || !token) return `GET /login/code ${codePage.status}`;
  const code = totpCode(input.secrets![i]!, new Date(step * TOTP_PERIOD * 1000));
  const done = await send('/login/code', { cookie: cookieHeader(jar) }, new URLSearchParams({ _csrf: token, code }).toString());
  const to = done.location;
  return done.status === 303 && to === '/' ? null : `POST /login/code ${done.status}${to ? ` → ${to}` : ''}`;
}

async function drive(until: number, record: boolean, out: LoginWorkerOutput): Promise<void> {
  while (Date.now() < until) {
    const started = performance.now();
    let problem: string | null;
    try {
      problem = await signIn();
    } catch (err) {
      problem = `error ${(err as Error).message}`;
    }
    if (!record) continue;
    if (problem === null) {
      out.ok += 1;
      out.latencies.push(performance.now() - started);
    } else {
      out.failed += 1;
      out.failures[problem] = (out.failures[problem] ?? 0) + 1;
    }
  }
}

const out: LoginWorkerOutput = { ok: 0, failed: 0, failures: {}, latencies: [], elapsedMs: 0, busyMs: 0 };
const loops = (until: number, record: boolean) => Promise.all(Array.from({ length: input.concurrency }, () => drive(until, record, out)));

await loops(Date.now() + input.warmupMs, false);
parentPort!.postMessage('timing');
const start = Date.now();
const loop = performance.eventLoopUtilization();
await loops(start + input.durationMs, true);
out.elapsedMs = Date.now() - start;
agent.destroy();
out.busyMs = performance.eventLoopUtilization(loop).active;
parentPort!.postMessage(out);
