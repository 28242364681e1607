import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { originOf } from '../http/origin.ts';
import { flash, regenerate, safeNext } from '../http/context.ts';
import { isElevated } from '../http/guards.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { verifyPassword } from '../auth/password.ts';
import { maskPhone, normalizePhone } from './sms/phone.ts';
import { flashRefusal } from '../http/refusal.ts';
import { knownDevice } from '../http/cookies.ts';
import { codeOnlyForm, deviceParams, phoneForm, stepUpForm } from './schema.ts';
import { deviceName } from './trusted.ts';

type BindMode = 'settings' | 'enroll';

/** eventDevice names where an event came from, in the reader's language: "Chrome on Windows", or "IMAP client" for mail apps. */
function eventDevice(req: Request, e: { event: string; userAgent: string | null; details: Record<string, unknown> | null }): string {
  if (e.event.startsWith('mail.')) return req.t('device.mail_client', { protocol: String(e.details?.protocol ?? 'mail').toUpperCase() });
  return e.userAgent ? localDeviceName(req, deviceName(e.userAgent)) : '—';
}

/** localDeviceName renders a stored "Browser on System" name in the reader's language. */
export function localDeviceName(req: Request, name: string): string {
  const at = name.lastIndexOf(' on ');
  return at > 0 ? req.t('device.on', { browser: name.slice(0, at), os: name.slice(at + 4) }) : name;
}

/** twoFactorHandlers are Settings → Security: the SMS factor, step-up, trusted devices, and forced enrolment. */
export function twoFactorHandlers(s: Services) {
  const codeState = async (challengeId: string | undefined) => {
    const code = await s.codes.state(challengeId);
    return { codeSent: code.sent, resendWait: code.resendWait };
  };
  const device = (req: Request) => knownDevice(req, s.config, s.deviceCookies);
  const base = (mode: BindMode) => (mode === 'enroll' ? '/account-security' : '/settings/security/sms');

  const renderBind = async (req: Request, res: Response, mode: BindMode, status = 200, error: string | null = null, typed = '') => {
    const user = req.user!;
    const phone = await s.phones.load(user.id);
    const pending = req.session.pendingCode?.purpose === 'bind' ? req.session.pendingCode : undefined;
    res.status(status).render(mode === 'enroll' ? 'security/enroll' : 'security/sms', {
      action: base(mode),
      phone: phone ? maskPhone(phone) : null,
      pendingPhone: pending ? maskPhone(pending.phone) : null,
      resendWait: await s.codes.resendWait(pending?.challengeId),
      elevated: isElevated(req),
      typed,
      error,
    });
  };

  /** sendBindCode sends a code to the number being bound (new, or a change). */
  const sendBindCode = (mode: BindMode) => async (req: Request, res: Response) => {
    const user = req.user!;
    const form = phoneForm.safeParse(req.body ?? {});
    const typed = form.success ? form.data.phone : '';
    const phone = form.success ? normalizePhone(form.data.phone, s.config.SMS_DEFAULT_REGION, s.config.SMS_ALLOWED_COUNTRIES) : null;
    if (!phone) return renderBind(req, res, mode, 400, req.t('phone.invalid'), typed.slice(0, 40));
    const previous = req.session.pendingCode?.purpose === 'bind' ? req.session.pendingCode.challengeId : undefined;
    const result = await s.smsVerification.send({ userId: user.id, account: user.email, phone, purpose: 'bind', origin: originOf(req), locale: req.locale, replaces: previous });
    if (!result.ok) {
      // A code the provider failed to deliver still starts the resend wait.
      if (result.reason === 'send_failed') req.session.pendingCode = { challengeId: result.challengeId, purpose: 'bind', phone };
      flashRefusal(req, result);
      return res.redirect(303, base(mode));
    }
    req.session.pendingCode = { challengeId: result.challengeId, purpose: 'bind', phone };
    flash(req, 'ok', 'code.sent_to', { phone: maskPhone(phone) });
    res.redirect(303, base(mode));
  };

  /** confirmBind checks the code sent to the new number, then binds it. */
  const confirmBind = (mode: BindMode) => async (req: Request, res: Response) => {
    const user = req.user!;
    const origin = originOf(req);
    const pending = req.session.pendingCode;
    const form = codeOnlyForm.safeParse(req.body ?? {});
    if (!pending || pending.purpose !== 'bind') return res.redirect(303, base(mode));
    const outcome = await s.regulator.regulated({ kind: 'code', account: user.email, ip: origin.ip, device: device(req) }, () =>
      form.success ? s.smsVerification.verify(pending.challengeId, user.id, 'bind', form.data.code) : Promise.resolve({ ok: false, reason: 'wrong' } as const),
    );
    if (!outcome.allowed) return renderBind(req, res, mode, 429, req.t('login.throttled', { minutes: Math.ceil(outcome.retryAfterSeconds / 60) }));
    const result = outcome.result;
    if (!result.ok) {
      if (result.reason !== 'wrong') delete req.session.pendingCode;
      return renderBind(req, res, mode, 400, req.t('code.failed'));
    }
    const previous = await s.phones.load(user.id);
    await s.phones.save(user.id, result.phone);
    const revoked = previous ? await s.trusted.revokeAll(user.id) : 0;
    await s.audit.record({
      event: previous ? 'phone.changed' : 'phone.bound',
      userId: user.id,
      account: user.email,
      origin,
      details: previous ? { from: maskPhone(previous), to: maskPhone(result.phone), trustedDevicesRevoked: revoked } : { phone: maskPhone(result.phone) },
    });
    const auth = req.session.auth!;
    await regenerate(req);
    // Binding proves only the new phone, never the account: it keeps whatever fresh check the session had, and adds none.
    req.session.auth = mode === 'enroll' ? { userId: user.id, level: 'full', since: Date.now(), authAt: auth.authAt } : { ...auth, challengeId: undefined };
    flash(req, 'ok', previous ? 'phone.changed' : 'phone.bound', { phone: maskPhone(result.phone) });
    res.redirect(303, mode === 'enroll' ? '/' : '/settings/security');
  };

  return {
    async overview(req: Request, res: Response) {
      const user = req.user!;
      const [phone, devices, appPasswords, events] = await Promise.all([
        s.phones.load(user.id),
        s.trusted.list(user.id),
        s.appPasswords.list(user.id),
        s.audit.recentForUser(user.id, 15),
      ]);
      res.render('security/index', {
        phone: phone ? maskPhone(phone) : null,
        required: await s.userService.requires2fa(user),
        deviceCount: devices.length,
        appPasswordCount: appPasswords.length,
        events: events.map((e) => ({ ...e, device: eventDevice(req, e) })),
      });
    },

    showSms: (req: Request, res: Response) => renderBind(req, res, 'settings'),
    sendSms: sendBindCode('settings'),
    confirmSms: confirmBind('settings'),
    showEnroll: (req: Request, res: Response) => renderBind(req, res, 'enroll'),
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
      if (await s.userService.requires2fa(user)) {
        flash(req, 'error', 'phone.unbind_required');
        return res.redirect(303, '/settings/security/sms');
      }
      await s.phones.delete(user.id);
      const revoked = await s.trusted.revokeAll(user.id);
      await s.audit.record({ event: 'phone.unbound', userId: user.id, account: user.email, origin: originOf(req), details: { phone: maskPhone(previous), trustedDevicesRevoked: revoked } });
      delete req.session.pendingCode;
      flash(req, 'ok', 'phone.unbound');
      res.redirect(303, '/settings/security');
    },

    async showVerify(req: Request, res: Response) {
      const phone = await s.phones.load(req.user!.id);
      const pending = req.session.pendingCode?.purpose === 'stepup' ? req.session.pendingCode : undefined;
      res.render('security/verify', {
        phone: phone ? maskPhone(phone) : null,
        ...(await codeState(pending?.challengeId)),
        next: safeNext(req.query.next, '/settings/security'),
        error: null,
      });
    },

    async sendVerify(req: Request, res: Response) {
      const user = req.user!;
      const next = safeNext(req.body?.next, '/settings/security');
      const phone = await s.phones.load(user.id);
      if (!phone) return res.redirect(303, `/settings/security/verify?next=${encodeURIComponent(next)}`);
      const previous = req.session.pendingCode?.purpose === 'stepup' ? req.session.pendingCode.challengeId : undefined;
      const result = await s.smsVerification.send({ userId: user.id, account: user.email, phone, purpose: 'stepup', origin: originOf(req), locale: req.locale, replaces: previous });
      if (result.ok || result.reason === 'send_failed') req.session.pendingCode = { challengeId: result.challengeId, purpose: 'stepup', phone, next };
      if (result.ok) flash(req, 'ok', 'code.sent_to', { phone: maskPhone(phone) });
      else flashRefusal(req, result);
      res.redirect(303, `/settings/security/verify?next=${encodeURIComponent(next)}`);
    },

    async verify(req: Request, res: Response) {
      const user = req.user!;
      const origin = originOf(req);
      const form = stepUpForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const next = safeNext(form.data.next, '/settings/security');
      const phone = await s.phones.load(user.id);
      const pending = req.session.pendingCode?.purpose === 'stepup' ? req.session.pendingCode : undefined;
      const fail = async (status: number, error: string) =>
        res.status(status).render('security/verify', {
          phone: phone ? maskPhone(phone) : null,
          ...(await codeState(pending?.challengeId)),
          next,
          error,
        });
      const outcome = await s.regulator.regulated({ kind: 'stepup', account: user.email, ip: origin.ip, device: device(req) }, async () => {
        if (phone) return { ok: !!pending && !!form.data.code && (await s.smsVerification.verify(pending.challengeId, user.id, 'stepup', form.data.code)).ok };
        return { ok: await verifyPassword(user.passwordHash, form.data.password ?? '') };
      });
      if (!outcome.allowed) return fail(429, req.t('login.throttled', { minutes: Math.ceil(outcome.retryAfterSeconds / 60) }));
      const ok = outcome.result.ok;
      await s.audit.record({ event: ok ? 'stepup.ok' : 'stepup.failed', userId: user.id, account: user.email, origin, details: { method: phone ? 'sms' : 'password' } });
      if (!ok) return fail(401, req.t(phone ? 'code.failed' : 'stepup.password_failed'));
      const auth = req.session.auth!;
      await regenerate(req);
      req.session.auth = { ...auth, elevatedAt: Date.now(), challengeId: undefined };
      res.redirect(303, next);
    },

    async devices(req: Request, res: Response) {
      const devices = await s.trusted.list(req.user!.id);
      res.render('security/devices', { devices: devices.map((d) => ({ ...d, label: localDeviceName(req, d.name) })) });
    },

    async revokeDevice(req: Request, res: Response) {
      const params = deviceParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const device = await s.trusted.revoke(req.user!.id, params.data.id);
      if (!device) throw notFound();
      await s.audit.record({ event: 'device.revoked', userId: req.user!.id, account: req.user!.email, origin: originOf(req), details: { device: device.name } });
      flash(req, 'ok', 'devices.revoked', { name: localDeviceName(req, device.name) });
      res.redirect(303, '/settings/security/devices');
    },

    async revokeAllDevices(req: Request, res: Response) {
      const n = await s.trusted.revokeAll(req.user!.id);
      await s.audit.record({ event: 'device.revoked_all', userId: req.user!.id, account: req.user!.email, origin: originOf(req), details: { count: n } });
      flash(req, 'ok', 'devices.revoked_all', { count: n });
      res.redirect(303, '/settings/security/devices');
    },
  };
}
