import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { badRequest } from '../../http/errors.ts';
import { contactsQuery } from './schema.ts';

/** contactHandlers answer the recipient fields' suggestions, as JSON, for the signed-in user only. */
export function contactHandlers(s: Services) {
  return {
    async suggest(req: Request, res: Response) {
      const query = contactsQuery.safeParse(req.query);
      if (!query.success) throw badRequest();
      const people = await s.mail.contacts.suggest(req.user!, query.data.q);
      res.setHeader('Cache-Control', 'private, no-store');
      res.json({ results: people });
    },
  };
}
