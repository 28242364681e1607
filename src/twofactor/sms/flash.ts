import type { Request } from 'express';
import { flash } from '../../http/context.ts';
import type { SendResult } from './codes.ts';
import { refusalMessage } from './service.ts';

/** flashRefusal tells the user, on the next page, why no code was sent. */
export function flashRefusal(req: Request, result: Exclude<SendResult, { ok: true }>): void {
  const m = refusalMessage(result);
  flash(req, 'error', m.key, m.params);
}
