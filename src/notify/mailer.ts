import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config/schema.ts';
import { smtpTls } from '../webmail/backend-tls.ts';

/** A message Postern writes itself: a code, a security notice. */
export interface OwnMessage {
  to: string;
  subject: string;
  text: string;
}

/** Mailer sends Postern's own mail; it throws when the relay does not take it. */
export interface Mailer {
  send(message: OwnMessage): Promise<void>;
}

/**
 * RelayMailer sends Postern's own mail through the SMTP relay webmail uses,
 * from MAIL_FROM (default no-reply@ the public host), under the service's name.
 */
export class RelayMailer implements Mailer {
  private readonly transport: Transporter;
  private readonly from: { name: string; address: string };

  constructor(config: Config) {
    const tls = smtpTls(config);
    this.transport = nodemailer.createTransport({
      host: config.SMTP_HOST,
      port: config.SMTP_PORT,
      secure: tls.secure,
      requireTLS: tls.requireStarttls,
      tls: tls.tls,
      auth: config.SMTP_USER ? { user: config.SMTP_USER, pass: config.SMTP_PASSWORD ?? '' } : undefined,
      // Someone is waiting on the page for this code.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
    const host = config.PUBLIC_URL ? new URL(config.PUBLIC_URL).hostname : 'localhost';
    this.from = { name: config.SERVICE_NAME, address: config.MAIL_FROM ?? `no-reply@${host}` };
  }

  async send(message: OwnMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
  }

  close(): void {
    this.transport.close();
  }
}
