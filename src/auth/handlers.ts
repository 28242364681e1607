import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import type { User } from '../users/repo.ts';
import { originOf } from '../http/origin.ts';
import { flash, regenerate, safeNext } from '../http/context.ts';
import { readDeviceCookie, readTrustCookie, setDeviceCookie, setTrustCookie } from '../http/cookies.ts';
import { flashRefusal } from '../http/refusal.ts';
import { sessionCookieName } from '../http/session.ts';
import { badRequest } from '../http/errors.ts';
import { factorContext, proofError, proofStatus, stepModel } from '../http/second-step.ts';
import type { AuthState } from './levels.ts';
import { codeForm, loginForm, methodForm, passForm, passwordChangeForm } from './schema.ts';
import { checkNewPassword, hashPassword } from './password.ts';
import { assertForm } from '../twofactor/webauthn/schema.ts';
import { takeChallenge } from '../twofactor/webauthn/challenge.ts';

/** authHandlers are the sign-in, second-step, sign-out and password pages. */
export function authHandlers(s: Services) {
  /** sendLoginCode texts or emails a code for the factor the second step asks for, replacing this attempt's earlier one. */
  const sendLoginCode = async (req: Request, user = req.user!) => {
    const auth = req.session.auth!;
    const result = await s.flow.send(factorContext(req, s, user), auth.factor!, 'login', auth.challengeId);
    if (!result) return;
    // A code the provider failed to deliver still starts the resend wait.
    if (result.ok || result.reason === 'send_failed') auth.challengeId = result.challengeId;
    if (!result.ok) flashRefusal(req, result, s.factors.get(auth.factor!).channel);
    return result;
  };

  /** signIn finishes a login with the state the flow decided: a new session id, and the audit line; it returns where to go. */
  const signIn = async (req: Request, user: User, state: AuthState, via: string, next?: string) => {
    await regenerate(req);
    // A temporary password was just typed: it counts as the fresh check the password page asks for.
    req.session.auth = user.mustChangePassword && via === 'password' ? { ...state, elevatedAt: Date.now(), elevatedWith: 'password' } : state;
    s.audit.recordSoon({ event: 'login.ok', userId: user.id, account: user.email, origin: originOf(req), details: { via } });
    return safeNext(next);
  };

  const renderCode = async (req: Request, res: Response, status = 200, error: string | null = null) => {
    const auth = req.session.auth!;
    const infos = await s.flow.factorsOf(req.user!);
    // The factor asked for was removed meanwhile: fall back to what is left.
    if (!infos.some((i) => i.kind === auth.factor)) auth.factor = s.flow.firstFactor(req.user!, infos);
    const model = await stepModel(s, req, infos, auth.factor!, auth.challengeId);
    res.status(status).render('auth/code', { ...model, error, days: (await s.userService.policy()).trustedDeviceDays, passOffered: !!auth.passOffered });
  };

  return {
    showLogin(req: Request, res: Response) {
      res.render('auth/login', { email: '', next: safeNext(req.query.next, ''), error: null, passkeys: s.webauthn.available });
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
      const decision = await s.flow.afterPassword(user, { trustToken: readTrustCookie(req, s.config), next, summary: result.summary });
      if (decision.via === 'trusted_device') {
        await s.audit.record({ event: 'login.trusted_device', userId: user.id, account: user.email, origin: originOf(req), details: { device: decision.device } });
      }
      if (decision.via === 'password' || decision.via === 'trusted_device') return res.redirect(303, await signIn(req, user, decision.state, decision.via, next));
      await regenerate(req);
      req.session.auth = decision.state;
      if (decision.via === 'enroll') return res.redirect(303, '/account-security');
      // An administrator's access pass means the factors are lost: ask for it first, and send nothing.
      if (decision.via === 'second_step' && decision.pass) return res.redirect(303, '/login/pass');
      // Only a factor that sends codes sends one now: a user whose first factor is the app never spends a text.
      await sendLoginCode(req, user);
      res.redirect(303, '/login/code');
    },

    showCode: (req: Request, res: Response) => renderCode(req, res),

    async verifyCode(req: Request, res: Response) {
      const user = req.user!;
      const auth = req.session.auth!;
      const form = codeForm.safeParse(req.body ?? {});
      if (!form.success) return renderCode(req, res, 400, req.t('code.failed'));
      const factor = auth.factor!;
      const result = await s.flow.prove(factorContext(req, s), factor, { code: form.data.code, challengeId: auth.challengeId, purpose: 'login' });
      if (!result.ok) {
        if (result.reason === 'throttled') res.set('Retry-After', String(result.retryAfterSeconds));
        return renderCode(req, res, proofStatus(result), proofError(req, result));
      }
      const target = await signIn(req, user, s.flow.signedIn(auth, factor), factor, auth.next);
      if (factor === 'backup') flash(req, 'error', 'backup.used_banner', { count: await s.backup.remaining(user.id) });
      else if (form.data.trust) {
        const origin = originOf(req);
        const { token, device } = await s.trusted.trust(user.id, origin.userAgent, origin.ip);
        setTrustCookie(res, s.config, token, device.expiresAt);
        await s.audit.record({ event: 'device.trusted', userId: user.id, account: user.email, origin, details: { device: device.name, expires: device.expiresAt.toISOString() } });
      }
      res.redirect(303, target);
    },

    /**
     * verifyKey takes a security key's answer at the second step: signed
     * over the challenge this session was given, checked like any factor
     * (regulated under 'webauthn'), with one message for every failure.
     */
    async verifyKey(req: Request, res: Response) {
      const user = req.user!;
      const auth = req.session.auth!;
      const form = assertForm.safeParse(req.body ?? {});
      const challenge = takeChallenge(req.session, 'login', user.id);
      auth.factor = 'webauthn';
      if (!form.success) return renderCode(req, res, 400, req.t('webauthn.failed'));
      const result = await s.flow.prove(factorContext(req, s), 'webauthn', { code: form.data.response, challengeId: challenge, purpose: 'login' });
      if (!result.ok) {
        if (result.reason === 'throttled') res.set('Retry-After', String(result.retryAfterSeconds));
        return renderCode(req, res, proofStatus(result), result.reason === 'throttled' ? proofError(req, result) : req.t('webauthn.failed'));
      }
      const target = await signIn(req, user, s.flow.signedIn(auth, 'webauthn'), 'webauthn', auth.next);
      if (form.data.trust) {
        const origin = originOf(req);
        const { token, device } = await s.trusted.trust(user.id, origin.userAgent, origin.ip);
        setTrustCookie(res, s.config, token, device.expiresAt);
        await s.audit.record({ event: 'device.trusted', userId: user.id, account: user.email, origin, details: { device: device.name, expires: device.expiresAt.toISOString() } });
      }
      res.redirect(303, target);
    },

    showPass(req: Request, res: Response) {
      if (!req.session.auth!.passOffered) return res.redirect(303, '/login/code');
      res.render('auth/pass', { error: null });
    },

    /** verifyPass takes an administrator's access pass: once, and only to set up a new factor, which replaces the old ones. */
    async verifyPass(req: Request, res: Response) {
      const auth = req.session.auth!;
      if (!auth.passOffered) return res.redirect(303, '/login/code');
      const form = passForm.safeParse(req.body ?? {});
      if (!form.success) return res.status(400).render('auth/pass', { error: req.t('pass.failed') });
      const result = await s.flow.provePass(factorContext(req, s), auth, form.data.code);
      if (!result.ok) {
        if (result.reason === 'throttled') res.set('Retry-After', String(result.retryAfterSeconds));
        const error = result.reason === 'wrong' ? `${req.t('pass.failed')} ${req.t('code.tries_left', { count: result.triesLeft ?? 0 })}` : proofError(req, result);
        return res.status(proofStatus(result)).render('auth/pass', { error });
      }
      await regenerate(req);
      req.session.auth = result.state;
      flash(req, 'ok', 'pass.accepted');
      res.redirect(303, '/account-security');
    },

    async resendCode(req: Request, res: Response) {
      const sent = await sendLoginCode(req);
      if (sent?.ok) flash(req, 'ok', 'code.resent');
      res.redirect(303, '/login/code');
    },

    /** showMethods lists the ways the user can prove it is them ("use another way"). */
    async showMethods(req: Request, res: Response) {
      const infos = await s.flow.factorsOf(req.user!);
      res.render('auth/methods', { factors: infos, current: req.session.auth!.factor });
    },

    /** chooseMethod switches the second step to another factor; a text or email is sent only now, when chosen. */
    async chooseMethod(req: Request, res: Response) {
      const form = methodForm.safeParse(req.body ?? {});
      const infos = await s.flow.factorsOf(req.user!);
      if (!form.success || !infos.some((i) => i.kind === form.data.factor)) throw badRequest();
      const auth = req.session.auth!;
      if (auth.factor !== form.data.factor) {
        auth.factor = form.data.factor;
        auth.challengeId = undefined;
      }
      // Choosing the same sending factor again while its code is fresh sends nothing new (the resend wait applies).
      if (!auth.challengeId) await sendLoginCode(req);
      res.redirect(303, '/login/code');
    },

    async logout(req: Request, res: Response) {
      if (req.user) await s.audit.record({ event: 'logout', userId: req.user.id, account: req.user.email, origin: originOf(req) });
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      res.clearCookie(sessionCookieName(s.config), { path: '/' });
      res.redirect(303, '/login');
    },

    showPassword(req: Request, res: Response) {
      res.render('settings/password', { error: null, mustChange: req.user!.mustChangePassword });
    },

    async changePassword(req: Request, res: Response) {
      const user = req.user!;
      const form = passwordChangeForm.safeParse(req.body ?? {});
      if (!form.success) return res.status(400).render('settings/password', { mustChange: user.mustChangePassword, error: req.t('error.bad_request') });
      if (form.data.password !== form.data.confirm) {
        return res.status(400).render('settings/password', { mustChange: user.mustChangePassword, error: req.t('password.mismatch') });
      }
      const problem = checkNewPassword(form.data.password, user.email);
      if (problem) return res.status(400).render('settings/password', { mustChange: user.mustChangePassword, error: req.t(problem) });
      await s.users.update(user.id, { passwordHash: await hashPassword(form.data.password), passwordChangedAt: new Date(), mustChangePassword: false });
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
