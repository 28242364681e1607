import type { Server } from 'node:http';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { createApp } from '../../src/http/app.ts';
import { freePort, startDovecot, startNginx, startSmtpSink, type DovecotInstance, type NginxInstance, type SmtpSink } from '../harness/index.ts';
import { startServices, type TestServices } from './services.ts';
import { startMailauthFront } from '../../src/mailauth/front.ts';

export const MAILAUTH_SECRET = 'stack-mailauth-secret-0123456789';

export interface MailStack {
  s: TestServices;
  url: string;
  /** Where nginx and Dovecot ask about mail logins: the public URL, or the front's own address. */
  mailauthUrl: string;
  dovecot: DovecotInstance;
  nginx: NginxInstance;
  sink: SmtpSink;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** nginx sends the PROXY header to Dovecot's `haproxy = yes` listeners, so Dovecot sees client addresses. */
  proxyProtocol?: boolean;
  /** Dovecot's doveadm HTTP API, and Postern configured to end sessions through it. */
  doveadm?: boolean;
  /** nginx and Dovecot ask Postern on a MAILAUTH_LISTEN address of its own, answered by its front thread, as in production. */
  front?: boolean;
  /** Dovecot posts every IMAP ID command to Postern (the event exporter of deploy/dovecot/conf.d/15-postern-client-id.conf). */
  clientIds?: boolean;
}

/**
 * startMailStack runs the whole chain on 127.0.0.1: an SMTP sink as the
 * relay, Dovecot (master user, Lua passdb asking Postern), Postern itself on
 * a real port, and nginx's mail proxy asking Postern about every login.
 */
export async function startMailStack(env: Record<string, string> = {}, opts: StackOptions = {}): Promise<MailStack> {
  const sink = await startSmtpSink();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const frontPort = opts.front ? await freePort() : undefined;
  // Where nginx and Dovecot ask about logins.
  const askUrl = frontPort ? `http://127.0.0.1:${frontPort}` : url;
  const doveadmApiKey = opts.doveadm ? `doveadm-${port}-key` : undefined;
  const dovecot = await startDovecot({ relay: { host: '127.0.0.1', port: sink.port }, postern: { url: askUrl, secret: MAILAUTH_SECRET }, haproxy: opts.proxyProtocol, doveadmApiKey, clientIds: opts.clientIds });
  const s = await startServices({
    ...(frontPort ? { MAILAUTH_LISTEN: `127.0.0.1:${frontPort}` } : {}),
    ...backendEnv(dovecot, MAILAUTH_SECRET),
    ...(opts.proxyProtocol ? { PROXIED_IMAP_PORT: String(dovecot.haproxyImapPort), PROXIED_SUBMISSION_PORT: String(dovecot.haproxySubmissionPort) } : {}),
    ...(doveadmApiKey ? { DOVEADM_URL: dovecot.doveadmUrl!, DOVEADM_API_KEY: doveadmApiKey } : {}),
    ...env,
  });
  const server: Server = await new Promise((resolve) => {
    const srv = createApp(s).listen(port, '127.0.0.1', () => resolve(srv));
  });
  const front = frontPort ? await startMailauthFront(s, { host: '127.0.0.1', port: frontPort }) : undefined;
  const nginx = await startNginx({ postern: { url: askUrl, secret: MAILAUTH_SECRET }, proxyProtocol: opts.proxyProtocol });
  return {
    s,
    url,
    mailauthUrl: askUrl,
    dovecot,
    nginx,
    sink,
    async stop() {
      await nginx.stop();
      await dovecot.stop();
      await front?.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await s.close().catch(() => {});
      await sink.stop();
    },
  };
}

/** backendEnv is the configuration that points Postern at a harness Dovecot. */
export function backendEnv(dovecot: DovecotInstance, secret: string): Record<string, string> {
  return {
    MAILAUTH_SECRET: secret,
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(dovecot.imapPort),
    SUBMISSION_HOST: '127.0.0.1',
    SUBMISSION_PORT: String(dovecot.submissionPort),
    MAIL_MASTER_USER: dovecot.masterUser,
    MAIL_MASTER_PASSWORD: dovecot.masterPassword,
  };
}

/** imapLogin connects like a mail client; it resolves to the open client or rejects with the server's answer. */
export async function imapLogin(port: number, user: string, pass: string): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, logger: false, auth: { user, pass } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** imapRefusal returns the text the server refused a login with (and fails if it was admitted). */
export async function imapRefusal(port: number, user: string, pass: string): Promise<string> {
  try {
    const client = await imapLogin(port, user, pass);
    await client.logout();
  } catch (err) {
    const e = err as { responseText?: string; message: string };
    return e.responseText ?? e.message;
  }
  throw new Error(`${user} was admitted`);
}

export function smtpTransport(port: number, user: string, pass: string) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, auth: { user, pass }, connectionTimeout: 10_000 });
}
