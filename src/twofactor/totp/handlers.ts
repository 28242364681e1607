import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { flash } from '../../http/context.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { factorAddedResponse, factorContext } from '../../http/second-step.ts';
import { pendingSecret, startPending } from './pending.ts';
import { addForm, idParams } from './schema.ts';
import { keyGroups, matchTotp, otpauthUri, qrSvg } from './totp.ts';

/** MAX_AUTHENTICATORS is how many apps one user may add: enough for every phone and a spare, few enough to list. */
export const MAX_AUTHENTICATORS = 10;

const LIST = '/settings/security/app';

type Mode = 'settings' | 'enroll';

/**
 * totpHandlers are Settings → Security → Authenticator apps, and the same
 * setup on the enrolment page a forced user is held on. The secret shown as
 * a QR code waits, sealed, in the session; only a right code from the app
 * writes it to the database. The route table demands a fresh proof (or
 * enrolment) first; adding an app never elevates the session.
 */
export function totpHandlers(s: Services) {
  const action = (mode: Mode) => (mode === 'enroll' ? '/account-security/app' : '/settings/security/app/new');

  const renderNew = async (req: Request, res: Response, mode: Mode, secret: string, opts: { status?: number; error?: string; name?: string } = {}) => {
    const user = req.user!;
    const issuer = s.config.SERVICE_NAME;
    res.status(opts.status ?? 200).render('security/app-new', {
      mode,
      action: action(mode),
      // Drawn here and inlined: the secret never leaves for a QR service, and the CSP allows no remote image.
      qr: await qrSvg(otpauthUri({ issuer, account: user.email, secret })),
      key: keyGroups(secret),
      issuer,
      account: user.email,
      name: opts.name ?? req.t('totp.default_name'),
      error: opts.error ?? null,
    });
  };

  /** atLimit tells whether the user already has as many authenticators as allowed. */
  const atLimit = async (userId: string) => (await s.totp.list(userId)).length >= MAX_AUTHENTICATORS;

  /** show shows the QR code and key of the secret being set up; a reload shows the same one. */
  const show = (mode: Mode) => async (req: Request, res: Response) => {
    if (mode === 'settings' && (await atLimit(req.user!.id))) {
      flash(req, 'error', 'totp.limit', { max: MAX_AUTHENTICATORS });
      return res.redirect(303, LIST);
    }
    return renderNew(req, res, mode, startPending(req.session, s.secrets));
  };

  /** confirm checks a code from the app against the pending secret, through the regulator, and only then saves it. */
  const confirm = (mode: Mode) => async (req: Request, res: Response) => {
    const user = req.user!;
    const secret = pendingSecret(req.session, s.secrets);
    if (!secret) {
      // Nothing shown in this session, or shown too long ago: a new QR code, said plainly.
      flash(req, 'error', 'totp.expired');
      return res.redirect(303, action(mode));
    }
    const form = addForm.safeParse(req.body ?? {});
    if (!form.success) throw badRequest();
    const name = form.data.name;
    const existing = await s.totp.list(user.id);
    if (existing.length >= MAX_AUTHENTICATORS) {
      flash(req, 'error', 'totp.limit', { max: MAX_AUTHENTICATORS });
      return res.redirect(303, LIST);
    }
    const ctx = factorContext(req, s);
    // Counted with sign-in's authenticator codes: setting up an app is no way around their throttling.
    const outcome = await s.regulator.regulated({ kind: 'totp', account: user.email, ip: ctx.origin.ip, device: ctx.device }, async () => {
      const step = matchTotp({ secret, code: form.data.code, lastStep: null });
      return { ok: step !== null, step };
    });
    if (!outcome.allowed) {
      await s.audit.record({ event: 'login.throttled', userId: user.id, account: user.email, origin: ctx.origin, details: { step: 'totp', purpose: 'bind' } });
      const minutes = Math.max(1, Math.ceil(outcome.retryAfterSeconds / 60));
      res.set('Retry-After', String(outcome.retryAfterSeconds));
      return renderNew(req, res, mode, secret, { status: 429, error: req.t('login.throttled', { minutes }), name });
    }
    const step = outcome.result.step;
    if (step === null) return renderNew(req, res, mode, secret, { status: 400, error: req.t('totp.wrong_code'), name });
    // The same page submitted twice (a double click) must not add the same phone twice.
    if (existing.some((app) => s.secrets.openText(app.secretSealed) === secret)) {
      delete req.session.pendingTotp;
      flash(req, 'error', 'totp.already_added');
      return res.redirect(303, mode === 'enroll' ? '/' : LIST);
    }
    // The step just used is stored as used: the code typed here cannot also sign someone in.
    await s.totp.save({ userId: user.id, name, secretSealed: s.secrets.seal(secret), lastStep: step });
    delete req.session.pendingTotp;
    await factorAddedResponse(s, req, res, { kind: 'totp', details: { name }, message: 'totp.added', params: { name }, next: mode === 'enroll' ? '/' : LIST });
  };

  return {
    showEnroll: show('enroll'),
    confirmEnroll: confirm('enroll'),
    showNew: show('settings'),
    confirm: confirm('settings'),

    /** page lists the user's authenticators: name, when added, when last used. */
    async page(req: Request, res: Response) {
      const user = req.user!;
      const apps = await s.totp.list(user.id);
      res.render('security/app', {
        apps: apps.map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt })),
        max: MAX_AUTHENTICATORS,
        // With one app left under forced two-step, say before the click why Remove will be refused.
        lastRequired: apps.length === 1 && !(await s.flow.mayRemove(user, 'totp')),
      });
    },

    /** remove deletes one of the user's own authenticators, unless it is the last factor the policy demands. */
    async remove(req: Request, res: Response) {
      const user = req.user!;
      const params = idParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const apps = await s.totp.list(user.id);
      const app = apps.find((a) => a.id === params.data.id);
      if (!app) throw notFound();
      if (apps.length === 1 && !(await s.flow.mayRemove(user, 'totp'))) {
        flash(req, 'error', 'totp.remove_required');
        return res.redirect(303, LIST);
      }
      const removed = await s.totp.delete(user.id, app.id);
      if (!removed) throw notFound();
      await s.flow.factorRemoved(factorContext(req, s), 'totp', { name: removed.name });
      flash(req, 'ok', 'totp.removed', { name: removed.name });
      res.redirect(303, LIST);
    },
  };
}
