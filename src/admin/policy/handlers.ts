import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { flash } from '../../http/context.ts';
import { HttpError, notFound } from '../../http/errors.ts';
import { domainsOf, POLICY_FACTORS, type Policy } from '../../users/policy.ts';
import { userParams } from '../users/schema.ts';
import { refusalOf } from '../users/handlers.ts';
import { policyForm, userTwoStepForm } from './schema.ts';

/** adminPolicyHandlers are the console's policy page, and one account's own two-step setting. */
export function adminPolicyHandlers(s: Services) {
  const render = async (req: Request, res: Response, status = 200, error: string | null = null, shown?: Policy & { domainsText?: string }) => {
    const policy = shown ?? (await s.userService.policy());
    res.status(status).render('admin/policy', { policy, domainsText: shown?.domainsText ?? policy.domains.join('\n'), kinds: POLICY_FACTORS, error, defaultTrustedDays: s.config.TRUSTED_DEVICE_DAYS });
  };

  return {
    page: (req: Request, res: Response) => render(req, res),

    async save(req: Request, res: Response) {
      const form = policyForm.safeParse(req.body ?? {});
      if (!form.success) return render(req, res, 400, req.t('error.bad_request'));
      const f = form.data;
      const allowed = POLICY_FACTORS.filter((k) => (Array.isArray(f.allowed) ? f.allowed : f.allowed ? [f.allowed] : []).includes(k));
      const domains = domainsOf(f.domains);
      const current = await s.userService.policy();
      const next: Policy & { domainsText?: string } = { ...current, require2fa: f.require2fa, domains: domains ?? [], graceDays: f.graceDays, allowedFactors: allowed, mailMainPassword: !!f.mailMainPassword, trustedDeviceDays: f.trustedDeviceDays };
      if (!domains) return render(req, res, 400, req.t('policy.domains_invalid'), { ...next, domainsText: f.domains });
      if (f.require2fa === 'domains' && !domains.length) return render(req, res, 400, req.t('policy.domains_needed'), { ...next, domainsText: f.domains });
      // Forcing two-step with no kind left to set up would hold every user at an enrolment page they cannot pass.
      if (!allowed.some((k) => k !== 'email') && f.require2fa !== 'off') return render(req, res, 400, req.t('policy.factors_needed'), { ...next, domainsText: f.domains });
      if (!allowed.length) return render(req, res, 400, req.t('policy.factors_needed'), { ...next, domainsText: f.domains });
      await s.userService.savePolicy(next, req.user!.email, originOf(req));
      flash(req, 'ok', 'policy.saved');
      res.redirect(303, '/admin/policy');
    },

    /** userTwoStep sets one account's own two-step requirement: required, not required, or as the policy says. */
    async userTwoStep(req: Request, res: Response) {
      const params = userParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const form = userTwoStepForm.safeParse(req.body ?? {});
      if (!form.success) throw new HttpError(400, 'admin.reason_needed');
      const target = await s.adminUsers.target({ admin: req.user!, origin: originOf(req) }, params.data.id).catch((err: unknown) => {
        throw refusalOf(err);
      });
      const value = form.data.require === 'policy' ? null : form.data.require === 'on';
      await s.users.update(target.id, { require2fa: value });
      await s.audit.record({ event: 'policy.changed', userId: target.id, account: target.email, origin: originOf(req), details: { admin: req.user!.email, require2fa: value ?? 'policy', reason: form.data.reason } });
      flash(req, 'ok', 'policy.user_saved');
      res.redirect(303, `/admin/users/${target.id}`);
    },
  };
}
