import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { mailauthSecretMatches } from './secret-header.ts';
import type { FrontAnswer, FrontRequest, FrontSettings } from './front.ts';

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
const ROUTES: Record<string, string> = { '/mailauth/nginx': 'GET', '/mailauth/dovecot': 'POST' };

const waiting = new Map<number, { res: http.ServerResponse; timer: NodeJS.Timeout }>();
let nextId = 1;

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body = ''): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0]!;
  if (ROUTES[path] !== req.method) return send(res, 404, {}, 'Not Found');
  const secret = typeof req.headers['x-mailauth-secret'] === 'string' ? req.headers['x-mailauth-secret'] : undefined;
  if (!mailauthSecretMatches(secret, settings.secret)) {
    const smtp = String(req.headers['auth-protocol'] ?? '').toLowerCase() === 'smtp';
    return send(res, 401, { 'Auth-Status': settings.tempfail, ...(smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {}) });
  }
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
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'x-mailauth-secret') headers[name] = value;
    const forward: FrontRequest = { id, path, headers, remoteAddress: req.socket.remoteAddress, body: Buffer.concat(chunks).toString('utf8') };
    parentPort!.postMessage(forward);
  });
});

function answer(a: FrontAnswer): void {
  const w = waiting.get(a.id);
  if (!w) return;
  waiting.delete(a.id);
  clearTimeout(w.timer);
  send(w.res, a.status, a.headers, a.body);
}

parentPort!.on('message', (m: FrontAnswer | 'close') => {
  if (m !== 'close') return answer(m);
  server.close(() => parentPort!.postMessage({ closed: true }));
  server.closeAllConnections();
});

// nginx opens a connection for every login: keep the accept queue long for reconnect storms.
server.on('error', (err) => parentPort!.postMessage({ error: err.message }));
server.listen({ host: settings.host, port: settings.port, backlog: 4096 }, () => {
  const { port } = server.address() as { port: number };
  parentPort!.postMessage({ listening: port });
});
