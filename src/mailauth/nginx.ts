import type { Request, Response } from 'express';
import type { Config } from '../config/schema.ts';
import type { MailAuthenticator, MailAuthRequest } from './authenticate.ts';
import { MAIL_MESSAGES } from './authenticate.ts';
import { nginxRequest } from './login-request.ts';

/** An answer to nginx: it reads the verdict from the headers and ignores the status. */
export interface NginxAnswer {
  status: number;
  headers: Record<string, string>;
  /** The login admitted, as read from nginx's headers (for the front's thread to hold its answer). */
  admitted?: MailAuthRequest;
}

/**
 * nginxAuthHandler answers nginx's mail `auth_http` request. nginx sends the
 * client's credentials URL-escaped in headers; the answer is in headers too.
 * On success the backend gets the Dovecot master login for the user, so it
 * never sees the client-specific password. nginx ignores the HTTP status.
 */
export function nginxAuthHandler(config: Config, auth: MailAuthenticator) {
  return async (req: Request, res: Response) => {
    const answer = await nginxAnswer(config, auth, (name) => req.get(name), req.socket.remoteAddress);
    res.status(answer.status).set(answer.headers).end();
  };
}

/** nginxAnswer is the verdict on one `auth_http` request, given a way to read its headers and the caller's address. */
export async function nginxAnswer(config: Config, auth: MailAuthenticator, get: (name: string) => string | undefined, remoteAddress?: string): Promise<NginxAnswer> {
  const protocol = (get('auth-protocol') ?? '').toLowerCase();
  const smtp = protocol === 'smtp';
  const fail = (status: number, message: string, extra: Record<string, string> = {}): NginxAnswer => ({ status, headers: { 'Auth-Status': message, ...extra } });
  const temporary: Record<string, string> = smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {};
  const login = nginxRequest(get, remoteAddress);
  if (!login) return fail(200, MAIL_MESSAGES.refused, smtp ? { 'Auth-Error-Code': '535 5.7.8' } : {});
  const result = await auth.authenticate(login);
  if (result.ok) return { status: 200, headers: nginxAdmits(config, result.user.email, smtp), admitted: login };
  if (result.kind === 'tempfail') return fail(200, result.message, temporary);
  // Too many logins wait for a hash: nginx keeps the connection, answers after the wait, and the client tries again.
  if (result.kind === 'busy') return fail(200, result.message, { 'Auth-Wait': String(result.waitSeconds), ...temporary });
  if (result.kind === 'throttled') {
    return fail(200, result.message, { 'Auth-Wait': String(result.waitSeconds), ...(smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {}) });
  }
  // A short wait before nginx lets the client retry slows guessing on one connection.
  return fail(200, result.message, { 'Auth-Wait': '1', ...(smtp ? { 'Auth-Error-Code': '535 5.7.8' } : {}) });
}

/** nginxAdmits is the answer that sends an admitted client on to the mail server, logged in there as the master user on the mailbox's behalf. */
function nginxAdmits(config: Config, mailbox: string, smtp: boolean): Record<string, string> {
  return {
    'Auth-Status': 'OK',
    'Auth-Server': smtp ? config.SUBMISSION_HOST : config.IMAP_HOST,
    'Auth-Port': String(smtp ? (config.PROXIED_SUBMISSION_PORT ?? config.SUBMISSION_PORT) : (config.PROXIED_IMAP_PORT ?? config.IMAP_PORT)),
    'Auth-User': `${mailbox}*${config.MAIL_MASTER_USER}`,
    'Auth-Pass': config.MAIL_MASTER_PASSWORD!,
  };
}
