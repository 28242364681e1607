import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from '../log.ts';
import { databaseOutage } from '../db/errors.ts';
import { describeError, stackFrames } from '../log-redact.ts';
import { BackendError } from '../webmail/imap.ts';
import { MailboxError, type MailboxErrorKind } from '../webmail/errors.ts';

/** HttpError is an error a user may see: a status and a catalog key, never internals. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly key: string,
    readonly params: Record<string, string | number> = {},
    /** Seconds to tell the client to wait before trying again (Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(key);
  }
}

export const badRequest = (key = 'error.bad_request') => new HttpError(400, key);
export const forbidden = (key = 'error.forbidden') => new HttpError(403, key);
export const notFound = () => new HttpError(404, 'error.not_found');

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(notFound());

const MAILBOX_STATUS: Record<MailboxErrorKind, number> = { not_found: 404, forbidden: 403, bad_request: 400 };

/** Refusal is what the reader is shown for a failure, and what the log is told. */
interface Refusal {
  e: HttpError;
  /** A page of its own instead of the generic error page. */
  view?: { name: string; locals: Record<string, unknown> };
  log?: { level: 'warn' | 'error'; msg: string; fields: Record<string, unknown> };
}

/**
 * refusalFor maps every failure to a status and a message: refusals the
 * features raise (HttpError here, MailboxError from webmail), a mail
 * backend or database that is not there (503, try again), the body
 * parser's and CSRF's own refusals, and anything else as a fault (500)
 * whose stack goes only to the log. Expected refusals log one warn line.
 */
function refusalFor(err: unknown, req: Request): Refusal {
  const where = { method: req.method, path: req.path };
  if (err instanceof HttpError) {
    // An address nobody routes is not worth a line; everything else refused is.
    const quiet = err.status === 404 && err.key === 'error.not_found';
    return { e: err, log: quiet ? undefined : { level: 'warn', msg: 'request refused', fields: { ...where, status: err.status, error: err.key } } };
  }
  if (err instanceof MailboxError) {
    const e = new HttpError(MAILBOX_STATUS[err.kind], err.key);
    return { e, log: { level: 'warn', msg: 'request refused', fields: { ...where, status: e.status, error: err.key, detail: err.detail } } };
  }
  if (err instanceof BackendError) {
    // The mail backend's own page says what happened and points to the settings, which keep working.
    return {
      e: new HttpError(503, `mail.unavailable.${err.reason}`, {}, 30),
      view: { name: 'mail/unavailable', locals: { reason: err.reason } },
      log: { level: 'warn', msg: 'mail backend unavailable', fields: { ...where, reason: err.reason } },
    };
  }
  const outage = databaseOutage(err);
  if (outage) return { e: new HttpError(503, 'error.db_unavailable', {}, 60), log: { level: 'warn', msg: 'database unavailable', fields: { ...where, error: outage } } };
  const e = err as { code?: unknown; message?: unknown; status?: unknown } | undefined;
  if (e?.code === 'EBADCSRFTOKEN' || e?.message === 'invalid csrf token') {
    return { e: new HttpError(403, 'error.csrf'), log: { level: 'warn', msg: 'request refused', fields: { ...where, status: 403, error: 'error.csrf' } } };
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    // body-parser and friends: too large, malformed, too many fields.
    const refused = new HttpError(e.status, e.status === 413 ? 'error.too_large' : 'error.bad_request');
    return { e: refused, log: { level: 'warn', msg: 'request refused', fields: { ...where, status: e.status, error: refused.key } } };
  }
  return { e: new HttpError(500, 'error.internal'), log: { level: 'error', msg: 'request failed', fields: { ...where, error: describeError(err), stack: stackFrames(err) } } };
}

/**
 * errorHandler renders every failure as a page (or JSON for API callers):
 * known errors with their message, everything else as a generic 500 whose
 * details go only to the log.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { e, view, log: line } = refusalFor(err, req);
    if (line) log[line.level](line.msg, line.fields);
    if (res.headersSent) return;
    res.status(e.status);
    const retryAfter = e.retryAfter ?? (e.status === 429 && e.params.minutes ? Number(e.params.minutes) * 60 : undefined);
    if (retryAfter) res.set('Retry-After', String(retryAfter));
    const t = res.locals.t as ((k: string, p?: Record<string, string | number>) => string) | undefined;
    const message = t ? t(e.key, e.params) : e.key;
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({ error: e.key, message });
      return;
    }
    const title = t ? t(e.status === 503 ? 'error.unavailable_title' : 'error.title') : '';
    res.render(view?.name ?? 'error', { status: e.status, message, title, ...view?.locals }, (renderErr, html) => {
      if (renderErr) res.type('text/plain').send(message);
      else res.send(html);
    });
  };
}
