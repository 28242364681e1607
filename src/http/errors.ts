import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../log.ts';

/** HttpError is an error a user may see: a status and a catalog key, never internals. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly key: string,
    readonly params: Record<string, string | number> = {},
  ) {
    super(key);
  }
}

export const badRequest = (key = 'error.bad_request') => new HttpError(400, key);
export const forbidden = (key = 'error.forbidden') => new HttpError(403, key);
export const notFound = () => new HttpError(404, 'error.not_found');

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(notFound());

/**
 * errorHandler renders every failure as a page (or JSON for API callers):
 * known errors with their message, everything else as a generic 500 whose
 * details go only to the log.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err?.code === 'EBADCSRFTOKEN' || err?.message === 'invalid csrf token') e = new HttpError(403, 'error.csrf');
    else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
      // body-parser and friends: too large, malformed, too many fields.
      e = new HttpError(err.status, err.status === 413 ? 'error.too_large' : 'error.bad_request');
    } else {
      log.error('request failed', { method: req.method, path: req.path, error: String(err?.stack ?? err) });
      e = new HttpError(500, 'error.internal');
    }
    if (res.headersSent) return;
    res.status(e.status);
    if (e.status === 429 && e.params.minutes) res.set('Retry-After', String(Number(e.params.minutes) * 60));
    const t = res.locals.t as ((k: string, p?: Record<string, string | number>) => string) | undefined;
    const message = t ? t(e.key, e.params) : e.key;
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({ error: e.key, message });
      return;
    }
    res.render('error', { status: e.status, message }, (renderErr, html) => {
      if (renderErr) res.type('text/plain').send(message);
      else res.send(html);
    });
  };
}
