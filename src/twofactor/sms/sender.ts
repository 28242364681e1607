import type twilio from 'twilio';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import { maskPhone } from './phone.ts';

/** SmsSender delivers one text message or throws; a throw means nothing was sent. */
export interface SmsSender {
  send(to: string, body: string): Promise<void>;
}

/**
 * ConsoleSmsSender logs each message, number and full text, for local trials:
 * showing the code is its purpose, so config refuses it over https unless
 * SMS_CONSOLE_IN_PRODUCTION is set.
 */
export class ConsoleSmsSender implements SmsSender {
  constructor(private readonly log: Logger) {}

  async send(to: string, body: string): Promise<void> {
    this.log.info('sms', { provider: 'console', to, body });
  }
}

/** TwilioSmsSender sends through Twilio's Messages API. */
export class TwilioSmsSender implements SmsSender {
  // Twilio's SDK weighs some 20 MB in memory: it is loaded with the first message, and only where Twilio is the provider.
  private client?: Promise<twilio.Twilio>;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  async send(to: string, body: string): Promise<void> {
    const from = this.config.TWILIO_MESSAGING_SERVICE_SID
      ? { messagingServiceSid: this.config.TWILIO_MESSAGING_SERVICE_SID }
      : { from: this.config.TWILIO_FROM! };
    // The log names the number only masked: it is personal data, and the log is read by more people than the users table.
    const masked = maskPhone(to);
    try {
      this.client ??= import('./twilio-client.ts').then((m) => m.twilioClient(this.config));
      const msg = await (await this.client).messages.create({ to, body, ...from });
      this.log.info('sms', { provider: 'twilio', to: masked, sid: msg.sid, status: msg.status });
    } catch (err) {
      const e = err as { status?: number; code?: number; message?: string };
      // Some refusals quote the number ("The 'To' number +86… is not a valid phone number."), with or without the +.
      const error = e.message?.replaceAll(to, masked).replaceAll(to.slice(1), masked);
      this.log.warn('sms failed', { provider: 'twilio', to: masked, status: e.status, code: e.code, error });
      throw new Error('SMS provider failed');
    }
  }
}

export function createSmsSender(config: Config, log: Logger): SmsSender {
  return config.SMS_PROVIDER === 'twilio' ? new TwilioSmsSender(config, log) : new ConsoleSmsSender(log);
}
