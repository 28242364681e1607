import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Services } from '../services.ts';
import { elevated, session } from '../http/guards.ts';
import { HttpError } from '../http/errors.ts';
import { sharingHandlers } from '../sharing/handlers.ts';
import { mailbox } from './access.ts';
import { webmailHandlers } from './handlers.ts';
import { BackendError } from './imap.ts';

/**
 * webmailRoutes serve the mailbox pages: reading, sending and shared
 * mailboxes. Every mailbox route runs `session` and then `mailbox(action)`,
 * which checks the requesting user's own grant for that action on each
 * request: view, flag (read/unread), delete, move, send.
 */
export function webmailRoutes(s: Services): express.Router {
  const r = express.Router();
  const mail = webmailHandlers(s);
  const sh = sharingHandlers(s);

  // Settings → Advanced → Shared mailbox. Sharing and changing a grant need a fresh second factor.
  r.get('/settings/sharing', session, h(sh.page));
  r.post('/settings/sharing', elevated, h(sh.add));
  r.post('/settings/sharing/:id', elevated, h(sh.change));
  r.post('/settings/sharing/:id/revoke', session, h(sh.revoke));

  // One's own mailbox at /mail, a mailbox shared with one at /mail/shared/<owner address>.
  for (const base of ['/mail/shared/:owner', '/mail']) {
    r.get(`${base}`, session, mailbox(s, 'view'), h(mail.list));
    r.get(`${base}/folder/:folder`, session, mailbox(s, 'view'), h(mail.list));
    r.get(`${base}/folder/:folder/:uid`, session, mailbox(s, 'view'), h(mail.read));
    r.get(`${base}/folder/:folder/:uid/attachments/:index`, session, mailbox(s, 'view'), h(mail.attachment));
    r.post(`${base}/folder/:folder/:uid/seen`, session, mailbox(s, 'flag'), h(mail.seen));
    r.post(`${base}/folder/:folder/:uid/delete`, session, mailbox(s, 'delete'), h(mail.remove));
    r.post(`${base}/folder/:folder/:uid/move`, session, mailbox(s, 'move'), h(mail.move));
    r.get(`${base}/compose`, session, mailbox(s, 'send'), h(mail.showCompose));
    r.post(`${base}/compose`, session, mailbox(s, 'send'), h(mail.send));
  }
  return r;
}

/**
 * h passes a handler's rejection on; a mail backend that is down, slow or
 * refusing shows its own page (503) with the way to settings, which keep
 * working without it.
 */
function h(fn: (req: Request, res: Response) => unknown): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      await fn(req, res);
    } catch (err) {
      if (err instanceof HttpError || !isBackendFailure(err)) return next(err);
      if (res.headersSent) return;
      const reason = err instanceof BackendError ? err.reason : 'unavailable';
      res.status(503).set('Retry-After', '30').render('mail/unavailable', { reason });
    }
  };
}

/** isBackendFailure tells a lost or refused IMAP connection apart from a bug. */
function isBackendFailure(err: unknown): boolean {
  if (err instanceof BackendError) return true;
  const e = err as { code?: string; message?: string } | undefined;
  return !!e && (/^(E[A-Z]+|NoConnection|ETIMEOUT|ClosedAfterConnect.*|CONNECT_TIMEOUT|GREETING_TIMEOUT)$/.test(e.code ?? '') || /connection (not available|closed)|socket|timed? ?out/i.test(e.message ?? ''));
}
