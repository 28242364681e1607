import express from 'express';
import type { Services } from '../services.ts';
import { errorHandler } from './errors.ts';
import { mailauthRoutes } from './routes.ts';

/**
 * createMailauthApp serves only the endpoints nginx and Dovecot ask about
 * mail logins, for MAILAUTH_LISTEN: an address that only they can reach,
 * apart from the public web pages. Anything else is a bare 404.
 */
export function createMailauthApp(s: Services): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use('/mailauth', mailauthRoutes(s));
  app.use((_req, res) => {
    res.sendStatus(404);
  });
  app.use(errorHandler(s.log));
  return app;
}
