import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { originOf } from '../http/origin.ts';
import { flash } from '../http/context.ts';
import { reveal, takeReveal } from '../http/reveal.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { clientSettings } from '../mailclient/settings.ts';
import { mobileconfig } from '../mailclient/mobileconfig.ts';
import { AppPasswordError, MAX_PER_USER } from './service.ts';
import type { Scope } from './repo.ts';
import { createForm, idParams, profileForm } from './schema.ts';
import { groups, normalizeSecret } from './secret.ts';

/** appPasswordHandlers are Settings → Mailbox password → Client-specific passwords. */
export function appPasswordHandlers(s: Services) {
  const renderList = async (req: Request, res: Response, status = 200, error: string | null = null, typed = '') => {
    const user = req.user!;
    res.status(status).render('apppasswords/index', {
      passwords: await s.appPasswords.list(user.id),
      max: MAX_PER_USER,
      hasPhone: await s.flow.hasFactor(user),
      settings: clientSettings(s.config),
      error,
      typed,
    });
  };

  return {
    list: (req: Request, res: Response) => renderList(req, res),

    /**
     * create makes a password and hands it, sealed in the session, to the page
     * that shows it once: reloading that page, or posting the form again
     * with the back button, makes no second password.
     */
    async create(req: Request, res: Response) {
      const user = req.user!;
      const form = createForm.safeParse(req.body ?? {});
      if (!form.success) return renderList(req, res, 400, req.t('apppasswords.name_required'));
      const scopes: Scope[] = [];
      if (form.data.imap) scopes.push('imap');
      if (form.data.smtp) scopes.push('smtp');
      const expiresAt = form.data.expires === 'never' ? undefined : new Date(Date.now() + Number(form.data.expires) * 86400_000);
      try {
        const { secret, row } = await s.appPasswords.create(user, { name: form.data.name, scopes, expiresAt }, originOf(req));
        reveal(req, s.secrets, 'apppassword', { secret, id: row.id });
        res.redirect(303, '/settings/app-passwords/new');
      } catch (err) {
        if (err instanceof AppPasswordError) return renderList(req, res, 400, req.t(err.key), form.data.name);
        throw err;
      }
    },

    /** showCreated shows a new password once; afterwards only its name is listed. */
    async showCreated(req: Request, res: Response) {
      const shown = takeReveal<{ secret: string; id: string }>(req, s.secrets, 'apppassword');
      const row = shown && (await s.appPasswords.list(req.user!.id)).find((p) => p.id === shown.id);
      if (!shown || !row) return res.redirect(303, '/settings/app-passwords');
      res.set('Cache-Control', 'no-store');
      res.render('apppasswords/created', { secret: groups(shown.secret), plain: shown.secret, row, settings: clientSettings(s.config) });
    },

    /** profile returns the Apple profile for a password the browser still holds (only the once-only page has it). */
    async profile(req: Request, res: Response) {
      const user = req.user!;
      const form = profileForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const found = await s.appPasswords.find(user.id, form.data.password);
      if (!found || found.id !== form.data.id) throw notFound();
      const body = mobileconfig({
        settings: clientSettings(s.config),
        email: user.email,
        displayName: user.displayName,
        password: normalizeSecret(form.data.password),
        serviceName: s.config.SERVICE_NAME,
        identifier: `postern.${clientSettings(s.config).host}.${found.id}`,
      });
      res
        .set('Cache-Control', 'no-store')
        .set('Content-Disposition', `attachment; filename="mail-${found.id.slice(0, 8)}.mobileconfig"`)
        .type('application/x-apple-aspen-config')
        .send(body);
    },

    async revoke(req: Request, res: Response) {
      const params = idParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const row = await s.appPasswords.revoke(req.user!, params.data.id, originOf(req));
      if (!row) throw notFound();
      flash(req, 'ok', 'apppasswords.revoked', { name: row.name });
      res.redirect(303, '/settings/app-passwords');
    },

    async revokeAll(req: Request, res: Response) {
      const n = await s.appPasswords.revokeAll(req.user!, originOf(req));
      flash(req, 'ok', 'apppasswords.revoked_all', { count: n });
      res.redirect(303, '/settings/app-passwords');
    },
  };
}
