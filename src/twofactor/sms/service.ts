import type { AuditLog, Origin } from '../../audit/log.ts';
import { translate, type Locale } from '../../i18n/index.ts';
import { CODE_TTL_SECONDS, type CodePurpose, type SendResult, type SmsCodes } from './codes.ts';
import { maskPhone } from './phone.ts';

/**
 * SmsVerification sends a code in the user's language and records the
 * outcome in the audit log: sent, refused by a cap, or failed at the provider.
 */
export class SmsVerification {
  constructor(
    private readonly codes: SmsCodes,
    private readonly audit: AuditLog,
    private readonly serviceName: string,
  ) {}

  async send(opts: { userId: string; account: string; phone: string; purpose: CodePurpose; origin: Origin; locale: Locale; replaces?: string }): Promise<SendResult> {
    const text = (code: string) =>
      translate(opts.locale, 'sms.text', { service: this.serviceName, code, minutes: CODE_TTL_SECONDS / 60 });
    const result = await this.codes.send({ userId: opts.userId, phone: opts.phone, purpose: opts.purpose, ip: opts.origin.ip, text, replaces: opts.replaces });
    const details = { purpose: opts.purpose, phone: maskPhone(opts.phone) };
    await this.audit.record({
      event: result.ok ? 'sms.sent' : result.reason === 'send_failed' ? 'sms.failed' : 'sms.refused',
      userId: opts.userId,
      account: opts.account,
      origin: opts.origin,
      details: result.ok ? details : { ...details, reason: result.reason },
    });
    return result;
  }

  verify(...args: Parameters<SmsCodes['verify']>) {
    return this.codes.verify(...args);
  }
}

/** refusalMessage names the catalog message for a code that could not be sent. */
export function refusalMessage(result: Exclude<SendResult, { ok: true }>): { key: string; params: Record<string, number> } {
  if (result.reason === 'send_failed') return { key: 'sms.send_failed', params: {} };
  const seconds = result.retryAfterSeconds;
  return { key: result.reason === 'too_soon' ? 'sms.too_soon' : 'sms.too_many', params: { seconds, minutes: Math.ceil(seconds / 60) } };
}
