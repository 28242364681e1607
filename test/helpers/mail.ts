import { ImapFlow } from 'imapflow';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { startApp, type TestApp } from './app.ts';
import type { WebClient } from './client.ts';
import { startDovecot, startSmtpSink, type DovecotInstance, type SmtpSink } from '../harness/index.ts';

/**
 * MailWorld is Postern wired to a real Dovecot (opened with the master user)
 * and a real SMTP sink standing in for the relay. Tests seed mailboxes by
 * IMAP APPEND and read the backend's own state back as the master user.
 */
export interface MailWorld {
  t: TestApp;
  dovecot: DovecotInstance;
  sink: SmtpSink;
  /** env is what the app was configured with (for starting a second app on the same backend). */
  env: Record<string, string>;
  /** imap runs `fn` on a fresh master-user session on a mailbox, then logs out. */
  imap<T>(owner: string, fn: (c: ImapFlow) => Promise<T>): Promise<T>;
  /** seed appends a message to a folder (creating it when missing) and returns its UID. */
  seed(owner: string, message: Mail.Options | Buffer, folder?: string, flags?: string[]): Promise<number>;
  /** flagsOf reads a message's stored flags (\\Seen, \\Deleted, …) as the backend keeps them. */
  flagsOf(owner: string, folder: string, uid: number): Promise<string[]>;
  /** uidsIn lists the UIDs in a folder ([] when the folder does not exist). */
  uidsIn(owner: string, folder: string): Promise<number[]>;
  /** sourcesIn returns the raw messages of a folder. */
  sourcesIn(owner: string, folder: string): Promise<Buffer[]>;
  close(): Promise<void>;
}

/** build composes a raw message with nodemailer's composer. */
export function build(message: Mail.Options): Promise<Buffer> {
  return new MailComposer({ date: new Date(), ...message }).compile().build();
}

/** webmailEnv points webmail at a harness Dovecot (master user) and SMTP sink. */
export function webmailEnv(dovecot: DovecotInstance, sink: SmtpSink): Record<string, string> {
  return {
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(dovecot.imapPort),
    MAIL_MASTER_USER: dovecot.masterUser,
    MAIL_MASTER_PASSWORD: dovecot.masterPassword,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sink.port),
  };
}

/** startMailWorld starts Dovecot, the SMTP sink and the app configured against both. */
export async function startMailWorld(extraEnv: Record<string, string> = {}): Promise<MailWorld> {
  const sink = await startSmtpSink();
  const dovecot = await startDovecot({ relay: { host: '127.0.0.1', port: sink.port } });
  const env = { ...webmailEnv(dovecot, sink), ...extraEnv };
  const t = await startApp(env);
  const imap = async <T>(owner: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.imapPort,
      secure: false,
      logger: false,
      auth: { user: dovecot.masterUser, pass: dovecot.masterPassword, authzid: owner },
    });
    c.on('error', () => {});
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.logout().catch(() => {});
    }
  };
  const exists = async (c: ImapFlow, folder: string) => (await c.list()).some((b) => b.path === folder);
  return {
    t,
    dovecot,
    sink,
    env,
    imap,
    async seed(owner, message, folder = 'INBOX', flags = []) {
      const raw = Buffer.isBuffer(message) ? message : await build(message);
      return imap(owner, async (c) => {
        if (!(await exists(c, folder))) await c.mailboxCreate(folder);
        const res = await c.append(folder, raw, flags);
        if (!res || !res.uid) throw new Error('APPEND gave no UID');
        return res.uid;
      });
    },
    flagsOf: (owner, folder, uid) =>
      imap(owner, async (c) => {
        await c.mailboxOpen(folder, { readOnly: true });
        const m = await c.fetchOne(String(uid), { uid: true, flags: true }, { uid: true });
        if (!m) throw new Error(`no message ${uid} in ${folder}`);
        // \Recent belongs to sessions, not to the message: only stored flags count.
        return [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort();
      }),
    uidsIn: (owner, folder) =>
      imap(owner, async (c) => {
        if (!(await exists(c, folder))) return [];
        await c.mailboxOpen(folder, { readOnly: true });
        return ((await c.search({ all: true }, { uid: true })) || []).sort((a, b) => a - b);
      }),
    sourcesIn: (owner, folder) =>
      imap(owner, async (c) => {
        if (!(await exists(c, folder))) return [];
        const box = await c.mailboxOpen(folder, { readOnly: true });
        if (!box.exists) return [];
        const rows = await c.fetchAll('1:*', { uid: true, source: true });
        return rows.map((r) => r.source!);
      }),
    async close() {
      await t.s.mail.close();
      await t.close();
      await Promise.all([dovecot.stop(), sink.stop()]);
    },
  };
}

/**
 * postMultipart submits a form as a browser does with enctype="multipart/form-data":
 * the compose form carries its CSRF token in its action URL, since its body is read after the guards.
 */
export function postMultipart(c: WebClient, path: string, fields: Record<string, string | string[]>, files: Array<{ name: string; content: Buffer; type?: string }> = []) {
  let req = c.agent.post(`${path}${path.includes('?') ? '&' : '?'}_csrf=${encodeURIComponent(c.csrf)}`);
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) req = req.field(k, one);
  for (const f of files) req = req.attach('attachments', f.content, { filename: f.name, contentType: f.type ?? 'application/octet-stream' });
  return req;
}
