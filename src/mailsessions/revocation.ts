import type { AuditEntry } from '../audit/log.ts';

/**
 * Which open mail sessions an audited change must end. Postern decides
 * each login when it starts; these events take back what it granted, so
 * sessions already open end too:
 * - one client-specific password revoked: the user's sessions from the
 *   addresses that password logged in from;
 * - all of them revoked, the user disabled, the password changed or reset:
 *   every session of the user (clients reconnect on BYE, and whatever is
 *   still valid is admitted again without the user doing anything);
 * - a first second factor: the sessions the main password opened, which it
 *   no longer may.
 */
export type Revocation =
  | { user: string; userId: string; scope: 'credential'; credential: string }
  | { user: string; userId: string; scope: 'main_password' }
  | { user: string; userId: string; scope: 'all' };

const ALL = new Set(['apppassword.revoked_all', 'user.disabled', 'password.changed', 'password.reset']);

/** revocationOf maps an audit event to the sessions it ends, or undefined for events that end none. */
export function revocationOf(entry: AuditEntry): Revocation | undefined {
  const user = entry.account;
  const userId = entry.userId;
  if (!user || !userId) return undefined;
  if (entry.event === 'apppassword.revoked') {
    const credential = entry.details?.credential;
    return typeof credential === 'string' ? { user, userId, scope: 'credential', credential } : { user, userId, scope: 'all' };
  }
  if (ALL.has(entry.event)) return { user, userId, scope: 'all' };
  if (entry.event === 'factor.added') return { user, userId, scope: 'main_password' };
  return undefined;
}
