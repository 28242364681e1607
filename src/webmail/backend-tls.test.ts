import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { makeSelfSignedCert, startDovecot, startSmtpSink, type DovecotInstance, type SmtpSink } from '../../test/harness/index.ts';
import { startServices, testConfig, type TestServices } from '../../test/helpers/services.ts';
import { BackendError } from './imap.ts';
import { Relay, SendError } from './smtp.ts';

// The backends' certificate is self-signed for mail.example.test, the way a
// private Dovecot or relay often is; Postern is given it as the CA.
const SERVERNAME = 'mail.example.test';
const OWNER = 'alice@example.test';

let dir: string;
let cert: { certFile: string; keyFile: string };
let dovecot: DovecotInstance;
let sink: SmtpSink;
const closers: Array<() => Promise<unknown> | void> = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-backend-tls-'));
  cert = makeSelfSignedCert(dir);
  sink = await startSmtpSink();
  dovecot = await startDovecot();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await dovecot?.stop();
  await sink?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Proxy sits between Postern and a backend and keeps what Postern sent, as someone on the wire would see it. */
interface Proxy {
  port: number;
  /** Bytes Postern sent, as seen by the proxy (decrypted when the proxy terminates TLS). */
  sent(): string;
  /** Connections Postern opened. */
  connections: number;
  /** TLS handshakes completed (TLS proxies only). */
  handshakes: number;
}

/** proxyTo forwards connections to `target`; with `tlsTerminate` it first completes a TLS handshake with the certificate. */
async function proxyTo(target: number, tlsTerminate = false): Promise<Proxy> {
  const chunks: Buffer[] = [];
  const proxy: Proxy = { port: 0, sent: () => Buffer.concat(chunks).toString('latin1'), connections: 0, handshakes: 0 };
  const forward = (socket: net.Socket) => {
    const upstream = net.connect(target, '127.0.0.1');
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  };
  const server = tlsTerminate
    ? tls.createServer({ key: fs.readFileSync(cert.keyFile), cert: fs.readFileSync(cert.certFile) }, (s) => {
        proxy.handshakes += 1;
        forward(s);
      })
    : net.createServer(forward);
  server.on('tlsClientError', () => {});
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    proxy.connections += 1;
    sockets.add(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  closers.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return proxy;
}

/** webmail starts Postern's services against the IMAP port given, with the master login and `env`. */
async function webmail(imapPort: number, env: Record<string, string> = {}): Promise<TestServices> {
  const s = await startServices({
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(imapPort),
    MAIL_MASTER_USER: dovecot.masterUser,
    MAIL_MASTER_PASSWORD: dovecot.masterPassword,
    ...env,
  });
  closers.push(async () => {
    await s.mail.close();
    await s.close();
  });
  return s;
}

const listInbox = (s: TestServices) => s.mail.imap.use(OWNER, async (c) => (await c.list()).map((b) => b.path));

describe('IMAP backend', () => {
  test('with IMAP_STARTTLS, a backend that does not offer STARTTLS is refused before any login crosses the wire', async () => {
    // The harness Dovecot has TLS off, as a backend whose STARTTLS an attacker stripped would look.
    const wire = await proxyTo(dovecot.imapPort);
    const required = await webmail(wire.port, { IMAP_STARTTLS: 'true' });
    await assert.rejects(listInbox(required), BackendError);
    assert.ok(wire.connections >= 1, 'Postern reached the backend');
    assert.doesNotMatch(wire.sent(), /AUTHENTICATE|LOGIN/i);
    assert.ok(!wire.sent().includes(dovecot.masterPassword));

    // Without the option the same backend is used in clear, which is what the option is for.
    const wireDefault = await proxyTo(dovecot.imapPort);
    const opportunistic = await webmail(wireDefault.port);
    assert.ok((await listInbox(opportunistic)).includes('INBOX'));
    assert.match(wireDefault.sent(), /AUTHENTICATE|LOGIN/i);
  });

  test('with IMAP_SECURE, Postern speaks TLS from the first byte and checks the certificate', async () => {
    const tlsFront = await proxyTo(dovecot.imapPort, true);
    const trusted = await webmail(tlsFront.port, { IMAP_SECURE: 'true', IMAP_TLS_CA_FILE: cert.certFile, IMAP_TLS_SERVERNAME: SERVERNAME });
    assert.ok((await listInbox(trusted)).includes('INBOX'));
    assert.ok(tlsFront.handshakes >= 1);

    const handshakes = tlsFront.handshakes;
    // The system's CAs do not vouch for this certificate, and it does not name 127.0.0.1.
    const untrusted = await webmail(tlsFront.port, { IMAP_SECURE: 'true' });
    await assert.rejects(listInbox(untrusted), BackendError);
    const wrongName = await webmail(tlsFront.port, { IMAP_SECURE: 'true', IMAP_TLS_CA_FILE: cert.certFile });
    await assert.rejects(listInbox(wrongName), BackendError);
    assert.equal(tlsFront.handshakes, handshakes, 'no refused connection got past the handshake');
  });
});

describe('SMTP relay', () => {
  const envelope = { from: OWNER, to: ['bob@example.net'] };
  const raw = (subject: string) => Buffer.from(`From: ${OWNER}\r\nTo: bob@example.net\r\nSubject: ${subject}\r\n\r\nhello\r\n`);

  /** tlsRelay runs an SMTP relay with the test certificate: STARTTLS offered, or TLS from the first byte. */
  async function tlsRelay(secure: boolean): Promise<{ port: number; received: Array<{ subject: string; secure: boolean }> }> {
    const received: Array<{ subject: string; secure: boolean }> = [];
    const server = new SMTPServer({
      secure,
      key: fs.readFileSync(cert.keyFile),
      cert: fs.readFileSync(cert.certFile),
      authOptional: true,
      disabledCommands: ['AUTH'],
      logger: false,
      onData(stream, session, callback) {
        let text = '';
        stream.on('data', (d: Buffer) => (text += d.toString('latin1')));
        stream.on('end', () => {
          received.push({ subject: text.match(/^Subject: (.*)\r$/m)?.[1] ?? '', secure: session.secure });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { port: (server.server.address() as net.AddressInfo).port, received };
  }

  function relay(env: Record<string, string>): Relay {
    const r = new Relay(testConfig({ SMTP_HOST: '127.0.0.1', ...env }));
    closers.push(() => r.close());
    return r;
  }

  test('with SMTP_REQUIRE_TLS, a relay that does not offer STARTTLS gets no message', async () => {
    const subject = `require tls ${Date.now()}`;
    await assert.rejects(relay({ SMTP_PORT: String(sink.port), SMTP_REQUIRE_TLS: 'true' }).send(envelope, raw(subject)), SendError);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!sink.messages.some((m) => m.parsed.subject === subject));
  });

  test('with SMTP_REQUIRE_TLS, the message goes over STARTTLS to a relay whose certificate checks out', async () => {
    const starttls = await tlsRelay(false);
    const subject = `starttls ${Date.now()}`;
    await relay({ SMTP_PORT: String(starttls.port), SMTP_REQUIRE_TLS: 'true', SMTP_TLS_CA_FILE: cert.certFile, SMTP_TLS_SERVERNAME: SERVERNAME }).send(envelope, raw(subject));
    assert.deepEqual(starttls.received, [{ subject, secure: true }]);
    await assert.rejects(relay({ SMTP_PORT: String(starttls.port), SMTP_REQUIRE_TLS: 'true' }).send(envelope, raw('untrusted')), SendError);
    assert.equal(starttls.received.length, 1);
  });

  test('with SMTP_SECURE, the relay is spoken to in TLS from the first byte', async () => {
    const implicit = await tlsRelay(true);
    const subject = `implicit tls ${Date.now()}`;
    await relay({ SMTP_PORT: String(implicit.port), SMTP_SECURE: 'true', SMTP_TLS_CA_FILE: cert.certFile, SMTP_TLS_SERVERNAME: SERVERNAME }).send(envelope, raw(subject));
    assert.deepEqual(implicit.received, [{ subject, secure: true }]);
  });
});
