import type { AuditLog, Origin } from '../audit/log.ts';
import type { User, UserRepo } from '../users/repo.ts';
import { verifyPassword } from './password.ts';
import type { Regulator } from './regulation.ts';

export type PasswordResult =
  | { kind: 'ok'; user: User }
  | { kind: 'failed' }
  | { kind: 'throttled'; retryAfterSeconds: number };

/** Longest password Postern will hash at login; anything longer cannot be a valid one. */
const LOGIN_PASSWORD_MAX = 1024;

/**
 * PasswordLogin is the first factor. Unknown user, wrong password and
 * disabled account all cost one argon2 verification and give the same
 * answer; only the audit log tells them apart.
 */
export class PasswordLogin {
  constructor(
    private readonly users: UserRepo,
    private readonly regulator: Regulator,
    private readonly audit: AuditLog,
  ) {}

  async attempt(email: string, password: string, origin: Origin): Promise<PasswordResult> {
    const account = email.trim().toLowerCase();
    const verdict = await this.regulator.check('password', account, origin.ip);
    if (!verdict.allowed) {
      this.audit.recordSoon({ event: 'login.throttled', account, origin, details: { step: 'password' } });
      return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
    }
    const user = await this.users.loadByEmail(account);
    const matches = await verifyPassword(user?.passwordHash, password.slice(0, LOGIN_PASSWORD_MAX));
    const ok = matches && !!user && !user.disabled;
    await this.regulator.record('password', account, origin.ip, ok);
    if (!ok) {
      const reason = !user ? 'unknown_user' : user.disabled ? 'disabled' : 'wrong_password';
      this.audit.recordSoon({ event: 'login.password_failed', userId: user?.id, account, origin, details: { reason } });
      return { kind: 'failed' };
    }
    this.audit.recordSoon({ event: 'login.password_ok', userId: user.id, account, origin });
    return { kind: 'ok', user };
  }
}
