import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { originOf } from '../http/origin.ts';
import { flash } from '../http/context.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { PERMISSIONS } from './policy.ts';
import { SharingError } from './service.ts';
import { changeForm, grantForm, grantParams } from './schema.ts';

/** sharingHandlers are Settings → Advanced → Shared mailbox: grants, their changes, and what delegates did. */
export function sharingHandlers(s: Services) {
  const sharing = s.mail.sharing;

  const render = async (req: Request, res: Response, status = 200, error: string | null = null, typed = { email: '', permission: 'read' }) => {
    const user = req.user!;
    const [grants, sharedWithMe, activity] = await Promise.all([sharing.list(user), sharing.sharedWith(user), sharing.activity(user, 50)]);
    res.status(status).render('sharing/index', { grants, sharedWithMe, activity, permissions: PERMISSIONS, elevated: s.flow.isFresh(req.session.auth, await s.flow.proofNeeded(req.user!, 'sensitive')), error, typed });
  };

  return {
    page: (req: Request, res: Response) => render(req, res),

    async add(req: Request, res: Response) {
      const form = grantForm.safeParse(req.body ?? {});
      const typed = { email: String(req.body?.email ?? '').slice(0, 254), permission: String(req.body?.permission ?? 'read') };
      if (!form.success) return render(req, res, 400, req.t('sharing.invalid'), typed);
      try {
        const g = await sharing.grant(req.user!, form.data.email, form.data.permission, originOf(req), req.locale);
        flash(req, 'ok', 'sharing.added', { email: g.email, permission: req.t(`sharing.permission.${g.permission}`) });
      } catch (err) {
        if (err instanceof SharingError) return render(req, res, 400, req.t(err.key), typed);
        throw err;
      }
      res.redirect(303, '/settings/sharing');
    },

    async change(req: Request, res: Response) {
      const params = grantParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const form = changeForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const g = await sharing.change(req.user!, params.data.id, form.data.permission, originOf(req));
      if (!g) throw notFound();
      flash(req, 'ok', 'sharing.changed', { email: g.email, permission: req.t(`sharing.permission.${g.permission}`) });
      res.redirect(303, '/settings/sharing');
    },

    async revoke(req: Request, res: Response) {
      const params = grantParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const email = await sharing.revoke(req.user!, params.data.id, originOf(req));
      if (email === undefined) throw notFound();
      flash(req, 'ok', 'sharing.revoked', { email });
      res.redirect(303, '/settings/sharing');
    },
  };
}
