import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { flash } from '../../http/context.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { factorAddedResponse, factorContext } from '../../http/second-step.ts';
import { bindForm, idParams } from './schema.ts';

const LIST = '/settings/security/hardware';

type Mode = 'settings' | 'enroll';

/**
 * hardwareHandlers are Settings → Security → Hardware tokens, and the same
 * binding on the enrolment page a forced user is held on. The route table
 * demands a fresh proof (or enrolment) first; binding never elevates the
 * session. Every failure to bind reads the same, whatever was wrong.
 */
export function hardwareHandlers(s: Services) {
  const action = (mode: Mode) => (mode === 'enroll' ? '/account-security/hardware' : '/settings/security/hardware/new');

  const renderNew = (res: Response, mode: Mode, opts: { status?: number; error?: string; serial?: string } = {}) => {
    res.status(opts.status ?? 200).render('security/hardware-new', { mode, action: action(mode), serial: opts.serial ?? '', error: opts.error ?? null });
  };

  /** bind checks the serial number and code through the service (and its regulator), then records the factor added. */
  const bind = (mode: Mode) => async (req: Request, res: Response) => {
    const form = bindForm.safeParse(req.body ?? {});
    if (!form.success) throw badRequest();
    const ctx = factorContext(req, s);
    const result = await s.hardwareTokens.bind(ctx, form.data.serial, form.data.code);
    if (!result.ok) {
      if (result.reason === 'throttled') {
        res.set('Retry-After', String(result.retryAfterSeconds));
        const minutes = Math.max(1, Math.ceil(result.retryAfterSeconds / 60));
        return renderNew(res, mode, { status: 429, error: req.t('login.throttled', { minutes }), serial: form.data.serial });
      }
      return renderNew(res, mode, { status: 400, error: req.t('hardware.failed'), serial: form.data.serial });
    }
    const serial = result.token.serial;
    await factorAddedResponse(s, req, res, { kind: 'hardware', details: { serial }, message: 'hardware.added', params: { serial }, next: mode === 'enroll' ? '/' : LIST });
  };

  return {
    showEnroll: (_req: Request, res: Response) => renderNew(res, 'enroll'),
    bindEnroll: bind('enroll'),
    showNew: (_req: Request, res: Response) => renderNew(res, 'settings'),
    bind: bind('settings'),

    /** page lists the user's bound tokens: serial number, model, when added, when last used. */
    async page(req: Request, res: Response) {
      const user = req.user!;
      const tokens = await s.hardwareTokens.activeFor(user.id);
      res.render('security/hardware', {
        tokens: tokens.map(({ id, serial, manufacturer, model, activatedAt, lastUsedAt }) => ({ id, serial, manufacturer, model, activatedAt, lastUsedAt })),
        // With one token left under forced two-step, say before the click why Remove will be refused.
        lastRequired: tokens.length === 1 && !(await s.flow.mayRemove(user, 'hardware')),
      });
    },

    /** remove withdraws one of the user's own tokens, unless it is the last factor the policy demands. */
    async remove(req: Request, res: Response) {
      const user = req.user!;
      const params = idParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const tokens = await s.hardwareTokens.activeFor(user.id);
      if (!tokens.some((t) => t.id === params.data.id)) throw notFound();
      if (tokens.length === 1 && !(await s.flow.mayRemove(user, 'hardware'))) {
        flash(req, 'error', 'hardware.remove_required');
        return res.redirect(303, LIST);
      }
      const removed = await s.hardwareTokens.remove(factorContext(req, s), params.data.id);
      if (!removed) throw notFound();
      flash(req, 'ok', 'hardware.removed', { serial: removed.serial });
      res.redirect(303, LIST);
    },
  };
}
