import type { AuditLog } from '../audit/log.ts';
import type { AppPasswords } from '../apppasswords/service.ts';
import type { AppPassword, Scope } from '../apppasswords/repo.ts';
import { verifyPassword } from '../auth/password.ts';
import type { Regulated, Regulator } from '../auth/regulation.ts';
import type { User, UserRepo } from '../users/repo.ts';
import { LoginCache, type CachedLogin } from './cache.ts';
import { HashQueue } from './hash-queue.ts';
import { canonical, loginKey } from './login-request.ts';
import type { MailClient } from './imap-id.ts';

/** MailAuthRequest is one IMAP or SMTP login, as a proxy or the mail server reports it. */
export interface MailAuthRequest {
  user: string;
  secret: string;
  protocol: Scope;
  clientIp: string;
  /** The proxy's attempt counter on this connection (1 for the first). */
  attempt?: number;
  /** The mail app as it named itself (IMAP ID before login), when the login carries it: noted with the use. */
  client?: MailClient;
}

/** On success, `user.email` is the canonical mailbox name: the only one a proxy or Dovecot may open. */
export type MailAuthResult =
  | { ok: true; user: Pick<User, 'id' | 'email'>; via: 'app_password' | 'password' }
  | { ok: false; kind: 'refused' | 'use_app_password'; message: string }
  | { ok: false; kind: 'throttled'; message: string; waitSeconds: number }
  | { ok: false; kind: 'tempfail'; message: string }
  /** More logins wait for a hash than finish within the proxy's timeout: come back in `waitSeconds`. */
  | { ok: false; kind: 'busy'; message: string; waitSeconds: number };

/** Texts mail clients show. Plain ASCII, because IMAP and SMTP replies are. */
export const MAIL_MESSAGES = {
  refused: 'Authentication failed.',
  useAppPassword: 'Two-step verification is on: use a client-specific password (webmail: Settings > Client-specific passwords).',
  throttled: 'Too many failed logins. Try again later.',
  tempfail: 'Temporary authentication failure. Try again later.',
} as const;

export interface MailAuthDeps {
  users: UserRepo;
  /** Whether the user has a second factor: then the main password never opens mail. */
  hasFactor: (user: User) => Promise<boolean>;
  appPasswords: AppPasswords;
  regulator: Regulator;
  audit: AuditLog;
  /** Whether the two-step policy applies to the user: their own setting, else the site's. */
  requires2fa: (user: User) => Promise<boolean>;
  /** Whether main passwords may open IMAP/SMTP for users without two-step verification. */
  mainPasswordAllowed: () => Promise<boolean>;
  cache?: LoginCache;
  /** Turns logins away at once, with a wait, when their hash would finish after the proxy gave up. */
  queue?: HashQueue;
  /**
   * Where a person creates client-specific passwords (PUBLIC_URL's settings
   * page). Mail apps can only show ASCII at login (IMAP allows UTF-8 only
   * after it, SMTP only from MAIL FROM), so the refusal names this page,
   * which explains the rest in the reader's own language.
   */
  appPasswordsUrl?: string;
}

/** Longest secret worth hashing: longer ones cannot be a valid password. */
const SECRET_MAX = 1024;
/** Longest account name Postern creates. */
const NAME_MAX = 254;
const CONTROL = /\p{Cc}/u;

/** What one regulated verification found out. `ok` is what the regulator records. */
type Verification =
  | { ok: true; user: User; appPassword?: AppPassword }
  | { ok: false; user?: User; reason: string; pointToAppPassword?: boolean };

/**
 * MailAuthenticator.authenticate is the only place that decides whether an
 * IMAP or SMTP login is admitted, and under which canonical mailbox name. A
 * client-specific password within its scopes and expiry is. The main
 * password is refused when the user has a second factor, when the two-step
 * policy applies to them, or when main-password mail logins are off; the
 * client is told to use a client-specific password, but only after the
 * password proved right.
 *
 * Every verification runs inside the regulator's reservation, so parallel
 * guesses cannot outrun the throttle; a client address that signed in to the
 * account before keeps its own count, so strangers cannot lock the owner
 * out. Each login costs at most one argon2 verification, and a client
 * reconnecting with credentials verified minutes ago costs neither a hash
 * nor a query while the database's change notifications keep the cache
 * honest; after a restart, or on another node, a stored verifier of the
 * same client and address spares the hash (one query). When more logins
 * wait for a hash than can finish before the proxy gives up, the rest are
 * told at once to retry after a wait. Any failure of the store answers a
 * temporary failure, never OK.
 */
export class MailAuthenticator {
  readonly cache: LoginCache;
  private readonly queue: HashQueue;
  /**
   * Whether change notifications reach the cache. Only then may a cached
   * login be admitted without asking the database; while they are down every
   * login is checked afresh.
   */
  private live = false;

  constructor(private readonly d: MailAuthDeps) {
    this.cache = d.cache ?? new LoginCache();
    this.queue = d.queue ?? new HashQueue();
  }

  /** credentialsChanged is fed by the database's change notifications: a user id, or '*' for everyone. */
  credentialsChanged(payload: string): void {
    if (payload === '*' || !payload) this.cache.clear();
    else this.cache.forgetUser(payload);
  }

  /**
   * notificationsLive records whether change notifications are flowing.
   * Either way nothing cached before is trusted: when they stop, changes go
   * unannounced; when they resume, those made meanwhile were never announced.
   */
  notificationsLive(live: boolean): void {
    this.live = live;
    this.cache.clear();
  }

  async authenticate(req: MailAuthRequest): Promise<MailAuthResult> {
    try {
      return await this.decide(canonical(req));
    } catch {
      return { ok: false, kind: 'tempfail', message: MAIL_MESSAGES.tempfail };
    }
  }

  /**
   * cachedFor is the cached login `req` would be admitted with right now:
   * what a quicker answerer (the mail-login front's thread) may hold and
   * answer from, as long as it forgets what the cache's onChange says.
   * Undefined unless notifications are live and the login is cached and usable.
   */
  cachedFor(req: MailAuthRequest): { key: string; login: CachedLogin } | undefined {
    if (!this.live) return undefined;
    const key = loginKey(req);
    const login = this.cache.get(key);
    return login && this.cachedStillUsable(login, req.protocol) ? { key, login } : undefined;
  }

  /**
   * admittedFromCopy notes and audits a login that a holder of cachedFor's
   * answer admitted, as this thread would have; the same login repeated
   * `count` times at once is one audit line with its count.
   */
  admittedFromCopy(use: Pick<MailAuthRequest, 'user' | 'protocol' | 'clientIp'>, login: Pick<CachedLogin, 'userId' | 'email' | 'appPasswordId'>, count = 1): void {
    this.admit({ ...use, secret: '' }, { id: login.userId, email: login.email }, login.appPasswordId, true, count);
  }

  /** auditWritten resolves once the audit lines queued so far are in the database. */
  auditWritten(): Promise<void> {
    return this.d.audit.flush();
  }

  private async decide(req: MailAuthRequest): Promise<MailAuthResult> {
    const key = loginKey(req);
    const cached = this.live ? this.cache.get(key) : undefined;
    if (cached && this.cachedStillUsable(cached, req.protocol)) {
      return this.admit(req, { id: cached.userId, email: cached.email }, cached.appPasswordId, true);
    }
    // No account has such a name: refuse without touching the store or a hash.
    if (req.user.length > NAME_MAX || CONTROL.test(req.user)) return this.refuse(req, undefined, 'malformed_name');

    // Everything past the cache costs the store's time, and most of it a hash: a login that would wait
    // longer than the proxy does is turned away now, before it adds to the queue.
    const place = this.queue.enter();
    if (!place.ok) {
      this.log(req, undefined, 'mail.throttled', { reason: 'busy', retryAfter: place.retryAfterSeconds });
      return { ok: false, kind: 'busy', message: MAIL_MESSAGES.tempfail, waitSeconds: place.retryAfterSeconds };
    }
    // Only a login that ran a verification teaches the queue how long one takes: a refusal before the hash took no time.
    let hashed = false;
    try {
      await this.queue.turn(place.ticket);
      // A client that proved this password from this address lately (on any node, before a restart) needs no hash.
      const recallGeneration = this.cache.generation();
      const recalled = await this.d.appPasswords.recall(req.user, req.secret.slice(0, SECRET_MAX), req.clientIp);
      if (recalled && !recalled.user.disabled && this.usable(recalled.row.scopes, recalled.row.expiresAt?.getTime() ?? null, req.protocol)) {
        const { row, user } = recalled;
        if (this.live) {
          this.cache.set(key, { userId: user.id, email: user.email, appPasswordId: row.id, scopes: row.scopes, passwordExpiresAt: row.expiresAt?.getTime() ?? null, generation: recallGeneration });
        }
        return this.admit(req, user, row.id, true);
      }
      // Taken before anything is read: a change announced from now on voids what this login caches.
      const generation = this.cache.generation();
      const outcome = await this.d.regulator.regulated({ kind: 'mail', account: req.user, ip: req.clientIp, knownIp: req.clientIp !== 'unknown' }, () => {
        hashed = true;
        return this.verify(req);
      });
      return await this.conclude(req, key, generation, outcome);
    } finally {
      this.queue.leave(place.ticket, hashed);
    }
  }

  private async conclude(req: MailAuthRequest, key: string, generation: number, outcome: Regulated<Verification>): Promise<MailAuthResult> {
    if (!outcome.allowed) {
      this.log(req, undefined, 'mail.throttled', { knownIp: !!outcome.device });
      return { ok: false, kind: 'throttled', message: MAIL_MESSAGES.throttled, waitSeconds: Math.min(outcome.retryAfterSeconds, 60) };
    }
    const v = outcome.result;
    if (!v.ok) return this.refuse(req, v.user, v.reason, v.pointToAppPassword);
    const { user, appPassword: row } = v;
    if (this.live) {
      this.cache.set(
        key,
        row
          ? { userId: user.id, email: user.email, appPasswordId: row.id, scopes: row.scopes, passwordExpiresAt: row.expiresAt?.getTime() ?? null, generation }
          : { userId: user.id, email: user.email, passwordChangedAt: user.passwordChangedAt.getTime(), generation },
      );
    }
    if (row) await this.d.appPasswords.remember(req.user, req.secret.slice(0, SECRET_MAX), req.clientIp, row.id);
    return this.admit(req, user, row?.id, false);
  }

  /** verify is the one step that runs argon2; the regulator admits it and records whether it succeeded. */
  private async verify(req: MailAuthRequest): Promise<Verification> {
    const user = await this.d.users.loadByEmail(req.user);
    const active = user && !user.disabled ? user : undefined;
    const secret = req.secret.slice(0, SECRET_MAX);
    const row = active ? await this.d.appPasswords.find(active.id, secret) : undefined;
    if (row && active) {
      if (this.usable(row.scopes, row.expiresAt?.getTime() ?? null, req.protocol)) return { ok: true, user: active, appPassword: row };
      return { ok: false, user: active, reason: row.expiresAt && row.expiresAt <= new Date() ? 'expired' : 'out_of_scope' };
    }
    // Not a client-specific password: it may be the main password. Verify it
    // (against a dummy for unknown users, so timing tells nothing) before
    // saying that a client-specific password is needed.
    const right = await verifyPassword(user?.passwordHash, secret);
    if (!right || !active) return { ok: false, user, reason: !user ? 'unknown_user' : user.disabled ? 'disabled' : 'wrong_password' };
    const refusal = await this.mainPasswordRefusal(active);
    if (refusal) return { ok: false, user: active, reason: refusal, pointToAppPassword: true };
    return { ok: true, user: active };
  }

  /** mainPasswordRefusal says why the main password may not open mail for this user, if it may not. */
  private async mainPasswordRefusal(user: User): Promise<string | undefined> {
    if (await this.d.hasFactor(user)) return 'second_factor_on';
    if (await this.d.requires2fa(user)) return 'two_step_required';
    if (!(await this.d.mainPasswordAllowed())) return 'main_password_off';
    return undefined;
  }

  /** cachedStillUsable applies what can change without a write: a client-specific password's expiry, and its scopes. */
  private cachedStillUsable(c: CachedLogin, protocol: Scope): boolean {
    if (!c.appPasswordId) return true;
    return this.usable(c.scopes ?? [], c.passwordExpiresAt ?? null, protocol);
  }

  private usable(scopes: string[], expiresAt: number | null, protocol: Scope): boolean {
    return scopes.includes(protocol) && (expiresAt === null || expiresAt > Date.now());
  }

  private admit(req: MailAuthRequest, user: Pick<User, 'id' | 'email'>, appPasswordId: string | undefined, cached: boolean, count = 1): MailAuthResult {
    if (appPasswordId) this.d.appPasswords.noteUse(appPasswordId, req.clientIp, req.protocol, req.client);
    // The credential's id lets a revocation find the addresses its sessions came from.
    this.log(req, user, 'mail.login_ok', { via: appPasswordId ? 'app_password' : 'password', ...(appPasswordId ? { credential: appPasswordId } : {}), cached, ...(count > 1 ? { count } : {}) });
    return { ok: true, user: { id: user.id, email: user.email }, via: appPasswordId ? 'app_password' : 'password' };
  }

  private refuse(req: MailAuthRequest, user: User | undefined, reason: string, pointToAppPassword = false): MailAuthResult {
    this.log(req, user, 'mail.login_failed', { reason });
    return pointToAppPassword
      ? { ok: false, kind: 'use_app_password', message: this.d.appPasswordsUrl ? `${MAIL_MESSAGES.useAppPassword} ${this.d.appPasswordsUrl}` : MAIL_MESSAGES.useAppPassword }
      : { ok: false, kind: 'refused', message: MAIL_MESSAGES.refused };
  }

  private log(req: MailAuthRequest, user: Pick<User, 'id'> | undefined, event: 'mail.login_ok' | 'mail.login_failed' | 'mail.throttled', details: Record<string, unknown>) {
    this.d.audit.recordSoon({
      event,
      userId: user?.id ?? null,
      // The name as typed may hold anything; the log must stay one readable line per event.
      account: req.user.slice(0, NAME_MAX).replace(/\p{Cc}/gu, '?'),
      origin: { ip: req.clientIp, userAgent: req.protocol },
      details: { protocol: req.protocol, ...details },
    });
  }
}
