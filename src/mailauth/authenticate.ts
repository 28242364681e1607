import type { AuditLog } from '../audit/log.ts';
import type { AppPasswords } from '../apppasswords/service.ts';
import type { Scope } from '../apppasswords/repo.ts';
import { verifyPassword } from '../auth/password.ts';
import type { Regulator } from '../auth/regulation.ts';
import type { Phones } from '../twofactor/phones.ts';
import type { User, UserRepo } from '../users/repo.ts';
import { LoginCache, type CachedLogin } from './cache.ts';

/** MailAuthRequest is one IMAP or SMTP login, as a proxy or the mail server reports it. */
export interface MailAuthRequest {
  user: string;
  secret: string;
  protocol: Scope;
  clientIp: string;
  /** The proxy's attempt counter on this connection (1 for the first). */
  attempt?: number;
}

export type MailAuthResult =
  | { ok: true; user: Pick<User, 'id' | 'email'>; via: 'app_password' | 'password' }
  | { ok: false; kind: 'refused' | 'use_app_password'; message: string }
  | { ok: false; kind: 'throttled'; message: string; waitSeconds: number }
  | { ok: false; kind: 'tempfail'; message: string };

/** Texts mail clients show. Plain ASCII, because IMAP and SMTP replies are. */
export const MAIL_MESSAGES = {
  refused: 'Authentication failed.',
  useAppPassword: 'Two-step verification is on: use a client-specific password (webmail: Settings > Client-specific passwords).',
  throttled: 'Too many failed logins. Try again later.',
  tempfail: 'Temporary authentication failure. Try again later.',
} as const;

export interface MailAuthDeps {
  users: UserRepo;
  phones: Phones;
  appPasswords: AppPasswords;
  regulator: Regulator;
  audit: AuditLog;
  /** Whether main passwords may open IMAP/SMTP for users without two-step verification. */
  mainPasswordAllowed: () => Promise<boolean>;
  cache?: LoginCache;
}

/**
 * MailAuthenticator.authenticate is the only place that decides whether an
 * IMAP or SMTP login is admitted. A client-specific password within its
 * scopes and expiry is. The main password is refused once the user has
 * two-step verification (or when main-password mail logins are off), and the
 * client is told to use a client-specific password, but only after the
 * password proved right. Each login costs at most one argon2 verification,
 * and a client reconnecting with credentials verified minutes ago costs
 * neither a hash nor a query while the database's change notifications keep
 * the cache honest.
 * Any failure of the store answers a temporary failure, never OK.
 */
export class MailAuthenticator {
  readonly cache: LoginCache;
  /**
   * Whether change notifications reach the cache. Only then may a cached
   * login be admitted without asking the database; while they are down every
   * login is checked afresh.
   */
  private live = false;

  constructor(private readonly d: MailAuthDeps) {
    this.cache = d.cache ?? new LoginCache();
  }

  /** credentialsChanged is fed by the database's change notifications: a user id, or '*' for everyone. */
  credentialsChanged(payload: string): void {
    if (payload === '*' || !payload) this.cache.clear();
    else this.cache.forgetUser(payload);
  }

  /** notificationsLive records whether change notifications are flowing; when they stop, nothing cached is trusted. */
  notificationsLive(live: boolean): void {
    this.live = live;
    if (!live) this.cache.clear();
  }

  async authenticate(req: MailAuthRequest): Promise<MailAuthResult> {
    const account = req.user.trim().toLowerCase();
    try {
      return await this.decide({ ...req, user: account });
    } catch {
      return { ok: false, kind: 'tempfail', message: MAIL_MESSAGES.tempfail };
    }
  }

  private async decide(req: MailAuthRequest): Promise<MailAuthResult> {
    const key = LoginCache.key(req.user, req.secret, req.protocol);
    const cached = this.live ? this.cache.get(key) : undefined;
    if (cached && this.cachedStillUsable(cached, req.protocol)) {
      return this.admit(req, { id: cached.userId, email: cached.email }, cached.appPasswordId, true);
    }

    const verdict = await this.d.regulator.check('mail', req.user, req.clientIp);
    if (!verdict.allowed) {
      this.log(req, undefined, 'mail.throttled', {});
      return { ok: false, kind: 'throttled', message: MAIL_MESSAGES.throttled, waitSeconds: Math.min(verdict.retryAfterSeconds, 60) };
    }

    const user = req.user.length <= 254 ? await this.d.users.loadByEmail(req.user) : undefined;
    const row = user && !user.disabled ? await this.d.appPasswords.find(user.id, req.secret) : undefined;
    if (row && user) {
      if (!this.usable(row.scopes, row.expiresAt?.getTime() ?? null, req.protocol)) {
        return this.refuse(req, user, row.expiresAt && row.expiresAt <= new Date() ? 'expired' : 'out_of_scope');
      }
      this.cache.set(key, { userId: user.id, email: user.email, appPasswordId: row.id, scopes: row.scopes, passwordExpiresAt: row.expiresAt?.getTime() ?? null });
      return this.admit(req, user, row.id, false);
    }

    // Not a client-specific password: it may be the main password. Verify it
    // (against a dummy for unknown users, so timing tells nothing) before
    // saying that a client-specific password is needed.
    const right = (await verifyPassword(user?.passwordHash, req.secret)) && !!user && !user.disabled;
    if (!right || !user) return this.refuse(req, user, !user ? 'unknown_user' : user.disabled ? 'disabled' : 'wrong_password');
    if (await this.d.phones.load(user.id)) return this.refuse(req, user, 'second_factor_on', true);
    if (!(await this.d.mainPasswordAllowed())) return this.refuse(req, user, 'main_password_off', true);
    this.cache.set(key, { userId: user.id, email: user.email, passwordChangedAt: user.passwordChangedAt.getTime() });
    return this.admit(req, user, undefined, false);
  }

  /** cachedStillUsable applies what can change without a write: a client-specific password's expiry, and its scopes. */
  private cachedStillUsable(c: CachedLogin, protocol: Scope): boolean {
    if (!c.appPasswordId) return true;
    return this.usable(c.scopes ?? [], c.passwordExpiresAt ?? null, protocol);
  }

  private usable(scopes: string[], expiresAt: number | null, protocol: Scope): boolean {
    return scopes.includes(protocol) && (expiresAt === null || expiresAt > Date.now());
  }

  private async admit(req: MailAuthRequest, user: Pick<User, 'id' | 'email'>, appPasswordId: string | undefined, cached: boolean): Promise<MailAuthResult> {
    if (!cached) await this.d.regulator.record('mail', req.user, req.clientIp, true);
    if (appPasswordId) this.d.appPasswords.noteUse(appPasswordId, req.clientIp, req.protocol);
    this.log(req, user, 'mail.login_ok', { via: appPasswordId ? 'app_password' : 'password', cached });
    return { ok: true, user: { id: user.id, email: user.email }, via: appPasswordId ? 'app_password' : 'password' };
  }

  private async refuse(req: MailAuthRequest, user: User | undefined, reason: string, pointToAppPassword = false): Promise<MailAuthResult> {
    await this.d.regulator.record('mail', req.user, req.clientIp, false);
    this.log(req, user, 'mail.login_failed', { reason });
    return pointToAppPassword
      ? { ok: false, kind: 'use_app_password', message: MAIL_MESSAGES.useAppPassword }
      : { ok: false, kind: 'refused', message: MAIL_MESSAGES.refused };
  }

  private log(req: MailAuthRequest, user: Pick<User, 'id'> | undefined, event: 'mail.login_ok' | 'mail.login_failed' | 'mail.throttled', details: Record<string, unknown>) {
    this.d.audit.recordSoon({
      event,
      userId: user?.id ?? null,
      account: req.user.slice(0, 254),
      origin: { ip: req.clientIp, userAgent: req.protocol },
      details: { protocol: req.protocol, ...details },
    });
  }
}
