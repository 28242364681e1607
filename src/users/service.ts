import type { AuditLog, Origin } from '../audit/log.ts';
import { checkNewPassword, hashPassword, type PasswordProblem } from '../auth/password.ts';
import type { User, UserRepo } from './repo.ts';

// The domain is split at its first dot after the first character: one way to match, so no backtracking.
const EMAIL = /^[^\s@]+@[^\s@][^\s@.]*\.[^\s@]+$/;

export class UserError extends Error {
  constructor(readonly key: PasswordProblem | 'user.email_invalid' | 'user.exists') {
    super(key);
  }
}

/** UserService holds the rules for creating accounts and the two-step policy. */
export class UserService {
  constructor(
    private readonly repo: UserRepo,
    private readonly audit: AuditLog,
  ) {}

  async create(input: { email: string; password: string; displayName?: string; isAdmin?: boolean }, origin?: Origin): Promise<User> {
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
    });
    await this.audit.record({ event: 'user.created', userId: user.id, account: email, origin, details: { admin: user.isAdmin } });
    return user;
  }

  /** requires2fa tells whether the user must bind a second factor: their own setting wins over the site's. */
  async requires2fa(user: User): Promise<boolean> {
    if (user.require2fa !== null) return user.require2fa;
    return (await this.repo.loadSetting('require_2fa')) === 'on';
  }

  /** setRequire2fa sets the policy for everyone, or for one user when given. */
  async setRequire2fa(on: boolean, target?: User, origin?: Origin, actor?: string): Promise<void> {
    if (target) await this.repo.update(target.id, { require2fa: on });
    else await this.repo.saveSetting('require_2fa', on ? 'on' : 'off');
    await this.audit.record({
      event: 'policy.changed',
      userId: target?.id ?? null,
      account: actor ?? null,
      origin,
      details: { require2fa: on, scope: target ? target.email : 'everyone' },
    });
  }
}
