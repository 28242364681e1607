import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import type { User } from '../users/repo.ts';
import { originOf } from '../http/origin.ts';
import { flash, regenerate, safeNext } from '../http/context.ts';
import { knownDevice, readDeviceCookie, readTrustCookie, setDeviceCookie, setTrustCookie } from '../http/cookies.ts';
import { maskPhone } from '../twofactor/sms/phone.ts';
import { flashRefusal } from '../http/refusal.ts';
import { sessionCookieName } from '../http/session.ts';
import { codeForm, loginForm, passwordChangeForm } from './schema.ts';
import { checkNewPassword, hashPassword } from './password.ts';

/** authHandlers are the sign-in, second-step, sign-out and password pages. */
export function authHandlers(s: Services) {
  const sendLoginCode = async (req: Request, user: User, phone: string) => {
    const result = await s.smsVerification.send({
      userId: user.id,
      account: user.email,
      phone,
      purpose: 'login',
      origin: originOf(req),
      locale: req.locale,
      replaces: req.session.auth?.challengeId,
    });
    // A code the provider failed to deliver still starts the resend wait.
    if (result.ok || result.reason === 'send_failed') req.session.auth!.challengeId = result.challengeId;
    return result;
  };

  /** signIn finishes a login: a new session id, full level, and the audit line; it returns where to go. */
  const signIn = async (req: Request, user: User, authAt: number, via: 'password' | 'code' | 'trusted_device', next?: string) => {
    await regenerate(req);
    const now = Date.now();
    req.session.auth = { userId: user.id, level: 'full', since: now, authAt, elevatedAt: via === 'code' ? now : undefined };
    s.audit.recordSoon({ event: 'login.ok', userId: user.id, account: user.email, origin: originOf(req), details: { via } });
    return safeNext(next);
  };

  return {
    showLogin(req: Request, res: Response) {
      res.render('auth/login', { email: '', next: safeNext(req.query.next, ''), error: null });
    },

    async login(req: Request, res: Response) {
      const form = loginForm.safeParse(req.body ?? {});
      const email = typeof req.body?.email === 'string' ? req.body.email.slice(0, 254) : '';
      const next = safeNext(req.body?.next, '');
      if (!form.success) {
        return res.status(400).render('auth/login', { email, next, error: req.t('login.failed') });
      }
      const result = await s.passwordLogin.attempt(form.data.email, form.data.password, originOf(req), readDeviceCookie(req, s.config));
      if (result.kind === 'throttled') {
        res.set('Retry-After', String(result.retryAfterSeconds));
        return res.status(429).render('auth/login', {
          email,
          next,
          error: req.t('login.throttled', { minutes: Math.max(1, Math.ceil(result.retryAfterSeconds / 60)) }),
        });
      }
      if (result.kind === 'failed') {
        return res.status(401).render('auth/login', { email, next, error: req.t('login.failed') });
      }
      setDeviceCookie(res, s.config, result.deviceCookie);
      const user = result.user;
      const now = Date.now();
      const phone = await s.phones.load(user.id);
      if (phone) {
        const device = await s.trusted.recognise(user.id, readTrustCookie(req, s.config));
        if (device) {
          await s.audit.record({ event: 'login.trusted_device', userId: user.id, account: user.email, origin: originOf(req), details: { device: device.name } });
          return res.redirect(303, await signIn(req, user, now, 'trusted_device', next));
        }
        await regenerate(req);
        req.session.auth = { userId: user.id, level: 'pending2fa', since: now, authAt: now, next };
        const sent = await sendLoginCode(req, user, phone);
        if (!sent.ok) flashRefusal(req, sent);
        return res.redirect(303, '/login/code');
      }
      if (await s.userService.requires2fa(user)) {
        await regenerate(req);
        req.session.auth = { userId: user.id, level: 'enroll', since: now, authAt: now };
        return res.redirect(303, '/account-security');
      }
      res.redirect(303, await signIn(req, user, now, 'password', next));
    },

    async showCode(req: Request, res: Response) {
      const phone = (await s.phones.load(req.user!.id)) ?? '';
      const code = await s.codes.state(req.session.auth?.challengeId);
      res.render('auth/code', { phone: maskPhone(phone), codeSent: code.sent, resendWait: code.resendWait, error: null, days: s.config.TRUSTED_DEVICE_DAYS });
    },

    async verifyCode(req: Request, res: Response) {
      const user = req.user!;
      const origin = originOf(req);
      const phone = (await s.phones.load(user.id)) ?? '';
      const rerender = async (status: number, error: string) => {
        const code = await s.codes.state(req.session.auth?.challengeId);
        return res.status(status).render('auth/code', {
          phone: maskPhone(phone),
          codeSent: code.sent,
          resendWait: code.resendWait,
          error,
          days: s.config.TRUSTED_DEVICE_DAYS,
        });
      };
      const form = codeForm.safeParse(req.body ?? {});
      const challengeId = req.session.auth?.challengeId;
      const known = knownDevice(req, s.config, s.deviceCookies);
      const outcome = await s.regulator.regulated({ kind: 'code', account: user.email, ip: origin.ip, device: known }, () =>
        form.success && challengeId ? s.smsVerification.verify(challengeId, user.id, 'login', form.data.code) : Promise.resolve({ ok: false, reason: 'wrong' } as const),
      );
      if (!outcome.allowed) {
        await s.audit.record({ event: 'login.throttled', userId: user.id, account: user.email, origin, details: { step: 'code' } });
        res.set('Retry-After', String(outcome.retryAfterSeconds));
        return rerender(429, req.t('login.throttled', { minutes: Math.max(1, Math.ceil(outcome.retryAfterSeconds / 60)) }));
      }
      const result = outcome.result;
      if (!result.ok) {
        await s.audit.record({ event: 'login.code_failed', userId: user.id, account: user.email, origin, details: { reason: result.reason } });
        return rerender(form.success ? 401 : 400, req.t('code.failed'));
      }
      const target = await signIn(req, user, req.session.auth!.authAt, 'code', req.session.auth!.next);
      if (form.data?.trust) {
        const { token, device } = await s.trusted.trust(user.id, origin.userAgent, origin.ip);
        setTrustCookie(res, s.config, token, device.expiresAt);
        await s.audit.record({ event: 'device.trusted', userId: user.id, account: user.email, origin, details: { device: device.name, expires: device.expiresAt.toISOString() } });
      }
      res.redirect(303, target);
    },

    async resendCode(req: Request, res: Response) {
      const user = req.user!;
      const phone = await s.phones.load(user.id);
      if (!phone) return res.redirect(303, '/login');
      const sent = await sendLoginCode(req, user, phone);
      if (sent.ok) flash(req, 'ok', 'code.resent');
      else flashRefusal(req, sent);
      res.redirect(303, '/login/code');
    },

    async logout(req: Request, res: Response) {
      if (req.user) await s.audit.record({ event: 'logout', userId: req.user.id, account: req.user.email, origin: originOf(req) });
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      res.clearCookie(sessionCookieName(s.config), { path: '/' });
      res.redirect(303, '/login');
    },

    showPassword(_req: Request, res: Response) {
      res.render('settings/password', { error: null });
    },

    async changePassword(req: Request, res: Response) {
      const user = req.user!;
      const form = passwordChangeForm.safeParse(req.body ?? {});
      if (!form.success) return res.status(400).render('settings/password', { error: req.t('error.bad_request') });
      if (form.data.password !== form.data.confirm) {
        return res.status(400).render('settings/password', { error: req.t('password.mismatch') });
      }
      const problem = checkNewPassword(form.data.password, user.email);
      if (problem) return res.status(400).render('settings/password', { error: req.t(problem) });
      await s.users.update(user.id, { passwordHash: await hashPassword(form.data.password), passwordChangedAt: new Date() });
      const revoked = await s.trusted.revokeAll(user.id);
      const origin = originOf(req);
      await s.appPasswords.revokeAll(user, origin, 'password_changed');
      // Whoever else holds a session may be the reason for the change: they go, unless the user asked to keep them.
      const ended = form.data.keepOthers ? 0 : await s.sessions.destroyForUser(user.id, req.sessionID);
      await s.audit.record({ event: 'password.changed', userId: user.id, account: user.email, origin, details: { trustedDevicesRevoked: revoked, sessionsEnded: ended } });
      const auth = req.session.auth!;
      await regenerate(req);
      req.session.auth = { ...auth };
      flash(req, 'ok', 'password.changed', { sessions: ended, devices: revoked });
      res.redirect(303, '/settings/security');
    },
  };
}
