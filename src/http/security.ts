import helmet from 'helmet';
import type { Request, RequestHandler } from 'express';
import { csrfSync } from 'csrf-sync';
import { forbidden } from './errors.ts';
import type { LoginCsrf } from './login-csrf.ts';

/** securityHeaders: a strict CSP (no inline script, no framing, no plugins), nosniff, no referrer, HSTS over https. */
export function securityHeaders(https: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: https ? { maxAge: 31536000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    // The same as frame-ancestors 'none', for browsers that predate CSP.
    xFrameOptions: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });
}

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: (req) => {
    if (typeof req.body?._csrf === 'string') return req.body._csrf;
    // A multipart body is read only after its route's guards (http/uploads.ts), so such a form carries its token in the action URL.
    if (req.is('multipart/form-data') && typeof req.query._csrf === 'string') return req.query._csrf;
    return req.get('x-csrf-token');
  },
});

/** issueCsrfToken gives a session its form token now (a new session, say), so the next page need not store one. */
export function issueCsrfToken(req: Request): void {
  generateToken(req);
}

/** The forms posted before there is a session: the password, and a passkey sign-in (its challenge request too). */
const LOGIN_FORMS = new Set(['/login', '/login/passwordless/options', '/login/passwordless']);

/**
 * csrfProtection checks the per-session token on every unsafe request; the
 * sign-in form, posted before there is a session, carries a signed
 * double-submit token instead (see LoginCsrf).
 */
export function csrfProtection(login: LoginCsrf): RequestHandler {
  return function csrf(req, res, next) {
    if (req.method === 'POST' && LOGIN_FORMS.has(req.path)) return login.verify(req) ? next() : next(forbidden('error.csrf'));
    return csrfSynchronisedProtection(req, res, next);
  };
}

/**
 * sameOrigin refuses unsafe requests a browser marks as cross-site, as a
 * second line behind the token (Sec-Fetch-Site, else Origin against Host).
 */
export const sameOrigin: RequestHandler = (req, _res, next) => {
  if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return next();
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return next(forbidden('error.csrf'));
  const origin = req.get('origin');
  if (origin && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      return next(forbidden('error.csrf'));
    }
    if (host !== req.get('host')) return next(forbidden('error.csrf'));
  }
  next();
};
