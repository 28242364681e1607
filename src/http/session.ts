import session from 'express-session';
import type { RequestHandler } from 'express';
import { isHttps } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { DbSessionStore } from '../auth/session-store.ts';

/** sessionCookieName uses the `__Host-` prefix over https, so the cookie is bound to this host and path /. */
export function sessionCookieName(config: Config): string {
  return isHttps(config) ? '__Host-postern.sid' : 'postern.sid';
}

/**
 * sessionMiddleware: 128+ bit ids (express-session uses 24 random bytes),
 * HttpOnly, SameSite=Lax, Secure over https; the idle timeout slides with
 * each request and the absolute limit is enforced in authMiddleware.
 */
export function sessionMiddleware(config: Config, store: DbSessionStore, secret: string): RequestHandler {
  return session({
    name: sessionCookieName(config),
    secret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    proxy: config.TRUST_PROXY !== '',
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: isHttps(config),
      path: '/',
      maxAge: config.SESSION_IDLE_MINUTES * 60_000,
    },
  });
}

/**
 * saveBeforeRedirect stores the session before a redirect leaves. Left to
 * itself express-session sends the headers first and saves as the body
 * ends, and a browser may follow the Location before the new session (say,
 * the one waiting for a code) is in the store, landing back on the login page.
 * Sessions that carry nothing are not written, so anonymous redirects add no rows.
 */
export const saveBeforeRedirect: RequestHandler = (req, res, next) => {
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const sess = req.session;
    if (!sess || !(sess.auth || sess.flash || sess.pendingCode)) return redirect(...args);
    sess.save((err) => {
      if (err) return next(err);
      // Stored: express-session's own save as the response ends would write the same row again.
      sess.save = ((cb?: (err?: unknown) => void) => {
        cb?.();
        return sess;
      }) as typeof sess.save;
      redirect(...args);
    });
  }) as typeof res.redirect;
  next();
};
