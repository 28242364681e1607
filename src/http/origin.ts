import type { Request } from 'express';
import type { Origin } from '../audit/log.ts';

/** originOf reads the client address (as trusted by TRUST_PROXY) and user agent. */
export function originOf(req: Request): Origin {
  return { ip: req.ip ?? req.socket.remoteAddress ?? 'unknown', userAgent: req.get('user-agent') ?? '' };
}
