import type { Request } from 'express';
import type { SendResult } from '../twofactor/sms/codes.ts';
import { refusalMessage } from '../twofactor/sms/service.ts';
import { flash } from './context.ts';

/** flashRefusal tells the user, on the next page, why no code was sent. */
export function flashRefusal(req: Request, result: Exclude<SendResult, { ok: true }>): void {
  const m = refusalMessage(result);
  flash(req, 'error', m.key, m.params);
}
