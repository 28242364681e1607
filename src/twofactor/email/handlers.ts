import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import type { User } from '../../users/repo.ts';
import type { ProofResult } from '../../auth/flow.ts';
import { flash } from '../../http/context.ts';
import { flashRefusal } from '../../http/refusal.ts';
import { factorAddedResponse, factorContext } from '../../http/second-step.ts';
import { CODE_TTL_SECONDS } from '../codes.ts';
import { maskEmail } from './factor.ts';
import { addressForm, emailCodeForm } from './schema.ts';

const PAGE = '/settings/security/email';

/**
 * recoveryEmailHandlers are Settings → Security → Recovery email: an address
 * with another provider that sign-in and step-up codes can be mailed to. The
 * route table demands a fresh proof before any change; binding proves only
 * that the user reads the address, never the account.
 */
export function recoveryEmailHandlers(s: Services) {
  const pendingBind = (req: Request) => (req.session.pendingCode?.purpose === 'bind' && req.session.pendingCode.channel === 'email' ? req.session.pendingCode : undefined);

  const render = async (req: Request, res: Response, status = 200, error: string | null = null, typed = '') => {
    const user = req.user!;
    const pending = pendingBind(req);
    const [address, code, mayRemove] = await Promise.all([s.recoveryEmails.load(user.id), s.codes.state(pending?.challengeId), s.flow.mayRemove(user, 'email')]);
    res.status(status).render('security/email', {
      address: address ? maskEmail(address) : null,
      // Only a code that reached the relay may be asked for: after a failed send the page offers a new one instead.
      pendingTo: pending && code.sent ? maskEmail(pending.destination) : null,
      // The address a resend goes to; the user typed it in this session.
      resendTo: pending?.destination ?? '',
      usedUp: !!pending && code.usedUp,
      resendWait: pending ? code.resendWait : 0,
      triesLeft: code.triesLeft,
      minutes: CODE_TTL_SECONDS.email / 60,
      mayRemove,
      typed,
      error,
    });
  };

  /** refusal says why an address cannot be the recovery address: it must reach the user when this mail system does not. */
  const refusal = async (user: User, address: string): Promise<string | undefined> => {
    const own = user.email.trim().toLowerCase();
    if (address === own) return 'email.own_address';
    const sameDomain = address.slice(address.lastIndexOf('@')) === own.slice(own.lastIndexOf('@'));
    if (sameDomain || (await s.users.loadByEmail(address))) return 'email.inside';
    return undefined;
  };

  /** codeError is the message for a code that did not prove the address. */
  const codeError = (req: Request, r: Exclude<ProofResult, { ok: true }>): string => {
    switch (r.reason) {
      case 'throttled':
        return req.t('login.throttled', { minutes: Math.max(1, Math.ceil(r.retryAfterSeconds / 60)) });
      case 'locked':
        return req.t('email.code_used_up');
      case 'wrong':
        return r.triesLeft === undefined ? req.t('email.code_wrong') : req.t('email.code_wrong_tries', { count: r.triesLeft });
      default:
        return req.t('email.code_expired');
    }
  };

  return {
    page: (req: Request, res: Response) => render(req, res),

    /** send mails a code to the address being added (or replacing the current one). */
    async send(req: Request, res: Response) {
      const user = req.user!;
      const form = addressForm.safeParse(req.body ?? {});
      if (!form.success) {
        const raw = typeof req.body?.address === 'string' ? req.body.address.trim().slice(0, 254) : '';
        return render(req, res, 400, req.t('email.invalid'), raw);
      }
      const address = form.data.address;
      const refused = await refusal(user, address);
      if (refused) return render(req, res, 400, req.t(refused), address);
      const result = await s.emailFactor.sendTo(factorContext(req, s), address, 'bind', pendingBind(req)?.challengeId);
      // A code the relay did not take still starts the resend wait; the page will not ask for it.
      if (result.ok || result.reason === 'send_failed') req.session.pendingCode = { challengeId: result.challengeId, purpose: 'bind', channel: 'email', destination: address };
      if (result.ok) flash(req, 'ok', 'email.code_sent', { to: maskEmail(address) });
      else flashRefusal(req, result, 'email');
      res.redirect(303, PAGE);
    },

    /** confirm checks the mailed code, then makes the address the recovery address. */
    async confirm(req: Request, res: Response) {
      const user = req.user!;
      const pending = pendingBind(req);
      if (!pending) return res.redirect(303, PAGE);
      const form = emailCodeForm.safeParse(req.body ?? {});
      if (!form.success) return render(req, res, 400, req.t('email.code_wrong'));
      // A used-up code can only be replaced: say so, rather than the wait its five wrong tries earned.
      if ((await s.codes.state(pending.challengeId)).usedUp) return render(req, res, 400, req.t('email.code_used_up'));
      const ctx = factorContext(req, s);
      const result = await s.flow.proveNew(ctx, 'email', pending.challengeId, form.data.code);
      if (!result.ok) {
        // A used-up code stays pending: its resend wait still applies, and the page offers a new one.
        if (result.reason === 'expired' || result.reason === 'unavailable') delete req.session.pendingCode;
        return render(req, res, result.reason === 'throttled' ? 429 : 400, codeError(req, result));
      }
      const address = result.destination ?? pending.destination;
      const previous = await s.recoveryEmails.load(user.id);
      await s.recoveryEmails.save(user.id, address);
      delete req.session.pendingCode;
      const changed = !!previous && previous !== address;
      // A changed address ends the trust given while the old one could receive codes.
      const details = changed ? { from: maskEmail(previous), to: maskEmail(address), trustedDevicesRevoked: await s.trusted.revokeAll(user.id) } : { to: maskEmail(address) };
      await factorAddedResponse(s, req, res, { kind: 'email', details, message: changed ? 'email.changed' : 'email.added', params: { to: maskEmail(address) }, next: PAGE });
    },

    /** remove drops the recovery address, unless it is the last factor the policy demands. */
    async remove(req: Request, res: Response) {
      const user = req.user!;
      const address = await s.recoveryEmails.load(user.id);
      if (!address) return res.redirect(303, PAGE);
      if (!(await s.flow.mayRemove(user, 'email'))) {
        flash(req, 'error', 'email.remove_required');
        return res.redirect(303, PAGE);
      }
      await s.recoveryEmails.delete(user.id);
      await s.flow.factorRemoved(factorContext(req, s), 'email', { address: maskEmail(address) });
      flash(req, 'ok', 'email.removed');
      res.redirect(303, PAGE);
    },
  };
}
