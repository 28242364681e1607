import twilio from 'twilio';
import type { Config } from '../../config/schema.ts';

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

/** twilioClient is the SDK's client for the configured account, at the configured base URL. */
export function twilioClient(config: Config): twilio.Twilio {
  const httpClient = new BaseUrlRequestClient(config.TWILIO_API_BASE_URL, config.TWILIO_TIMEOUT_MS);
  return twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, { httpClient, timeout: config.TWILIO_TIMEOUT_MS });
}
