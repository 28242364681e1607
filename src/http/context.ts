import type { NextFunction, Request, Response } from 'express';
import type { User } from '../users/repo.ts';
import { isLocale, negotiate, translate, type Locale, type Params } from '../i18n/index.ts';
import type { Services } from '../services.ts';
import { PENDING_TTL_MS } from '../auth/levels.ts';
import { issueCsrfToken } from './security.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      user?: User;
      locale: Locale;
      t: (key: string, params?: Params) => string;
    }
  }
}

const YEAR_MS = 365 * 86400_000;

/** localeMiddleware picks the language: ?lang= (remembered in a cookie), the cookie, then the browser's. */
export function localeMiddleware(req: Request, res: Response, next: NextFunction): void {
  const asked = req.query.lang;
  let locale: Locale;
  if (isLocale(asked)) {
    locale = asked;
    res.cookie('lang', asked, { maxAge: YEAR_MS, sameSite: 'lax', httpOnly: true, secure: req.secure });
  } else {
    const remembered = readCookie(req, 'lang');
    locale = isLocale(remembered) ? remembered : negotiate(req.get('accept-language'));
  }
  req.locale = locale;
  req.t = (key, params) => translate(locale, key, params);
  res.locals.t = req.t;
  res.locals.locale = locale;
  res.locals.otherLocale = locale === 'en' ? 'zh-CN' : 'en';
  res.locals.switchLocaleUrl = (target: Locale) => {
    const url = new URL(req.originalUrl, 'http://x');
    url.searchParams.set('lang', target);
    return url.pathname + url.search;
  };
  res.locals.path = req.path;
  next();
}

/** readCookie reads one cookie without a parser dependency. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * authMiddleware loads the signed-in user and ends sessions that ran out:
 * half-signed-in states after ten minutes, any session after the absolute
 * limit, and any session whose account was disabled or removed.
 */
export function authMiddleware(s: Services) {
  const absoluteMs = s.config.SESSION_ABSOLUTE_HOURS * 3600_000;
  return async (req: Request, res: Response, next: NextFunction) => {
    const auth = req.session?.auth;
    if (!auth) return next();
    const now = Date.now();
    const expired = now - auth.authAt > absoluteMs || (auth.level !== 'full' && now - auth.since > PENDING_TTL_MS);
    const user = expired ? undefined : await s.users.load(auth.userId);
    if (!user || user.disabled) {
      delete req.session.auth;
      return next();
    }
    req.user = user;
    res.locals.user = user;
    // Signed-in pages must not come back from the browser cache after signing out.
    res.set('Cache-Control', 'no-store');
    res.locals.authLevel = auth.level;
    res.locals.allowedFactors = (await s.userService.policy(now)).allowedFactors;
    // Enrolment put off during the policy's grace period: every page says how long is left.
    res.locals.graceDaysLeft = auth.graceUntil && auth.level === 'full' ? Math.max(1, Math.ceil((auth.graceUntil - now) / 86400_000)) : 0;
    res.locals.graceUntil = auth.level === 'enroll' && auth.graceUntil && auth.graceUntil > now && !auth.replacing ? auth.graceUntil : 0;
    next();
  };
}

/** flash queues a one-time message for the next page (POST-redirect-GET). */
export function flash(req: Request, kind: 'ok' | 'error', key: string, params?: Record<string, string | number>): void {
  (req.session.flash ??= []).push({ kind, key, params });
}

/** flashMiddleware hands queued messages to the page being rendered, once. */
export function flashMiddleware(req: Request, res: Response, next: NextFunction): void {
  const render = res.render.bind(res);
  res.render = ((view: string, opts?: object, cb?: never) => {
    const queued = req.session?.flash ?? [];
    if (req.session?.flash) delete req.session.flash;
    res.locals.flash = queued.map((f) => ({ kind: f.kind, text: req.t(f.key, f.params) }));
    return render(view, opts as object, cb);
  }) as typeof res.render;
  next();
}

/** regenerate gives the session a new id, keeping only its messages, a form held for after a step-up and an authenticator key being added; the caller sets the new state. */
export function regenerate(req: Request): Promise<void> {
  const { flash: flashes, held, pendingTotp } = req.session;
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(err);
      if (flashes) req.session.flash = flashes;
      if (held) req.session.held = held;
      // An authenticator key already scanned stays valid across a step-up.
      if (pendingTotp) req.session.pendingTotp = pendingTotp;
      // The next page's form token, made now so it is stored with the new session rather than by that page.
      issueCsrfToken(req);
      resolve();
    }),
  );
}

/**
 * safeNext accepts only local paths for redirects after a step, never another
 * site. Control characters are refused too: browsers drop tabs and line
 * breaks from a location, so "/<tab>/evil.example" would become "//evil.example".
 */
export function safeNext(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return fallback;
  return next.slice(0, 300);
}
