import type { RequestHandler } from 'express';
import { badRequest } from './errors.ts';

/** hasNul tells whether any string in a parsed query or form (nested or not) holds a NUL byte. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (depth > 5 || value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k.includes('\0') || hasNul(v, depth + 1));
}

/**
 * refuseNul answers 400 to any request whose path, query or form carries a
 * NUL byte. No address, password, folder or name Postern deals in has one,
 * and PostgreSQL refuses them in text, which would otherwise surface deep in
 * a handler as a 500.
 */
export const refuseNul: RequestHandler = (req, _res, next) => {
  if (/%00/i.test(req.originalUrl) || hasNul(req.query) || hasNul(req.body)) return next(badRequest());
  next();
};
