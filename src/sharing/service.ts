import type { AuditLog, Origin } from '../audit/log.ts';
import type { Logger } from '../log.ts';
import type { User, UserRepo } from '../users/repo.ts';
import type { Locale } from '../i18n/index.ts';
import type { GrantRepo, GrantView } from './repo.ts';
import type { Level, Permission } from './policy.ts';

/** MailboxAccess is who is asking for which mailbox, and at what level; checked on every request. */
export interface MailboxAccess {
  owner: User;
  actor: User;
  level: Level;
}

/** SharingError carries the catalog key of a refusal the owner can act on. */
export class SharingError extends Error {
  constructor(readonly key: 'sharing.no_such_user' | 'sharing.self' | 'sharing.exists') {
    super(key);
  }
}

/** The events the owner's sharing page shows: grant changes and everything delegates did. */
export const SHARING_EVENTS = [
  'share.granted',
  'share.changed',
  'share.revoked',
  'delegate.viewed',
  'delegate.sent',
  'delegate.flagged',
  'delegate.deleted',
  'delegate.moved',
] as const;

export interface SharingDeps {
  grants: GrantRepo;
  users: UserRepo;
  audit: AuditLog;
  log: Logger;
  /** notifyOwner puts a short notice in the owner's own inbox; a failure is logged, never fatal. */
  notifyOwner(owner: User, grantee: User, permission: Permission, locale: Locale): Promise<void>;
}

/** Sharing holds the rules of shared mailboxes: who may share with whom, and who may open what. */
export class Sharing {
  constructor(private readonly d: SharingDeps) {}

  /**
   * access decides, from the asking user's own grant as stored right now,
   * whether they may open a mailbox: their own (no owner given), or one
   * shared with them. Undefined means no access.
   */
  async access(actor: User, ownerEmail?: string): Promise<MailboxAccess | undefined> {
    if (!ownerEmail) return { owner: actor, actor, level: 'owner' };
    const owner = await this.d.users.loadByEmail(ownerEmail);
    if (!owner || owner.disabled) return undefined;
    if (owner.id === actor.id) return { owner, actor, level: 'owner' };
    const grant = await this.d.grants.load(owner.id, actor.id);
    if (!grant) return undefined;
    return { owner, actor, level: grant.permission as Permission };
  }

  list(owner: User): Promise<GrantView[]> {
    return this.d.grants.listByOwner(owner.id);
  }

  sharedWith(user: User): Promise<GrantView[]> {
    return this.d.grants.listByGrantee(user.id);
  }

  activity(owner: User, limit = 50) {
    return this.d.grants.activity(owner.id, [...SHARING_EVENTS], limit);
  }

  /** grant shares the owner's mailbox with another Postern user, audits it and tells the owner in their inbox. */
  async grant(owner: User, granteeEmail: string, permission: Permission, origin: Origin, locale: Locale): Promise<GrantView> {
    const grantee = await this.d.users.loadByEmail(granteeEmail);
    if (!grantee || grantee.disabled) throw new SharingError('sharing.no_such_user');
    if (grantee.id === owner.id) throw new SharingError('sharing.self');
    if (await this.d.grants.load(owner.id, grantee.id)) throw new SharingError('sharing.exists');
    const g = await this.d.grants.save(owner.id, grantee.id, permission);
    await this.d.audit.record({ event: 'share.granted', userId: owner.id, account: owner.email, origin, details: { delegate: grantee.email, delegateId: grantee.id, permission } });
    try {
      await this.d.notifyOwner(owner, grantee, permission, locale);
    } catch (err) {
      this.d.log.warn('could not put the sharing notice in the owner’s inbox', { owner: owner.email, error: String((err as Error)?.message ?? err) });
    }
    return { id: g.id, permission, createdAt: g.createdAt, updatedAt: g.updatedAt, email: grantee.email, displayName: grantee.displayName };
  }

  /** change sets a grant's permission; undefined when the owner holds no such grant. */
  async change(owner: User, id: string, permission: Permission, origin: Origin): Promise<GrantView | undefined> {
    const g = await this.d.grants.loadById(owner.id, id);
    if (!g) return undefined;
    const grantee = await this.d.users.load(g.granteeId);
    if (g.permission !== permission) {
      await this.d.grants.update(g.id, permission);
      await this.d.audit.record({ event: 'share.changed', userId: owner.id, account: owner.email, origin, details: { delegate: grantee?.email, delegateId: g.granteeId, from: g.permission, permission } });
    }
    return { id: g.id, permission, createdAt: g.createdAt, updatedAt: new Date(), email: grantee?.email ?? '', displayName: grantee?.displayName ?? '' };
  }

  /** revoke removes a grant; the delegate's next request is refused. */
  async revoke(owner: User, id: string, origin: Origin): Promise<string | undefined> {
    const g = await this.d.grants.delete(owner.id, id);
    if (!g) return undefined;
    const grantee = await this.d.users.load(g.granteeId);
    await this.d.audit.record({ event: 'share.revoked', userId: owner.id, account: owner.email, origin, details: { delegate: grantee?.email, delegateId: g.granteeId, permission: g.permission } });
    return grantee?.email ?? '';
  }

  /**
   * recordDelegated writes one line to the owner's audit log for an action a
   * delegate took in their mailbox: who, which message, what. Owners acting in
   * their own mailbox are not audited here.
   */
  async recordDelegated(
    access: MailboxAccess,
    event: 'delegate.viewed' | 'delegate.sent' | 'delegate.flagged' | 'delegate.deleted' | 'delegate.moved',
    origin: Origin,
    details: Record<string, unknown>,
  ): Promise<void> {
    if (access.level === 'owner') return;
    await this.d.audit.record({
      event,
      userId: access.owner.id,
      account: access.owner.email,
      origin,
      details: { delegate: access.actor.email, delegateId: access.actor.id, permission: access.level, ...details },
    });
  }
}
