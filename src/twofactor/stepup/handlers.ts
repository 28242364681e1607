import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import type { Need } from '../../auth/flow.ts';
import { flash, regenerate, safeNext } from '../../http/context.ts';
import { badRequest } from '../../http/errors.ts';
import { heldFor, takeHeld } from '../../http/held-form.ts';
import { flashRefusal } from '../../http/refusal.ts';
import { factorContext, proofError, proofStatus, stepModel } from '../../http/second-step.ts';
import type { FactorKind } from '../factor.ts';
import { stepUpForm, verifyQuery } from '../schema.ts';
import { assertForm } from '../webauthn/schema.ts';
import { takeChallenge } from '../webauthn/challenge.ts';

/**
 * stepUpHandlers are operation protection's verify page: a fresh check with
 * any factor the user has (chosen on the page), or the password where that
 * is enough. Afterwards the user returns to what they were doing, and a form
 * they had posted is offered again, filled in.
 */
export function stepUpHandlers(s: Services) {
  const pendingStepUp = (req: Request, factor: FactorKind) => {
    const p = req.session.pendingCode;
    return p?.purpose === 'stepup' && p.channel === s.factors.get(factor).channel ? p : undefined;
  };

  const firstFactor = async (req: Request) => {
    const infos = await s.flow.factorsOf(req.user!);
    return infos.length ? s.flow.firstFactor(req.user!, infos) : undefined;
  };

  const render = async (req: Request, res: Response, opts: { next: string; need: Need; factor?: FactorKind }, status = 200, error: string | null = null) => {
    const user = req.user!;
    const [infos, needed] = await Promise.all([s.flow.factorsOf(user), s.flow.proofNeeded(user, opts.need)]);
    const factor = opts.factor && infos.some((i) => i.kind === opts.factor) ? opts.factor : infos.length ? s.flow.firstFactor(user, infos) : undefined;
    const model = factor ? await stepModel(s, req, infos, factor, pendingStepUp(req, factor)?.challengeId) : null;
    res.status(status).render('security/verify', {
      ...opts,
      model,
      // The password is offered where it is enough; once a factor exists, factor changes need the factor.
      passwordAllowed: needed === 'password',
      error,
    });
  };

  const query = (req: Request) => {
    const q = verifyQuery.safeParse(req.query);
    const data = q.success ? q.data : {};
    return { next: safeNext(data.next, '/settings/security'), need: data.need ?? 'sensitive', factor: data.factor } as { next: string; need: Need; factor?: FactorKind };
  };

  const verifyUrl = (o: { next: string; need: Need; factor?: FactorKind }) => `/settings/security/verify?${new URLSearchParams({ next: o.next, need: o.need, ...(o.factor ? { factor: o.factor } : {}) })}`;

  return {
    showVerify: (req: Request, res: Response) => render(req, res, query(req)),

    /** sendVerify sends a step-up code by the chosen factor (text or email). */
    async sendVerify(req: Request, res: Response) {
      const form = stepUpForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const factorKind = form.data.factor ?? (await firstFactor(req));
      if (!factorKind) throw badRequest();
      const opts = { next: safeNext(form.data.next, '/settings/security'), need: form.data.need ?? 'sensitive', factor: factorKind } as const;
      const factor = s.factors.get(opts.factor);
      const result = await s.flow.send(factorContext(req, s), opts.factor, 'stepup', pendingStepUp(req, opts.factor)?.challengeId);
      if (result && (result.ok || result.reason === 'send_failed')) {
        const destination = (await factor.describe(req.user!))?.label ?? '';
        req.session.pendingCode = { challengeId: result.challengeId, purpose: 'stepup', channel: factor.channel!, destination };
      }
      if (result?.ok) flash(req, 'ok', 'code.sent_to', { phone: req.session.pendingCode!.destination });
      else if (result) flashRefusal(req, result, factor.channel);
      res.redirect(303, verifyUrl(opts));
    },

    async verify(req: Request, res: Response) {
      const form = stepUpForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      // A code without a named factor is for the one the page asks for first; a password is the password.
      const factor = form.data.factor ?? (form.data.password === undefined ? await firstFactor(req) : undefined);
      const opts = { next: safeNext(form.data.next, '/settings/security'), need: form.data.need ?? 'sensitive', factor };
      const ctx = factorContext(req, s);
      let result;
      if (opts.factor) {
        result = await s.flow.prove(ctx, opts.factor, { code: form.data.code ?? '', challengeId: pendingStepUp(req, opts.factor)?.challengeId, purpose: 'stepup' });
      } else {
        result = await s.flow.stepUpWithPassword(ctx, form.data.password ?? '');
      }
      if (!result.ok) {
        const error = opts.factor ? proofError(req, result) : result.reason === 'throttled' ? proofError(req, result) : req.t('stepup.password_failed');
        return render(req, res, opts, proofStatus(result), error);
      }
      const state = s.flow.elevated(req.session.auth!, opts.factor ?? 'password');
      if (opts.factor === 'backup') flash(req, 'error', 'backup.used_banner', { count: await s.backup.remaining(ctx.user.id) });
      delete req.session.pendingCode;
      await regenerate(req);
      req.session.auth = state;
      res.redirect(303, heldFor(req, opts.next) ? '/settings/security/continue' : opts.next);
    },

    /** verifyKey takes a security key's answer on the verify page, to the challenge this session was given. */
    async verifyKey(req: Request, res: Response) {
      const form = assertForm.safeParse(req.body ?? {});
      const challenge = takeChallenge(req.session, 'stepup', req.user!.id);
      const opts = { next: safeNext(form.data?.next ?? req.body?.next, '/settings/security'), need: form.data?.need ?? 'sensitive', factor: 'webauthn' } as const;
      if (!form.success) return render(req, res, opts, 400, req.t('webauthn.failed'));
      const result = await s.flow.prove(factorContext(req, s), 'webauthn', { code: form.data.response, challengeId: challenge, purpose: 'stepup' });
      if (!result.ok) {
        if (result.reason === 'throttled') res.set('Retry-After', String(result.retryAfterSeconds));
        return render(req, res, opts, proofStatus(result), result.reason === 'throttled' ? proofError(req, result) : req.t('webauthn.failed'));
      }
      const state = s.flow.elevated(req.session.auth!, 'webauthn');
      delete req.session.pendingCode;
      await regenerate(req);
      req.session.auth = state;
      res.redirect(303, heldFor(req, opts.next) ? '/settings/security/continue' : opts.next);
    },

    /** continueHeld shows the form posted before the step-up, filled in, to send again with one click. */
    continueHeld(req: Request, res: Response) {
      const held = req.session.held;
      const form = held ? takeHeld(req, held.page) : undefined;
      if (!form) return res.redirect(303, '/settings/security');
      res.render('security/continue', { form });
    },
  };
}
