import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import type { User } from '../../users/repo.ts';
import { flash, readCookie, regenerate, safeNext } from '../../http/context.ts';
import { readDeviceCookie, setDeviceCookie } from '../../http/cookies.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { originOf } from '../../http/origin.ts';
import { factorAddedResponse, factorContext } from '../../http/second-step.ts';
import { createHmac } from 'node:crypto';
import { isHttps } from '../../config/load.ts';
import { CHALLENGE_TTL_MS, keepChallenge, openChallenge, sealChallenge, takeChallenge, type ChallengePurpose } from './challenge.ts';
import { addForm, assertForm, idParams, renameForm } from './schema.ts';
import { MAX_KEYS } from './service.ts';

const LIST = '/settings/security/passkeys';
const NEW = '/settings/security/passkeys/new';

/** Where a key is added from: Settings, or the forced-enrolment page, which a held user cannot leave. */
type Mode = 'settings' | 'enroll';
const PAGES: Record<Mode, { action: string; options: string; back: string; next: string }> = {
  settings: { action: NEW, options: '/settings/security/passkeys/options', back: LIST, next: LIST },
  enroll: { action: '/account-security/passkey', options: '/account-security/passkey/options', back: '/account-security', next: '/' },
};

/** minutesOf rounds a wait up to whole minutes, for the throttled message. */
const minutesOf = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));

/**
 * webauthnHandlers are Settings → Security → Security keys and passkeys,
 * the JSON the page's script asks for before calling the browser (each a
 * POST with the form token, each keeping a fresh challenge in the server-side
 * session; a passkey sign-in's, which has no session yet, in a sealed
 * cookie), and signing in with a passkey alone. The route table demands a
 * fresh proof before a key is added or removed; adding one never elevates.
 */
export function webauthnHandlers(s: Services) {
  const keys = s.webauthn;

  // A passkey sign-in's challenge stays with the browser, sealed (see sealChallenge): a visitor stores nothing here.
  const sealKey = createHmac('sha256', s.sessionSecret).update('postern passkey challenge').digest();
  const sealedName = isHttps(s.config) ? '__Host-postern_passkey' : 'postern_passkey';
  const sealedCookie = { httpOnly: true, sameSite: 'strict' as const, secure: isHttps(s.config), path: '/' };

  /** unavailable answers a script's request while PUBLIC_URL cannot serve WebAuthn. */
  const unavailable = (req: Request, res: Response) => res.status(409).json({ error: 'webauthn.unavailable', message: req.t('webauthn.unavailable') });

  /** renderNew shows the page whose script asks the browser for a new key: in Settings, or for a user held for forced enrolment. */
  const renderNew = (req: Request, res: Response, opts: { mode?: Mode; status?: number; error?: string; name?: string } = {}) => {
    const mode = opts.mode ?? 'settings';
    res.status(opts.status ?? 200).render('security/passkeys-new', {
      mode,
      ...PAGES[mode],
      available: keys.available,
      reason: keys.unavailableReason,
      name: opts.name ?? req.t('webauthn.default_name'),
      error: opts.error ?? null,
    });
  };

  /**
   * signOptions answers the script with a challenge to sign, for `user`'s
   * keys or, without one, for any passkey: kept in the session for
   * `purpose`, or, for a passkey sign-in, sealed in the browser.
   */
  const signOptions = async (req: Request, res: Response, purpose: ChallengePurpose | 'passwordless', user: User | undefined) => {
    if (!keys.available) return unavailable(req, res);
    const options = await keys.authenticationOptions(user);
    if (!options) throw badRequest();
    if (purpose === 'passwordless') res.cookie(sealedName, sealChallenge(sealKey, options.challenge), { ...sealedCookie, maxAge: CHALLENGE_TTL_MS });
    else keepChallenge(req.session, purpose, options.challenge, user?.id);
    res.json(options);
  };

  /** atLimit sends the user back to the list, which says the most keys are reached. */
  const atLimit = (req: Request, res: Response) => {
    flash(req, 'error', 'webauthn.limit', { max: MAX_KEYS });
    res.redirect(303, LIST);
  };

  const renderLogin = (req: Request, res: Response, status: number, error: string, next: string) =>
    res.status(status).render('auth/login', { email: '', next, error, passkeys: keys.available });

  /** addKey checks the browser's new key against this session's challenge, then records the factor added and goes on. */
  const addKey = (mode: Mode) => async (req: Request, res: Response) => {
    const user = req.user!;
    const form = addForm.safeParse(req.body ?? {});
    const challenge = takeChallenge(req.session, 'register', user.id);
    if (!form.success) throw badRequest();
    const name = form.data.name;
    const result = await keys.add(factorContext(req, s), challenge, name, form.data.response);
    if (!result.ok) {
      if (result.reason === 'limit') return atLimit(req, res);
      if (result.reason === 'throttled') {
        res.set('Retry-After', String(result.retryAfterSeconds));
        return renderNew(req, res, { mode, status: 429, error: req.t('login.throttled', { minutes: minutesOf(result.retryAfterSeconds) }), name });
      }
      return renderNew(req, res, { mode, status: 400, error: req.t(result.detail === 'duplicate' ? 'webauthn.duplicate' : 'webauthn.add_failed'), name });
    }
    await factorAddedResponse(s, req, res, { kind: 'webauthn', details: { name }, message: 'webauthn.added', params: { name }, next: PAGES[mode].next });
  };

  return {
    /** page lists the user's keys: name, kind, when added, when last used, how it connects. */
    async page(req: Request, res: Response) {
      const user = req.user!;
      const list = await keys.list(user.id);
      res.render('security/passkeys', {
        keys: list.map(({ id, name, createdAt, lastUsedAt, transports, discoverable, backedUp }) => ({ id, name, createdAt, lastUsedAt, transports, discoverable, backedUp })),
        max: MAX_KEYS,
        available: keys.available,
        reason: keys.unavailableReason,
        // With one key left under forced two-step, say before the click why Remove will be refused.
        lastRequired: list.length === 1 && !(await s.flow.mayRemove(user, 'webauthn')),
      });
    },

    /** showNew is the page whose script asks the browser for a new key. */
    async showNew(req: Request, res: Response) {
      if (await keys.atLimit(req.user!.id)) return atLimit(req, res);
      renderNew(req, res);
    },

    /** registrationOptions (JSON) is what navigator.credentials.create() is called with; its challenge stays in the session. */
    async registrationOptions(req: Request, res: Response) {
      if (!keys.available) return unavailable(req, res);
      const options = await keys.registrationOptions(req.user!);
      keepChallenge(req.session, 'register', options.challenge, req.user!.id);
      res.json(options);
    },

    /** add checks the browser's new key against this session's challenge, then records the factor added. */
    add: addKey('settings'),

    /** showEnroll and addEnroll are the same for a user held until they set up a second factor. */
    showEnroll: (req: Request, res: Response) => renderNew(req, res, { mode: 'enroll' }),
    addEnroll: addKey('enroll'),

    /** rename gives one of the user's own keys a new name. */
    async rename(req: Request, res: Response) {
      const params = idParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const form = renameForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const key = await keys.rename(factorContext(req, s), params.data.id, form.data.name);
      if (!key) throw notFound();
      flash(req, 'ok', 'webauthn.renamed', { name: key.name });
      res.redirect(303, LIST);
    },

    /** remove deletes one of the user's own keys, unless it is the last factor the policy demands. */
    async remove(req: Request, res: Response) {
      const user = req.user!;
      const params = idParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const list = await keys.list(user.id);
      if (!list.some((k) => k.id === params.data.id)) throw notFound();
      if (list.length === 1 && !(await s.flow.mayRemove(user, 'webauthn'))) {
        flash(req, 'error', 'webauthn.remove_required');
        return res.redirect(303, LIST);
      }
      const removed = await keys.remove(factorContext(req, s), params.data.id);
      if (!removed) throw notFound();
      flash(req, 'ok', 'webauthn.removed', { name: removed.name });
      res.redirect(303, LIST);
    },

    /** loginOptions (JSON): the second step's challenge, for the keys of the account whose password was right. */
    loginOptions: (req: Request, res: Response) => signOptions(req, res, 'login', req.user),

    /** stepUpOptions (JSON): a challenge for the verify page, for the signed-in user's keys. */
    stepUpOptions: (req: Request, res: Response) => signOptions(req, res, 'stepup', req.user),

    /** passwordlessOptions (JSON): a challenge any passkey of this site may sign, kept by the browser, sealed; there is no account yet. */
    passwordlessOptions: (req: Request, res: Response) => signOptions(req, res, 'passwordless', undefined),

    /**
     * passwordless signs in with a passkey alone (the web only: mail apps
     * still need client-specific passwords). The key verified its user, so
     * it counts as both factors: full, and fresh for a step-up. Every
     * failure reads the same; the reason is in the audit log.
     */
    async passwordless(req: Request, res: Response) {
      const next = safeNext(req.body?.next, '');
      const form = assertForm.safeParse(req.body ?? {});
      // Any answer uses the challenge up, right or wrong.
      const challenge = openChallenge(sealKey, readCookie(req, sealedName));
      res.clearCookie(sealedName, sealedCookie);
      if (!keys.available) return renderLogin(req, res, 400, req.t('webauthn.unavailable'), next);
      if (!form.success) return renderLogin(req, res, 400, req.t('webauthn.signin_failed'), next);
      const origin = originOf(req);
      const result = await keys.signInWithPasskey(origin, (account) => s.deviceCookies.deviceFor(account, readDeviceCookie(req, s.config)), challenge, form.data.response);
      if (!result.ok) {
        if (result.reason === 'throttled') {
          res.set('Retry-After', String(result.retryAfterSeconds));
          return renderLogin(req, res, 429, req.t('login.throttled', { minutes: minutesOf(result.retryAfterSeconds) }), next);
        }
        return renderLogin(req, res, 401, req.t('webauthn.signin_failed'), next);
      }
      const user = result.value;
      if (!s.deviceCookies.deviceFor(user.email, readDeviceCookie(req, s.config))) setDeviceCookie(res, s.config, s.deviceCookies.issue(user.email));
      const now = Date.now();
      const state = s.flow.signedIn({ userId: user.id, level: 'full', since: now, authAt: now }, 'webauthn', now);
      await regenerate(req);
      req.session.auth = state;
      await s.audit.record({ event: 'login.ok', userId: user.id, account: user.email, origin, details: { via: 'passkey' } });
      res.redirect(303, safeNext(next));
    },
  };
}
