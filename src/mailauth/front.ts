import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.ts';
import type { UserRepo } from '../users/repo.ts';
import { MAIL_MESSAGES, type MailAuthenticator } from './authenticate.ts';
import { nginxAnswer } from './nginx.ts';
import { dovecotAnswer } from './dovecot.ts';

/** What the front's thread needs to know. */
export interface FrontSettings {
  host: string;
  port: number;
  secret: string | undefined;
  tempfail: string;
}

/** One request the front's thread read, handed to the main thread (the shared secret already checked). */
export interface FrontRequest {
  id: number;
  path: string;
  headers: Record<string, string>;
  remoteAddress?: string;
  body: string;
}

/** The main thread's answer to a FrontRequest. */
export interface FrontAnswer {
  id: number;
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface MailauthFront {
  /** The port it listens on (the one asked for, or the one given for port 0). */
  port: number;
  close(): Promise<void>;
}

export interface FrontDeps {
  config: Config;
  mailAuth: MailAuthenticator;
  users: UserRepo;
}

/**
 * startMailauthFront answers nginx and Dovecot on MAILAUTH_LISTEN with a
 * thread of its own accepting their connections.
 *
 * nginx opens a new connection for every mail login, and Node accepts one
 * connection per turn of its event loop (libuv stopped accepting in a loop).
 * While the main thread is busy, say with hundreds of clients reconnecting
 * at once, each turn takes tens of milliseconds, connections wait unaccepted
 * in the kernel, and nginx drops the clients after auth_http_timeout without
 * a reply, though the queue would have told them to retry in a second. The
 * front's thread does nothing but accept, read and write, so it accepts at
 * once; the main thread gets the requests as messages, many per turn, and
 * answers the ones it cannot verify in time straight away.
 */
export function startMailauthFront(d: FrontDeps, at: { host: string; port: number }): Promise<MailauthFront> {
  const settings: FrontSettings = { host: at.host, port: at.port, secret: d.config.MAILAUTH_SECRET, tempfail: MAIL_MESSAGES.tempfail };
  const worker = tsWorker(new URL('./front-worker.ts', import.meta.url), settings);
  let closed: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    worker.on('message', (m: FrontRequest | { listening: number } | { error: string } | { closed: true }) => {
      if ('id' in m) {
        void answer(d, m).then((a) => worker.postMessage(a));
      } else if ('listening' in m) {
        resolve({
          port: m.listening,
          close: () =>
            new Promise<void>((done) => {
              closed = done;
              worker.postMessage('close');
            }).then(() => worker.terminate().then(() => {})),
        });
      } else if ('error' in m) {
        void worker.terminate();
        reject(new Error(m.error));
      } else closed?.();
    });
    worker.once('error', reject);
  });
}

/** answer is the main thread's part: the verdict on one request, never a rejection. */
async function answer(d: FrontDeps, r: FrontRequest): Promise<FrontAnswer> {
  try {
    if (r.path === '/mailauth/nginx') {
      const a = await nginxAnswer(d.config, d.mailAuth, (name) => r.headers[name.toLowerCase()], r.remoteAddress);
      return { id: r.id, status: a.status, headers: a.headers, body: '' };
    }
    const form = formOf(r.body);
    const a = form ? await dovecotAnswer(d.mailAuth, d.users, form) : { status: 400, body: '' };
    return { id: r.id, status: a.status, headers: {}, body: a.body };
  } catch {
    return { id: r.id, status: 503, headers: { 'Auth-Status': MAIL_MESSAGES.tempfail }, body: '' };
  }
}

/** formOf reads the Lua passdb's form: at most ten fields, each once. */
function formOf(body: string): Record<string, string> | undefined {
  const params = new URLSearchParams(body);
  const form: Record<string, string> = {};
  let n = 0;
  for (const [key, value] of params) {
    if (key in form || ++n > 10) return undefined;
    form[key] = value;
  }
  return form;
}

/** tsWorker starts a thread on a TypeScript module: threads do not inherit `--import tsx` on Node 20. */
function tsWorker(module: URL, workerData: unknown): Worker {
  const boot = `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(module.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true, workerData });
}
