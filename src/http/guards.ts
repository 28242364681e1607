import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { basicAuthPassword, hasMailauthSecret, mailauthSecretMatches } from '../mailauth/secret-header.ts';
import { MAIL_MESSAGES } from '../mailauth/authenticate.ts';
import type { Need, SignInFlow } from '../auth/flow.ts';
import { holdForm } from './held-form.ts';
import type { UserService } from '../users/service.ts';
import type { PolicyFactor } from '../users/policy.ts';
import { allows, type Action } from '../sharing/policy.ts';
import type { MailboxAccess, Sharing } from '../sharing/service.ts';
import { ownerParams } from '../webmail/schema.ts';
import { badRequest, forbidden } from './errors.ts';

/**
 * Guards decide who reaches a route. Each one is named for the state it
 * admits; routes.ts pairs every path with one of them.
 */

/** guest admits anyone not fully signed in; signed-in users go home. */
export const guest: RequestHandler = (req, res, next) => {
  if (req.user && req.session.auth?.level === 'full') return res.redirect(303, '/');
  next();
};

/** pending2fa admits a session whose password was right and whose code is due. */
export const pending2fa: RequestHandler = (req, res, next) => {
  if (req.user && req.session.auth?.level === 'pending2fa') return next();
  res.redirect(303, '/login');
};

/** enroll admits a session held until it binds a second factor (forced 2FA). */
export const enroll: RequestHandler = (req, res, next) => {
  if (req.user && req.session.auth?.level === 'enroll') return next();
  res.redirect(303, req.session.auth?.level === 'full' ? '/settings/security' : '/login');
};

/** The pages a user with a temporary password reaches: the password page and the check it may ask for. */
const MUST_CHANGE_ALLOWED = ['/settings/password', '/settings/security/verify', '/settings/security/continue'];

/**
 * session admits signed-in users. Every other state is sent where it
 * belongs, so a forced-2FA user reaches nothing but the enrolment page.
 */
export const session: RequestHandler = (req, res, next) => {
  const level = req.user ? req.session.auth?.level : undefined;
  // A temporary password from an administrator is changed before anything else.
  if (level === 'full' && req.user!.mustChangePassword && !MUST_CHANGE_ALLOWED.some((p) => req.path.startsWith(p))) return res.redirect(303, '/settings/password');
  if (level === 'full') return next();
  if (level === 'enroll') return res.redirect(303, '/account-security');
  if (level === 'pending2fa') return res.redirect(303, '/login/code');
  if (req.method === 'GET' && req.accepts('html')) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  res.redirect(303, '/login');
};

/** The page a step-up returns to: a path, or one made from the request (the page of the account an action is about). */
type Page = string | ((req: Request) => string);

/**
 * stepUp makes the guards of operation protection: `need` is what the action
 * asks for (see Need in auth/flow.ts), decided per user on each request:
 * a fresh second factor, or a fresh password for a user without one. A
 * session without it is sent to the verify page and then back to `page`
 * (for a POST, the page its form is on; browsers send no Referer here, by
 * policy); the form it posted is held and offered again once verified.
 */
export function stepUp(flow: SignInFlow, need: Need): (page?: Page) => RequestHandler[] {
  return (page) => [
    session,
    named(`elevated:${need}`, async (req: Request, res: Response, next: NextFunction) => {
      if (flow.isFresh(req.session.auth, await flow.proofNeeded(req.user!, need))) return next();
      const back = (typeof page === 'function' ? page(req) : page) ?? (req.method === 'GET' ? req.originalUrl : req.path);
      if (req.method === 'POST') holdForm(req, back);
      res.redirect(303, `/settings/security/verify?${new URLSearchParams({ next: back, need })}`);
    }),
  ];
}

/**
 * adminGuard makes the guard of the administration console: a signed-in
 * administrator (anyone else gets 403, not a redirect loop) who proved a
 * second factor (or the password, while they have none) in the last ten
 * minutes, whatever their own protection settings; otherwise the verify
 * page, then back to `page` with a posted form held.
 */
export function adminGuard(flow: SignInFlow): (page?: Page) => RequestHandler[] {
  const fresh = stepUp(flow, 'factors');
  return (page) => [session, isAdmin, ...fresh(page).slice(1)];
}

const isAdmin = named('admin', (req, _res, next) => {
  if (!req.user!.isAdmin || req.user!.disabled) throw forbidden('admin.forbidden');
  next();
});

/**
 * mailbox(action) admits a signed-in user to a mailbox for one action
 * (view, flag, delete, move, send): their own at /mail, or the one at
 * /mail/shared/<owner> when its owner shared it with them at a level that
 * allows the action. The grant is read from the store on every request, so
 * a revoked or lowered grant is refused at once, whatever the form sent.
 * Runs after `session`; handlers read its decision with mailboxAccess.
 */
export function mailboxGuard(sharing: Sharing): (action: Action) => RequestHandler {
  return (action) => named(`mailbox:${action}`, async (req, res, next) => {
    const access = await accessTo(sharing, req);
    if (!allows(access.level, action)) throw forbidden(`mail.forbidden.${action}`);
    res.locals.mailbox = access;
    next();
  });
}

/** accessTo reads the user's access to the mailbox of the path (their own, or /mail/shared/<owner>); none is 403. */
async function accessTo(sharing: Sharing, req: Request): Promise<MailboxAccess> {
  let owner: string | undefined;
  if (req.params.owner !== undefined) {
    const params = ownerParams.safeParse(req.params);
    if (!params.success) throw badRequest();
    owner = params.data.owner;
  }
  const access = await sharing.access(req.user!, owner);
  if (!access) throw forbidden('mail.no_access');
  return access;
}

/**
 * mailboxOwner admits only a mailbox's owner: its folders (create, rename,
 * delete, empty) are never delegated, whatever the grant, so under
 * /mail/shared/<owner> every delegate is refused (403). Runs after `session`.
 */
export function mailboxOwner(sharing: Sharing): RequestHandler {
  return named('mailbox:owner', async (req, res, next) => {
    const access = await accessTo(sharing, req);
    if (access.level !== 'owner') throw forbidden('mail.forbidden.folders');
    res.locals.mailbox = access;
    next();
  });
}

/**
 * factorAllowed admits the pages that add a factor of `kind` only while the
 * policy allows that kind (an administrator may turn text messages off,
 * say); factors already set up keep working and can be removed.
 */
export function factorAllowed(users: UserService, kind: PolicyFactor): RequestHandler {
  return named(`allowed:${kind}`, async (_req, _res, next) => {
    if (!(await users.policy()).allowedFactors.includes(kind)) throw forbidden('policy.factor_not_allowed');
    next();
  });
}

/** named gives a guard made by a factory the name the route table shows for it. */
function named(name: string, guard: RequestHandler): RequestHandler {
  return Object.defineProperty(guard, 'name', { value: name });
}

/** mailboxAccess reads what the mailbox guard decided for this request. */
export function mailboxAccess(res: Response): MailboxAccess {
  return res.locals.mailbox as MailboxAccess;
}

/**
 * mailauthSecret admits only nginx and Dovecot: callers that present the
 * shared secret in X-Mailauth-Secret. Anyone else gets a temporary failure in
 * both peers' terms: 401 (the Lua passdb treats it as an internal failure)
 * with an Auth-Status text for nginx, never a verdict on the credentials.
 * With `basicAuth`, the secret may come as the password of HTTP Basic
 * credentials instead: Dovecot's event exporter can send no other header.
 */
export function mailauthSecret(secret: string | undefined, opts: { basicAuth?: boolean } = {}): RequestHandler {
  return function mailauthSecret(req, res, next) {
    if (hasMailauthSecret(req, secret)) return next();
    if (opts.basicAuth && mailauthSecretMatches(basicAuthPassword(req.get('authorization')), secret)) return next();
    const smtp = (req.get('auth-protocol') ?? '').toLowerCase() === 'smtp';
    res
      .status(401)
      .set({ 'Auth-Status': MAIL_MESSAGES.tempfail, ...(smtp ? { 'Auth-Error-Code': '454 4.7.0' } : {}) })
      .type('text/plain')
      .send('');
  };
}
