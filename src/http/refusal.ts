import type { Request } from 'express';
import type { SendResult } from '../twofactor/codes.ts';
import { flash } from './context.ts';

/** refusalMessage names the catalog message for a code that could not be sent. */
export function refusalMessage(result: Exclude<SendResult, { ok: true }>, channel: 'sms' | 'email' = 'sms'): { key: string; params: Record<string, number> } {
  if (result.reason === 'send_failed') return { key: channel === 'email' ? 'email.send_failed' : 'sms.send_failed', params: {} };
  const seconds = result.retryAfterSeconds;
  return { key: result.reason === 'too_soon' ? 'sms.too_soon' : 'sms.too_many', params: { seconds, minutes: Math.ceil(seconds / 60) } };
}

/** flashRefusal tells the user, on the next page, why no code was sent. */
export function flashRefusal(req: Request, result: Exclude<SendResult, { ok: true }>, channel: 'sms' | 'email' = 'sms'): void {
  const m = refusalMessage(result, channel);
  flash(req, 'error', m.key, m.params);
}
