import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { flash } from '../../http/context.ts';
import { flashRefusal } from '../../http/refusal.ts';
import { factorAddedResponse, factorContext, proofError, proofStatus } from '../../http/second-step.ts';
import { codeOnlyForm, phoneForm } from '../schema.ts';
import { maskPhone, normalizePhone } from './phone.ts';

type BindMode = 'settings' | 'enroll';

/**
 * smsHandlers bind a phone: on Settings → Security → Text message, and on the
 * enrolment page a forced user is held on. The route table demands a fresh
 * proof (or enrolment) first; binding itself proves only the phone.
 */
export function smsHandlers(s: Services) {
  const base = (mode: BindMode) => (mode === 'enroll' ? '/account-security' : '/settings/security/sms');
  const pendingBind = (req: Request) => (req.session.pendingCode?.purpose === 'bind' && req.session.pendingCode.channel === 'sms' ? req.session.pendingCode : undefined);

  const renderBind = async (req: Request, res: Response, mode: BindMode, status = 200, error: string | null = null, typed = '') => {
    const user = req.user!;
    const phone = await s.phones.load(user.id);
    const pending = pendingBind(req);
    const code = await s.codes.state(pending?.challengeId);
    res.status(status).render(mode === 'enroll' ? 'security/enroll' : 'security/sms', {
      action: base(mode),
      phone: phone ? maskPhone(phone) : null,
      pendingPhone: pending && code.sent ? maskPhone(pending.destination) : null,
      resendWait: code.resendWait,
      triesLeft: code.triesLeft,
      elevated: await s.flow.mayChangeFactors(user, req.session.auth),
      // The enrolment page offers security keys only where the browser may use them (PUBLIC_URL).
      passkeys: s.webauthn.available,
      typed,
      error,
    });
  };

  /** sendBindCode sends a code to the number being bound (new, or a change). */
  const sendBindCode = (mode: BindMode) => async (req: Request, res: Response) => {
    const form = phoneForm.safeParse(req.body ?? {});
    const typed = form.success ? form.data.phone : '';
    const phone = form.success ? normalizePhone(form.data.phone, s.config.SMS_DEFAULT_REGION, s.config.SMS_ALLOWED_COUNTRIES) : null;
    if (!phone) return renderBind(req, res, mode, 400, req.t('phone.invalid'), typed.slice(0, 40));
    const result = await s.smsFactor.sendTo(factorContext(req, s), phone, 'bind', pendingBind(req)?.challengeId);
    // A code the provider failed to deliver still starts the resend wait.
    if (result.ok || result.reason === 'send_failed') req.session.pendingCode = { challengeId: result.challengeId, purpose: 'bind', channel: 'sms', destination: phone };
    if (result.ok) flash(req, 'ok', 'code.sent_to', { phone: maskPhone(phone) });
    else flashRefusal(req, result);
    res.redirect(303, base(mode));
  };

  /** confirmBind checks the code sent to the new number, then binds it. */
  const confirmBind = (mode: BindMode) => async (req: Request, res: Response) => {
    const user = req.user!;
    const pending = pendingBind(req);
    const form = codeOnlyForm.safeParse(req.body ?? {});
    if (!pending) return res.redirect(303, base(mode));
    if (!form.success) return renderBind(req, res, mode, 400, req.t('code.failed'));
    const ctx = factorContext(req, s);
    const result = await s.flow.proveNew(ctx, 'sms', pending.challengeId, form.data.code);
    if (!result.ok) {
      if (result.reason !== 'wrong' && result.reason !== 'throttled') delete req.session.pendingCode;
      return renderBind(req, res, mode, result.reason === 'throttled' ? 429 : 400, proofError(req, result));
    }
    const phone = result.destination!;
    const previous = await s.phones.load(user.id);
    await s.phones.save(user.id, phone);
    delete req.session.pendingCode;
    // A changed number ends the trust given under the old one.
    const revoked = previous ? await s.trusted.revokeAll(user.id) : 0;
    const details = previous ? { from: maskPhone(previous), phone: maskPhone(phone), trustedDevicesRevoked: revoked } : { phone: maskPhone(phone) };
    await factorAddedResponse(s, req, res, { kind: 'sms', details, message: previous ? 'phone.changed' : 'phone.bound', params: { phone: maskPhone(phone) }, next: mode === 'enroll' ? '/' : '/settings/security' });
  };

  return {
    showSms: (req: Request, res: Response) => renderBind(req, res, 'settings'),
    sendSms: sendBindCode('settings'),
    confirmSms: confirmBind('settings'),
    showEnroll: async (req: Request, res: Response) => renderBind(req, res, 'enroll'),
    sendEnroll: sendBindCode('enroll'),
    confirmEnroll: confirmBind('enroll'),

    /** sendFirstSms refuses a second binding: changing a bound number goes through sendSms. */
    async sendFirstSms(req: Request, res: Response) {
      if (await s.phones.load(req.user!.id)) return res.redirect(303, '/settings/security/sms');
      return sendBindCode('settings')(req, res);
    },

    async unbind(req: Request, res: Response) {
      const user = req.user!;
      const previous = await s.phones.load(user.id);
      if (!previous) return res.redirect(303, '/settings/security');
      if (!(await s.flow.mayRemove(user, 'sms'))) {
        flash(req, 'error', 'phone.unbind_required');
        return res.redirect(303, '/settings/security/sms');
      }
      await s.phones.delete(user.id);
      await s.flow.factorRemoved(factorContext(req, s), 'sms', { phone: maskPhone(previous) });
      delete req.session.pendingCode;
      flash(req, 'ok', 'phone.unbound');
      res.redirect(303, '/settings/security');
    },
  };
}
