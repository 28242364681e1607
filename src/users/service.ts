import type { AuditLog, Origin } from '../audit/log.ts';
import { checkNewPassword, hashPassword, type PasswordProblem } from '../auth/password.ts';
import type { User, UserRepo } from './repo.ts';
import { enrolmentFor, policySettings, readPolicy, type Policy } from './policy.ts';

/** How long a read policy is used before it is read again, should a change notification be lost. */
const POLICY_CACHE_MS = 10_000;

/** validEmail tells whether an address is one Postern accepts for an account. */
export function validEmail(email: string): boolean {
  return email.length <= 254 && EMAIL.test(email);
}

// The domain is split at its first dot after the first character: one way to match, so no backtracking.
const EMAIL = /^[^\s@]+@[^\s@][^\s@.]*\.[^\s@]+$/;

export class UserError extends Error {
  constructor(readonly key: PasswordProblem | 'user.email_invalid' | 'user.exists') {
    super(key);
  }
}

/** UserService holds the rules for creating accounts and the two-step policy. */
export class UserService {
  private cached: { at: number; policy: Policy } | undefined;

  constructor(
    private readonly repo: UserRepo,
    private readonly audit: AuditLog,
    private readonly defaults: { trustedDeviceDays: number } = { trustedDeviceDays: 7 },
  ) {}

  /** create makes an account; `opts.actor` names who made it (an administrator, the command line) for the audit line. */
  async create(input: { email: string; password: string; displayName?: string; isAdmin?: boolean }, origin?: Origin, opts: { actor?: string; mustChangePassword?: boolean } = {}): Promise<User> {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL.test(email) || email.length > 254) throw new UserError('user.email_invalid');
    const problem = checkNewPassword(input.password, email);
    if (problem) throw new UserError(problem);
    if (await this.repo.loadByEmail(email)) throw new UserError('user.exists');
    const user = await this.repo.save({
      email,
      displayName: input.displayName?.trim() || email.split('@')[0]!,
      passwordHash: await hashPassword(input.password),
      isAdmin: input.isAdmin ?? false,
      mustChangePassword: opts.mustChangePassword ?? false,
    });
    await this.audit.record({ event: 'user.created', userId: user.id, account: email, origin, details: { isAdmin: user.isAdmin, ...(opts.actor ? { admin: opts.actor } : {}) } });
    return user;
  }

  /**
   * policy is the site-wide policy, read in one query and kept for a few
   * seconds: every sign-in and mail login asks. A change made on any node
   * clears it at once (the settings trigger notifies, see services.ts).
   */
  async policy(now = Date.now()): Promise<Policy> {
    if (this.cached && now - this.cached.at < POLICY_CACHE_MS) return this.cached.policy;
    const policy = readPolicy(await this.repo.loadSettings(), this.defaults);
    this.cached = { at: now, policy };
    return policy;
  }

  /** policyChanged drops the cached policy. */
  policyChanged(): void {
    this.cached = undefined;
  }

  /** enrolment tells whether the user must use two-step verification, and until when they may still put it off. */
  async enrolment(user: User, now = Date.now()): Promise<{ forced: boolean; graceUntil?: number }> {
    return enrolmentFor(user, await this.policy(now), now);
  }

  /** requires2fa tells whether the user must have a second factor now (their own setting wins over the site's; a grace period defers it). */
  async requires2fa(user: User): Promise<boolean> {
    const e = await this.enrolment(user);
    return e.forced && e.graceUntil === undefined;
  }

  /** savePolicy stores a new site policy; forcing starts counting its grace period now. */
  async savePolicy(next: Policy, actor: string, origin?: Origin): Promise<void> {
    const before = await this.policy();
    const starts = next.require2fa !== 'off' && (before.require2fa !== next.require2fa || before.domains.join() !== next.domains.join());
    const policy = { ...next, since: starts ? Date.now() : next.require2fa === 'off' ? null : before.since };
    await this.repo.saveSettings(policySettings(policy));
    this.policyChanged();
    const changed = Object.fromEntries(Object.entries(policySettings(policy)).filter(([k, v]) => policySettings(before)[k] !== v && k !== 'require_2fa_since'));
    await this.audit.record({ event: 'policy.changed', account: actor, origin, details: { admin: actor, ...changed } });
  }

  /** setRequire2fa sets the policy for everyone, or for one user when given. */
  async setRequire2fa(on: boolean, target?: User, origin?: Origin, actor?: string): Promise<void> {
    if (target) await this.repo.update(target.id, { require2fa: on });
    else {
      const before = await this.policy();
      await this.repo.saveSettings(policySettings({ ...before, require2fa: on ? 'everyone' : 'off', since: on ? (before.require2fa === 'everyone' ? before.since : Date.now()) : null }));
      this.policyChanged();
    }
    await this.audit.record({
      event: 'policy.changed',
      userId: target?.id ?? null,
      account: actor ?? null,
      origin,
      details: { require2fa: on, scope: target ? target.email : 'everyone' },
    });
  }
}
