import type { Request, Response } from 'express';
import type { Config } from '../config/schema.ts';
import type { MailAuthenticator } from './authenticate.ts';
import { MAIL_MESSAGES } from './authenticate.ts';

function header(req: Request, name: string): string {
  const raw = req.get(name) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * nginxAuthHandler answers nginx's mail `auth_http` request. nginx sends the
 * client's credentials URL-escaped in headers; the answer is in headers too.
 * On success the backend gets the Dovecot master login for the user, so it
 * never sees the client-specific password. nginx ignores the HTTP status.
 */
export function nginxAuthHandler(config: Config, auth: MailAuthenticator) {
  return async (req: Request, res: Response) => {
    const protocol = (req.get('auth-protocol') ?? '').toLowerCase();
    const smtp = protocol === 'smtp';
    const fail = (status: number, message: string, extra: Record<string, string> = {}) => {
      res.status(status).set({ 'Auth-Status': message, ...extra }).end();
    };
    const temporary: Record<string, string> = smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {};
    const method = (req.get('auth-method') ?? '').toLowerCase();
    if ((protocol !== 'imap' && protocol !== 'smtp') || (method !== 'plain' && method !== 'login')) {
      return fail(200, MAIL_MESSAGES.refused, smtp ? { 'Auth-Error-Code': '535 5.7.8' } : {});
    }
    const result = await auth.authenticate({
      user: header(req, 'auth-user'),
      secret: header(req, 'auth-pass'),
      protocol,
      clientIp: req.get('client-ip') ?? req.socket.remoteAddress ?? 'unknown',
      attempt: Number(req.get('auth-login-attempt') ?? '1') || 1,
    });
    if (result.ok) {
      res.set({
        'Auth-Status': 'OK',
        'Auth-Server': smtp ? config.SUBMISSION_HOST : config.IMAP_HOST,
        'Auth-Port': String(smtp ? (config.PROXIED_SUBMISSION_PORT ?? config.SUBMISSION_PORT) : (config.PROXIED_IMAP_PORT ?? config.IMAP_PORT)),
        'Auth-User': `${result.user.email}*${config.MAIL_MASTER_USER}`,
        'Auth-Pass': config.MAIL_MASTER_PASSWORD!,
      });
      return res.status(200).end();
    }
    if (result.kind === 'tempfail') return fail(200, result.message, temporary);
    // Too many logins wait for a hash: nginx keeps the connection, answers after the wait, and the client tries again.
    if (result.kind === 'busy') return fail(200, result.message, { 'Auth-Wait': String(result.waitSeconds), ...temporary });
    if (result.kind === 'throttled') {
      return fail(200, result.message, { 'Auth-Wait': String(result.waitSeconds), ...(smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {}) });
    }
    // A short wait before nginx lets the client retry slows guessing on one connection.
    return fail(200, result.message, { 'Auth-Wait': '1', ...(smtp ? { 'Auth-Error-Code': '535 5.7.8' } : {}) });
  };
}
