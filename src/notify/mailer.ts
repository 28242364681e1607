import type { Transporter } from 'nodemailer';
import type { Config } from '../config/schema.ts';
import { relayTransport } from '../webmail/smtp.ts';

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
    this.transport = relayTransport(config, 20_000);
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
