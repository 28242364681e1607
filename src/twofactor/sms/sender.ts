import twilio from 'twilio';
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

/**
 * BaseUrlRequestClient points the Twilio SDK, whose host is fixed, at another
 * base URL (a Twilio-compatible proxy, or a local fake in tests).
 */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    super({ timeout: timeoutMs, keepAlive: true });
  }

  override request<T>(opts: Parameters<twilio.RequestClient['request']>[0]) {
    const uri = new URL(opts.uri);
    const target = new URL(uri.pathname + uri.search, this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/');
    return super.request<T>({ ...opts, uri: target.toString(), timeout: opts.timeout ?? this.timeoutMs } as never) as never;
  }
}

/** TwilioSmsSender sends through Twilio's Messages API. */
export class TwilioSmsSender implements SmsSender {
  private readonly client: twilio.Twilio;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    const httpClient = new BaseUrlRequestClient(config.TWILIO_API_BASE_URL, config.TWILIO_TIMEOUT_MS);
    this.client = twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, { httpClient, timeout: config.TWILIO_TIMEOUT_MS });
  }

  async send(to: string, body: string): Promise<void> {
    const from = this.config.TWILIO_MESSAGING_SERVICE_SID
      ? { messagingServiceSid: this.config.TWILIO_MESSAGING_SERVICE_SID }
      : { from: this.config.TWILIO_FROM! };
    // The log names the number only masked: it is personal data, and the log is read by more people than the users table.
    const masked = maskPhone(to);
    try {
      const msg = await this.client.messages.create({ to, body, ...from });
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
