import type { Request, Response } from 'express';
import type { Services } from '../services.ts';

/** homeHandlers serve the signed-in start page. */
export function homeHandlers(s: Services) {
  return {
    async index(req: Request, res: Response) {
      // The mailbox is home once a mail backend is configured; without one, this start page.
      if (s.mail.imap.configured) return res.redirect(303, '/mail');
      const phone = await s.phones.load(req.user!.id);
      res.render('home', { hasPhone: !!phone });
    },
  };
}
