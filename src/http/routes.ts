import express, { type RequestHandler } from 'express';
import type { Services } from '../services.ts';
import { authHandlers } from '../auth/handlers.ts';
import { twoFactorHandlers } from '../twofactor/handlers.ts';
import { homeHandlers } from '../home/handlers.ts';
import { appPasswordHandlers } from '../apppasswords/handlers.ts';
import { mailclientHandlers } from '../mailclient/handlers.ts';
import { nginxAuthHandler } from '../mailauth/nginx.ts';
import { dovecotAuthHandler } from '../mailauth/dovecot.ts';
import { webmailRoutes } from '../webmail/routes.ts';
import { elevated, elevatedTo, enroll, guest, pending2fa, session } from './guards.ts';

/**
 * routes is the security map: every path, the guard that protects it and
 * the handler that serves it, in one place.
 */
export function routes(s: Services): express.Router {
  const r = express.Router();
  const auth = authHandlers(s);
  const tf = twoFactorHandlers(s);
  const home = homeHandlers(s);
  const ap = appPasswordHandlers(s);

  // Signing in
  r.get('/login', guest, h(auth.showLogin));
  r.post('/login', guest, h(auth.login));
  r.get('/login/code', pending2fa, h(auth.showCode));
  r.post('/login/code', pending2fa, h(auth.verifyCode));
  r.post('/login/code/resend', pending2fa, h(auth.resendCode));
  r.post('/logout', h(auth.logout));

  // Forced two-step enrolment: the only pages a held user reaches
  r.get('/account-security', enroll, h(tf.showEnroll));
  r.post('/account-security/send', enroll, h(tf.sendEnroll));
  r.post('/account-security/confirm', enroll, h(tf.confirmEnroll));

  // Signed in
  r.get('/', session, h(home.index));
  r.get('/settings/security', session, h(tf.overview));
  r.get('/settings/security/sms', session, h(tf.showSms));
  r.post('/settings/security/sms/send', session, h(tf.sendFirstSms));
  r.post('/settings/security/sms/change', elevatedTo('/settings/security/sms'), h(tf.sendSms));
  r.post('/settings/security/sms/confirm', session, h(tf.confirmSms));
  r.post('/settings/security/sms/unbind', elevatedTo('/settings/security/sms'), h(tf.unbind));
  r.get('/settings/security/verify', session, h(tf.showVerify));
  r.post('/settings/security/verify/send', session, h(tf.sendVerify));
  r.post('/settings/security/verify', session, h(tf.verify));
  r.get('/settings/security/devices', session, h(tf.devices));
  r.post('/settings/security/devices/revoke-all', session, h(tf.revokeAllDevices));
  r.post('/settings/security/devices/:id/revoke', session, h(tf.revokeDevice));
  r.get('/settings/password', elevated, h(auth.showPassword));
  r.post('/settings/password', elevated, h(auth.changePassword));
  r.get('/settings/app-passwords', session, h(ap.list));
  r.post('/settings/app-passwords', elevated, h(ap.create));
  r.post('/settings/app-passwords/profile', session, h(ap.profile));
  r.post('/settings/app-passwords/revoke-all', session, h(ap.revokeAll));
  r.post('/settings/app-passwords/:id/revoke', session, h(ap.revoke));

  // Webmail: mailboxes and shared mailboxes (guards declared in webmail/routes.ts)
  r.use(webmailRoutes(s));

  return r;
}

/** mailauthRoutes are asked by nginx and Dovecot about every mail login; the shared secret guards them. */
export function mailauthRoutes(s: Services): express.Router {
  const r = express.Router();
  r.get('/nginx', h(nginxAuthHandler(s.config, s.mailAuth)));
  r.post('/dovecot', express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }), h(dovecotAuthHandler(s.config, s.mailAuth, s.users)));
  return r;
}

/** mailclientRoutes publish client settings; public, like a mail provider's. */
export function mailclientRoutes(s: Services): express.Router {
  const r = express.Router();
  const mc = mailclientHandlers(s);
  r.get('/.well-known/autoconfig/mail/config-v1.1.xml', mc.autoconfig);
  r.get('/mail/config-v1.1.xml', mc.autoconfig);
  return r;
}

/** h passes a handler's rejection to the error handler. */
function h(fn: (req: express.Request, res: express.Response) => unknown): RequestHandler {
  return async (req, res, next) => {
    try {
      await fn(req, res);
    } catch (err) {
      next(err);
    }
  };
}
