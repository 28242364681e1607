import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { flash } from '../../http/context.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { noticeParams } from './schema.ts';

/** adminNoticeHandlers are Administration → Notices: how the outbox stands, and retrying a failed notice. */
export function adminNoticeHandlers(s: Services) {
  return {
    async page(_req: Request, res: Response) {
      res.render('admin/notices', await s.notices.summary());
    },

    /** retry queues one failed notice again, for the worker to send at once. */
    async retry(req: Request, res: Response) {
      const params = noticeParams.safeParse(req.params);
      if (!params.success) throw badRequest();
      const notice = await s.notices.retry(params.data.id, req.user!, originOf(req));
      if (!notice) throw notFound();
      flash(req, 'ok', 'notices.retried', { to: notice.recipient });
      res.redirect(303, '/admin/notices');
    },
  };
}
