import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config/schema.ts';
import { smtpTls } from './backend-tls.ts';

/** SendError means the relay did not take the message; nothing was sent. */
export class SendError extends Error {}

export type RelayConfig = Pick<Config, 'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_REQUIRE_TLS' | 'SMTP_TLS_CA_FILE' | 'SMTP_TLS_SERVERNAME' | 'SMTP_USER' | 'SMTP_PASSWORD'>;

/**
 * relayTransport connects to the configured SMTP relay, for webmail's mail
 * and Postern's own alike. Someone always waits on the page for the answer,
 * so connecting fails within seconds.
 */
export function relayTransport(config: RelayConfig, socketTimeout: number): Transporter {
  const tls = smtpTls(config);
  return nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: tls.secure,
    // Without STARTTLS on offer the message is not sent, rather than sent (with the relay login) in clear.
    requireTLS: tls.requireStarttls,
    tls: tls.tls,
    auth: config.SMTP_USER ? { user: config.SMTP_USER, pass: config.SMTP_PASSWORD ?? '' } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout,
  });
}

/**
 * Relay hands finished messages to the configured SMTP relay. The message
 * is built once (see compose.ts) and sent as raw bytes, so the copy kept in
 * Sent is exactly what went out.
 */
export class Relay {
  private readonly transport: Transporter;

  constructor(config: RelayConfig) {
    // A person is waiting on the page: fail within seconds, keep the draft, say so.
    this.transport = relayTransport(config, 30_000);
  }

  /** send submits raw bytes for the envelope's recipients; a refusal or an unreachable relay throws SendError. */
  async send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<void> {
    try {
      await this.transport.sendMail({ envelope, raw });
    } catch (err) {
      throw new SendError((err as Error)?.message ?? String(err));
    }
  }

  close(): void {
    this.transport.close();
  }
}
