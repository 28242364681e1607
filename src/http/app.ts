import express from 'express';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Services } from '../services.ts';
import { isHttps } from '../config/load.ts';
import { authMiddleware, flashMiddleware, localeMiddleware } from './context.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { mailclientRoutes, mailauthRoutes, routes } from './routes.ts';
import { csrfProtection, sameOrigin, securityHeaders } from './security.ts';
import { saveBeforeRedirect, sessionMiddleware } from './session.ts';
import { LoginCsrf } from './login-csrf.ts';
import { refuseNul } from './input.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** createApp assembles the web application: headers, statics, session, language, CSRF, routes, errors. */
export function createApp(s: Services): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', parseTrustProxy(s.config.TRUST_PROXY));
  app.set('view engine', 'ejs');
  app.set('views', join(root, 'views'));
  if (process.env.NODE_ENV !== 'development') app.enable('view cache');

  app.use(securityHeaders(isHttps(s.config)));
  app.use('/static', express.static(join(root, 'public'), { maxAge: '1h', index: false }));
  app.get('/healthz', async (_req, res) => {
    try {
      await s.store.ping();
      res.json({ ok: true });
    } catch {
      res.status(503).json({ ok: false });
    }
  });

  // Machine endpoints: no session and no CSRF token; a shared secret or nothing secret at all.
  // With MAILAUTH_LISTEN, mail logins are answered only on that address (mailauth/front.ts).
  app.use('/mailauth', s.config.MAILAUTH_LISTEN ? (_req: express.Request, res: express.Response) => void res.sendStatus(404) : mailauthRoutes(s));
  app.use(mailclientRoutes(s));

  // Page defaults first, so even a request refused by the body parser renders a full page.
  app.use((req, res, next) => {
    res.locals.csrfToken = () => req.csrfToken?.() ?? '';
    res.locals.serviceName = s.config.SERVICE_NAME;
    res.locals.mailConfigured = s.mail.imap.configured;
    res.locals.user = null;
    res.locals.authLevel = null;
    res.locals.flash = [];
    next();
  });
  app.use(localeMiddleware);
  app.use(express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 }));
  app.use(refuseNul);
  app.use(sessionMiddleware(s.config, s.sessions, s.sessionSecret));
  app.use(saveBeforeRedirect);
  app.use(flashMiddleware);
  app.use(sameOrigin);
  const loginCsrf = new LoginCsrf(s.sessionSecret, s.config);
  app.use((req, res, next) => {
    res.locals.loginCsrf = () => loginCsrf.token(req, res);
    next();
  });
  // Multipart forms are read only by their route, after its guards (see uploads.ts): their token rides in the URL.
  app.use(csrfProtection(loginCsrf));
  app.use(authMiddleware(s));
  app.use(routes(s));
  app.use(notFoundHandler);
  app.use(errorHandler(s.log));
  return app;
}

/** parseTrustProxy reads TRUST_PROXY: empty trusts no proxy, so X-Forwarded-For is ignored. */
function parseTrustProxy(value: string): boolean | number | string[] {
  if (!value) return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((v) => v.trim());
}
