import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request, type IncomingMessage, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { textOf, type WebClient } from './helpers/client.ts';
import { buildUser, PASSWORD, soon } from './helpers/factories.ts';
import { postMultipart, startMailWorld, type MailWorld } from './helpers/mail.ts';
import { UPLOAD_LIMITS } from '../src/http/uploads.ts';

/*
 * Uploads as an attacker would send them: large, slow, many at once, by
 * someone who may not send. Requests are written by hand so a test can stop
 * half-way through a body and see whether Postern answered before reading it.
 */

// Uploads go to <tmpdir>/postern-uploads; a private tmpdir lets this file see only its own.
const privateTmp = mkdtempSync(join(tmpdir(), 'postern-uploads-test-'));
process.env.TMPDIR = privateTmp;
const uploadDir = () => join(tmpdir(), 'postern-uploads');
const tempFiles = () => {
  try {
    return readdirSync(uploadDir(), { recursive: true });
  } catch {
    return [];
  }
};

const MB = 1024 * 1024;
const BOUNDARY = 'postern-test-boundary';

let w: MailWorld;
let server: Server;
let port: number;
before(async () => {
  w = await startMailWorld();
  server = await new Promise<Server>((resolve) => {
    const srv = w.t.app.listen(0, '127.0.0.1', () => resolve(srv));
  });
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await w?.close();
  rmSync(privateTmp, { recursive: true, force: true });
});

/** Upload is one compose post being written by hand: its response arrives whenever Postern answers. */
interface Upload {
  req: ClientRequest;
  response: Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>;
  /** sendFile writes the next planned attachment, chunk by chunk, honouring back-pressure. */
  sendFile(): Promise<void>;
  /** finish closes the form and the request. */
  finish(): void;
  abort(): void;
}

function head(c: WebClient): Record<string, string> {
  const sid = c.cookie('postern.sid');
  assert.ok(sid, 'signed in');
  return { cookie: `postern.sid=${sid}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
}

function field(name: string, value: string): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
}

function fileHead(n: number): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; filename="file-${n}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
}

const CLOSING = Buffer.from(`--${BOUNDARY}--\r\n`);

/** waitDrain waits until the socket takes more, or the request is gone. */
function waitDrain(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/**
 * openUpload starts a compose post with the form's text fields and a plan of
 * file sizes. It declares the exact Content-Length of that form, or
 * `declared` bytes, or none at all (chunked) when `declared` is null.
 */
function openUpload(c: WebClient, path: string, fields: Record<string, string>, files: number[], declared?: number | null): Upload {
  const parts = Object.entries(fields).map(([k, v]) => field(k, v));
  const exact = parts.reduce((n, p) => n + p.length, 0) + files.reduce((n, size, i) => n + fileHead(i + 1).length + size + 2, 0) + CLOSING.length;
  const headers: Record<string, string> = head(c);
  if (declared !== null) headers['content-length'] = String(declared ?? exact);
  const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers });
  req.on('error', () => {});
  const response = new Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
  });
  for (const p of parts) req.write(p);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let n = 0;
  return {
    req,
    response,
    async sendFile() {
      const size = files[n]!;
      n += 1;
      req.write(fileHead(n));
      for (let sent = 0; sent < size && !req.destroyed; sent += chunk.length) {
        if (!req.write(chunk.subarray(0, Math.min(chunk.length, size - sent)))) await waitDrain(req);
      }
      if (!req.destroyed) req.write('\r\n');
    },
    finish() {
      if (!req.destroyed) req.end(CLOSING);
    },
    abort() {
      req.destroy();
    },
  };
}

/** within resolves with the response, or fails if Postern has not answered in `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rise is how far memory rose above where it started: resident set, and bytes held in Buffers. */
interface Rise {
  rss: number;
  buffers: number;
}

/** peakRise samples memory while `fn` runs. Buffers are counted too: RSS that rose in an earlier test hides a new rise. */
async function peakRise(fn: () => Promise<void>): Promise<Rise> {
  const start = process.memoryUsage();
  const peak = { rss: start.rss, buffers: start.arrayBuffers };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.buffers = Math.max(peak.buffers, now.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  sample();
  return { rss: peak.rss - start.rss, buffers: peak.buffers - start.arrayBuffers };
}

const shown = (r: Rise) => `RSS +${(r.rss / MB).toFixed(1)} MB, Buffers +${(r.buffers / MB).toFixed(1)} MB`;

/** readOnlyDelegate: an owner shares their mailbox read-only with a signed-in delegate. */
async function readOnlyDelegate() {
  const owner = await buildUser(w.t.s);
  const delegate = await buildUser(w.t.s);
  const oc = await w.t.signIn(owner.email);
  await oc.get('/settings/security/verify?next=/settings/sharing');
  assert.equal((await oc.post('/settings/security/verify', { password: PASSWORD, next: '/settings/sharing' })).status, 303);
  await oc.get('/settings/sharing');
  assert.equal((await oc.post('/settings/sharing', { email: delegate.email, permission: 'read' })).status, 303);
  const dc = await w.t.signIn(delegate.email);
  await dc.get('/mail');
  return { owner, dc, compose: `/mail/shared/${encodeURIComponent(owner.email)}/compose?_csrf=${encodeURIComponent(dc.csrf)}` };
}

async function sender(): Promise<WebClient> {
  const user = await buildUser(w.t.s);
  const c = await w.t.signIn(user.email);
  await c.get('/mail/compose');
  return c;
}

describe('webmail uploads: memory', () => {
  test('six parallel 20 MB uploads a read-only delegate may not send raise memory by well under 100 MB', async () => {
    const { dc, compose } = await readOnlyDelegate();
    const rise = await peakRise(async () => {
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          const up = openUpload(dc, compose, { to: 'x@example.org', subject: 'flood' }, [20 * MB]);
          const sending = up.sendFile().then(() => up.finish());
          const res = await within(up.response, 30_000, 'flood');
          up.abort();
          await sending.catch(() => {});
          assert.equal(res.status, 403);
        }),
      );
    });
    console.log(`# 6 × 20 MB uploads refused to a read-only delegate: ${shown(rise)}`);
    assert.ok(rise.rss < 50 * MB && rise.buffers < 50 * MB, shown(rise));
  });

  test('20 MB files being uploaded by a sender go to disk, not memory', async () => {
    const c = await sender();
    const path = `/mail/compose?_csrf=${encodeURIComponent(c.csrf)}`;
    const uploads: Upload[] = [];
    const rise = await peakRise(async () => {
      // Everything but the closing boundary: the files are parsed, the handler has not run yet.
      await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const up = openUpload(c, path, { to: 'x@example.org', subject: `parallel ${i}` }, [20 * MB]);
          uploads.push(up);
          await up.sendFile();
        }),
      );
    });
    const refused = await Promise.all(uploads.map((u) => within(u.response, 1000, 'settled').then((r) => r.status, () => 'pending')));
    for (const u of uploads) u.abort();
    console.log(`# 6 × 20 MB parallel uploads by a sender (${UPLOAD_LIMITS.concurrent} read to disk, the rest 503): ${shown(rise)}`);
    assert.deepEqual(refused.filter((s) => s === 503).length, 6 - UPLOAD_LIMITS.concurrent);
    assert.ok(rise.rss < 50 * MB && rise.buffers < 50 * MB, shown(rise));
    await soon(async () => assert.deepEqual(tempFiles(), []), 3000);
  });
});

describe('webmail uploads: guards run before the body is read', () => {
  test('a read-only delegate’s upload is refused with 403 before its body is read, and nothing reaches the disk', async () => {
    const { dc, compose } = await readOnlyDelegate();
    const up = openUpload(dc, compose, { to: 'x@example.org', subject: 'no' }, [20 * MB]);
    void up.sendFile();
    const res = await within(up.response, 5000, 'read-only delegate upload');
    up.abort();
    assert.equal(res.status, 403);
    assert.match(textOf(res.text), /does not allow writing, replying or forwarding/);
    assert.deepEqual(tempFiles(), []);
  });

  test('an upload without a valid CSRF token is refused with 403 before its body is read', async () => {
    const c = await sender();
    for (const path of ['/mail/compose', '/mail/compose?_csrf=forged']) {
      const before = w.sink.messages.length;
      const up = openUpload(c, path, { _csrf: c.csrf, to: 'x@example.org', subject: 'csrf' }, [20 * MB]);
      void up.sendFile();
      const res = await within(up.response, 5000, path);
      up.abort();
      assert.equal(res.status, 403, path);
      assert.match(textOf(res.text), /This form has expired/);
      assert.equal(w.sink.messages.length, before);
    }
    assert.deepEqual(tempFiles(), []);
  });
});

describe('webmail uploads: size and concurrency caps', () => {
  test('a declared body over the total cap is refused with 413 at once', async () => {
    const c = await sender();
    const up = openUpload(c, `/mail/compose?_csrf=${encodeURIComponent(c.csrf)}`, { to: 'x@example.org', subject: 'too big' }, [UPLOAD_LIMITS.total + 4 * MB]);
    void up.sendFile();
    const res = await within(up.response, 5000, 'declared too large');
    up.abort();
    assert.equal(res.status, 413);
    assert.match(textOf(res.text), /The attachments are too large: up to 10 files, 20 MB each and 25 MB in all/);
    assert.deepEqual(tempFiles(), []);
  });

  test('a multipart body of unknown length is refused with 411 before it is read', async () => {
    const c = await sender();
    const up = openUpload(c, `/mail/compose?_csrf=${encodeURIComponent(c.csrf)}`, { to: 'x@example.org', subject: 'chunked' }, [20 * MB], null);
    void up.sendFile();
    const res = await within(up.response, 5000, 'chunked');
    up.abort();
    assert.equal(res.status, 411);
    assert.deepEqual(tempFiles(), []);
  });

  test('files adding up past the total cap are refused with 413 and leave no temp files', async () => {
    const c = await sender();
    const before = w.sink.messages.length;
    // Each file is under the per-file cap and the form under the declared-length check; together they pass the total.
    const each = UPLOAD_LIMITS.total / 2 + 512 * 1024;
    const up = openUpload(c, `/mail/compose?_csrf=${encodeURIComponent(c.csrf)}`, { to: 'x@example.org', subject: 'adds up' }, [each, each]);
    await up.sendFile();
    await up.sendFile();
    up.finish();
    const res = await within(up.response, 20_000, 'chunked too large');
    assert.equal(res.status, 413);
    assert.match(textOf(res.text), /25 MB in all/);
    await soon(async () => assert.deepEqual(tempFiles(), []), 2000);
    assert.equal(w.sink.messages.length, before);
  });

  test('uploads beyond the concurrent cap get 503 with Retry-After before their body is read', async () => {
    const c = await sender();
    const path = `/mail/compose?_csrf=${encodeURIComponent(c.csrf)}`;
    const busy: Upload[] = [];
    for (let i = 0; i < UPLOAD_LIMITS.concurrent; i++) {
      const up = openUpload(c, path, { to: 'x@example.org', subject: `slow ${i}` }, [20 * MB]);
      busy.push(up);
      // Only part of the file: the upload stays in flight.
      up.req.write(fileHead(1));
      up.req.write(Buffer.alloc(MB, 0x61));
    }
    await soon(async () => assert.equal(tempFiles().length, UPLOAD_LIMITS.concurrent), 3000);
    const extra = openUpload(c, path, { to: 'x@example.org', subject: 'one too many' }, [5 * MB]);
    void extra.sendFile();
    const res = await within(extra.response, 5000, 'upload over the cap');
    extra.abort();
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '60');
    assert.match(textOf(res.text), /Too many messages with attachments are being sent right now/);
    for (const up of busy) up.abort();
    await soon(async () => assert.deepEqual(tempFiles(), []), 3000);

    // The aborted uploads gave their places back.
    await c.get('/mail/compose');
    const ok = await postMultipart(c, '/mail/compose', { to: 'friend@example.org', subject: 'After the rush', body: 'x' }, [{ name: 'a.txt', content: Buffer.from('intact'), type: 'text/plain' }]);
    assert.equal(ok.status, 303);
    assert.equal((await w.sink.waitFor((m) => m.parsed.subject === 'After the rush')).parsed.attachments[0]?.content.toString(), 'intact');
    // Removed once the response is done, a moment after the client has read it.
    await soon(async () => assert.deepEqual(tempFiles(), []), 2000);
  });
});
