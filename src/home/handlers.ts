import type { Request, Response } from 'express';
import type { Services } from '../services.ts';

/** homeHandlers serve the signed-in start page. */
export function homeHandlers(s: Services) {
  return {
    async index(req: Request, res: Response) {
      const phone = await s.phones.load(req.user!.id);
      res.render('home', { hasPhone: !!phone });
    },
  };
}
