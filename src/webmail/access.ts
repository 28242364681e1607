import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Services } from '../services.ts';
import { forbidden } from '../http/errors.ts';
import { allows, type Action } from '../sharing/policy.ts';
import type { MailboxAccess } from '../sharing/service.ts';

/**
 * mailbox is the guard of every mailbox route: it reads the requesting
 * user's own grant from the store on each request (so a revoked grant is
 * refused at once) and admits only the levels that may take `action`.
 * Refusals are 403 with a message, whatever the form sent.
 */
export function mailbox(s: Services, action: Action): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const owner = typeof req.params.owner === 'string' ? req.params.owner : undefined;
      const access = await s.mail.sharing.access(req.user!, owner);
      if (!access) return next(forbidden('mail.no_access'));
      if (!allows(access.level, action)) return next(forbidden(`mail.forbidden.${action}`));
      res.locals.mailbox = access;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** accessOf reads what the mailbox guard decided for this request. */
export function accessOf(res: Response): MailboxAccess {
  return res.locals.mailbox as MailboxAccess;
}

/** baseUrl is where a mailbox's pages live: /mail for one's own, /mail/shared/<owner> for a shared one. */
export function baseUrl(access: MailboxAccess): string {
  return access.level === 'owner' ? '/mail' : `/mail/shared/${encodeURIComponent(access.owner.email)}`;
}
