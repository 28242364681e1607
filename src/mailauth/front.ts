import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.ts';
import type { UserRepo } from '../users/repo.ts';
import { MAIL_MESSAGES, type MailAuthenticator, type MailAuthRequest } from './authenticate.ts';
import { nginxAnswer } from './nginx.ts';
import { dovecotAnswer } from './dovecot.ts';
import { dovecotEventAnswer } from './events.ts';
import type { AppPasswords } from '../apppasswords/service.ts';

/** What the front's thread needs to know. */
export interface FrontSettings {
  host: string;
  port: number;
  secret: string | undefined;
  tempfail: string;
  /** Logins the thread may admit from held answers before their audit lines are written; past it the main thread answers again. */
  unwrittenMax: number;
}

/** Held logins not yet audited, at most (a few seconds of a reconnect flood; lines of a few hundred bytes each). */
const UNWRITTEN_MAX = 5_000;

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
  /** For an admitted login that is cached: the front's thread may give the same answer to the same login until told otherwise. */
  hold?: HeldLogin;
}

/** A cached login's answer, as the front's thread holds it (see startMailauthFront). */
export interface HeldLogin {
  key: string;
  userId: string;
  email: string;
  appPasswordId?: string;
  /** When the answer stops holding: the cache entry's expiry, or the client-specific password's if sooner. */
  until: number;
}

/** One login the front's thread admitted from a held answer, for the main thread to note and audit. */
export interface HeldUse {
  login: Omit<HeldLogin, 'key' | 'until'>;
  user: string;
  protocol: 'imap' | 'smtp';
  clientIp: string;
  /** How many times, within one batch. */
  count: number;
}

/** What the main thread tells the front's thread besides answers. */
export type FrontNews = FrontAnswer | { forget: string } | { written: number } | 'close';

export interface MailauthFront {
  /** The port it listens on (the one asked for, or the one given for port 0). */
  port: number;
  close(): Promise<void>;
}

export interface FrontDeps {
  config: Config;
  mailAuth: MailAuthenticator;
  users: UserRepo;
  appPasswords: Pick<AppPasswords, 'noteClientFrom'>;
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
export function startMailauthFront(d: FrontDeps, at: { host: string; port: number }, unwrittenMax = UNWRITTEN_MAX): Promise<MailauthFront> {
  const settings: FrontSettings = { host: at.host, port: at.port, secret: d.config.MAILAUTH_SECRET, tempfail: MAIL_MESSAGES.tempfail, unwrittenMax };
  const worker = tsWorker(new URL('./front-worker.ts', import.meta.url), settings);
  const tell = (news: FrontNews) => worker.postMessage(news);
  // Whatever voids a cache entry voids the thread's copy; messages arrive in order, so a copy sent before a change is dropped by it.
  const unwatch = d.mailAuth.cache.onChange((userId) => tell({ forget: userId }));
  let closed: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    worker.on('message', (m: FrontRequest | { used: HeldUse[] } | { listening: number } | { error: string } | { closed: true }) => {
      if ('id' in m) {
        void answer(d, m).then(tell);
      } else if ('used' in m) {
        void noteUses(d, m.used).then(() => tell({ written: m.used.reduce((n, u) => n + u.count, 0) }));
      } else if ('listening' in m) {
        resolve({
          port: m.listening,
          close: () =>
            new Promise<void>((done) => {
              closed = done;
              unwatch();
              tell('close');
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
      return { id: r.id, status: a.status, headers: a.headers, body: '', hold: a.admitted && holdable(d, a.admitted) };
    }
    if (r.path === '/mailauth/events') return { id: r.id, status: await dovecotEventAnswer(d.appPasswords, r.body), headers: {}, body: '' };
    const form = formOf(r.body);
    const a = form ? await dovecotAnswer(d.mailAuth, d.users, form) : { status: 400, body: '' };
    return { id: r.id, status: a.status, headers: {}, body: a.body };
  } catch {
    return { id: r.id, status: 503, headers: { 'Auth-Status': MAIL_MESSAGES.tempfail }, body: '' };
  }
}

/**
 * holdable is what the front's thread may hold of an admitted nginx login:
 * the cache entry it was admitted with, read now, after the answer and
 * before the message leaves, so no change can fall between the two.
 */
function holdable(d: FrontDeps, admitted: MailAuthRequest): HeldLogin | undefined {
  const cached = d.mailAuth.cachedFor(admitted);
  if (!cached) return undefined;
  const { key, login } = cached;
  return { key, userId: login.userId, email: login.email, appPasswordId: login.appPasswordId, until: Math.min(login.expiresAt, login.passwordExpiresAt ?? Infinity) };
}

/**
 * noteUses notes and audits the logins the front's thread admitted from
 * held answers, and resolves once their audit lines are written: the thread
 * holds back from answering more while too many are unwritten.
 */
async function noteUses(d: FrontDeps, uses: HeldUse[]): Promise<void> {
  try {
    for (const u of uses) d.mailAuth.admittedFromCopy(u, u.login, u.count);
    await d.mailAuth.auditWritten();
  } catch {
    // Noted as far as it went; the thread must hear back either way.
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
