import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { basicAuthPassword, mailauthSecretMatches } from './secret-header.ts';
import { canonical, loginKey, nginxRequest } from './login-request.ts';
import type { FrontAnswer, FrontNews, FrontRequest, FrontSettings, HeldLogin, HeldUse } from './front.ts';

/**
 * The mail-login front's thread: it accepts nginx's and Dovecot's
 * connections and reads their requests, so that a busy main thread never
 * leaves them unaccepted, and hands each request to the main thread. See
 * front.ts for why.
 */
const settings = workerData as FrontSettings;
const BODY_MAX = 8 * 1024;
/** Longer than any peer waits (nginx's auth_http_timeout is 5 s); the answer would reach nobody. */
const ANSWER_TIMEOUT_MS = 30_000;
const ROUTES: Record<string, string> = { '/mailauth/nginx': 'GET', '/mailauth/dovecot': 'POST', '/mailauth/events': 'POST' };
/** Dovecot's event exporter can add no header: it sends the secret as Basic credentials, the user info of its URL. */
const BASIC_AUTH = new Set(['/mailauth/events']);

const waiting = new Map<number, { res: http.ServerResponse; timer: NodeJS.Timeout }>();
let nextId = 1;

/**
 * Answers to cached logins, held here so a client reconnecting with what it
 * proved minutes ago is answered without waiting for the main thread (whose
 * turns a sign-in, a collection or a database write can hold up). The main
 * thread sends each one with the answer it gave and says which users' to
 * forget, in order, whenever its cache drops theirs.
 */
const held = new Map<string, HeldLogin & { headers: Record<string, string> }>();
/** As many as the main thread's cache holds. */
const HELD_MAX = 10_000;
/**
 * Logins admitted here, on their way to the main thread to be noted and
 * audited, in batches: the same login repeated within one batch (a client
 * reconnecting in a loop) goes as one, with its count, so it cannot flood
 * the audit log. Each of these clients was verified, and audited, before;
 * a crash loses at most one batch of its reconnects.
 */
let uses = new Map<string, HeldUse>();
let usesTimer: NodeJS.Timeout | undefined;
const USES_EVERY_MS = 250;
/** Admitted here but not yet written to the audit log: past settings.unwrittenMax the main thread answers again, at its own pace. */
let unwritten = 0;

function hold(login: HeldLogin, headers: Record<string, string>): void {
  held.delete(login.key);
  if (held.size >= HELD_MAX) held.delete(held.keys().next().value!);
  held.set(login.key, { ...login, headers });
}

function forget(userId: string): void {
  if (userId === '*') return held.clear();
  for (const [key, login] of held) if (login.userId === userId) held.delete(key);
}

/** answerHeld answers a login from a held answer, if there is one for it; false when the main thread must decide. */
function answerHeld(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (unwritten >= settings.unwrittenMax || held.size === 0) return false;
  const get = (name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const login = nginxRequest(get, req.socket.remoteAddress);
  if (!login) return false;
  const key = loginKey(login);
  const h = held.get(key);
  if (!h) return false;
  if (h.until <= Date.now()) {
    held.delete(key);
    return false;
  }
  send(res, 200, h.headers);
  const seen = uses.get(key);
  if (seen) seen.count += 1;
  else {
    const c = canonical(login);
    uses.set(key, { login: { userId: h.userId, email: h.email, appPasswordId: h.appPasswordId }, user: c.user, protocol: c.protocol, clientIp: c.clientIp, count: 1 });
  }
  unwritten += 1;
  usesTimer ??= setTimeout(sendUses, USES_EVERY_MS);
  return true;
}

function sendUses(): void {
  usesTimer = undefined;
  if (!uses.size) return;
  parentPort!.postMessage({ used: [...uses.values()] });
  uses = new Map();
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body = ''): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0]!;
  if (ROUTES[path] !== req.method) return send(res, 404, {}, 'Not Found');
  const secret = typeof req.headers['x-mailauth-secret'] === 'string' ? req.headers['x-mailauth-secret'] : undefined;
  const basic = BASIC_AUTH.has(path) ? basicAuthPassword(req.headers.authorization) : undefined;
  if (!mailauthSecretMatches(secret, settings.secret) && !mailauthSecretMatches(basic, settings.secret)) {
    const smtp = String(req.headers['auth-protocol'] ?? '').toLowerCase() === 'smtp';
    return send(res, 401, { 'Auth-Status': settings.tempfail, ...(smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {}) });
  }
  if (path === '/mailauth/nginx' && answerHeld(req, res)) return;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_MAX) {
      send(res, 413, {});
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > BODY_MAX) return;
    const id = nextId++;
    const timer = setTimeout(() => answer({ id, status: 503, headers: { 'Auth-Status': settings.tempfail }, body: '' }), ANSWER_TIMEOUT_MS);
    waiting.set(id, { res, timer });
    res.on('close', () => {
      clearTimeout(timer);
      waiting.delete(id);
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'x-mailauth-secret' && name !== 'authorization') headers[name] = value;
    const forward: FrontRequest = { id, path, headers, remoteAddress: req.socket.remoteAddress, body: Buffer.concat(chunks).toString('utf8') };
    parentPort!.postMessage(forward);
  });
});

function answer(a: FrontAnswer): void {
  if (a.hold) hold(a.hold, a.headers);
  const w = waiting.get(a.id);
  if (!w) return;
  waiting.delete(a.id);
  clearTimeout(w.timer);
  send(w.res, a.status, a.headers, a.body);
}

parentPort!.on('message', (m: FrontNews) => {
  if (m === 'close') {
    clearTimeout(usesTimer);
    sendUses();
    server.close(() => parentPort!.postMessage({ closed: true }));
    server.closeAllConnections();
  } else if ('forget' in m) forget(m.forget);
  else if ('written' in m) unwritten -= m.written;
  else answer(m);
});

// nginx opens a connection for every login: keep the accept queue long for reconnect storms.
server.on('error', (err) => parentPort!.postMessage({ error: err.message }));
server.listen({ host: settings.host, port: settings.port, backlog: 4096 }, () => {
  const { port } = server.address() as { port: number };
  parentPort!.postMessage({ listening: port });
});
