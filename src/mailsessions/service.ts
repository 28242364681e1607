import { and, eq, gt, isNotNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { AuditLog, RecordedEvent } from '../audit/log.ts';
import { appPasswords, auditEvents, users } from '../db/schema/index.ts';
import type { Logger } from '../log.ts';
import type { Doveadm } from './doveadm.ts';
import { revocationOf, type Revocation } from './revocation.ts';

/** How far back a credential's login addresses are looked up: IMAP sessions rarely live longer. */
const LOOKBACK_DAYS = 30;
/** Most addresses kicked for one credential; a client roaming over more is rare, and each costs a command. */
const MAX_ADDRESSES = 50;

/**
 * MailSessions ends the IMAP and submission sessions a revocation takes
 * back (see revocation.ts), through Dovecot's doveadm API. Without one
 * configured it does nothing: open sessions then last until the client
 * reconnects, and the reconnect is refused.
 */
export class MailSessions {
  private lastSweep = new Date();

  constructor(
    private readonly d: { db: Db; log: Logger; audit: Pick<AuditLog, 'flush'>; doveadm?: Doveadm },
  ) {}

  get enabled(): boolean {
    return !!this.d.doveadm;
  }

  /**
   * onEvent is an audit subscriber. The kick runs in the background: the
   * change itself is done and recorded, and a slow mail server must not hold
   * up the page that made it.
   */
  readonly onEvent = async ({ entry }: RecordedEvent): Promise<void> => {
    const revocation = revocationOf(entry);
    if (revocation && this.d.doveadm) void this.end(revocation);
  };

  /** end kicks the sessions a revocation names; it resolves once Dovecot answered (or gave up). */
  async end(r: Revocation): Promise<boolean> {
    const doveadm = this.d.doveadm;
    if (!doveadm) return false;
    try {
      if (r.scope === 'all') return await doveadm.kick({ user: r.user });
      // A login a moment ago may still wait in the audit queue: its address must be found too.
      await this.d.audit.flush();
      const ips = await this.addresses(r);
      // A credential never used for mail has no session to end.
      return ips.length ? await doveadm.kick({ user: r.user, ips }) : true;
    } catch (err) {
      this.d.log.warn('could not end the mail sessions of a revoked credential', { user: r.user, error: (err as Error)?.message });
      return false;
    }
  }

  /**
   * sweepExpired ends the sessions of client-specific passwords that expired
   * since the last sweep; main.ts runs it every few seconds on each node
   * (a kick twice is harmless).
   */
  async sweepExpired(now = new Date()): Promise<number> {
    if (!this.d.doveadm) return 0;
    const since = this.lastSweep;
    this.lastSweep = now;
    const expired = await this.d.db
      .select({ id: appPasswords.id, userId: appPasswords.userId, email: users.email })
      .from(appPasswords)
      .innerJoin(users, eq(users.id, appPasswords.userId))
      .where(and(isNotNull(appPasswords.expiresAt), gt(appPasswords.expiresAt, since), lte(appPasswords.expiresAt, now)));
    for (const e of expired) await this.end({ user: e.email, userId: e.userId, scope: 'credential', credential: e.id });
    return expired.length;
  }

  /** addresses lists where a credential (or the main password) opened mail lately, from the audit log. */
  private async addresses(r: Exclude<Revocation, { scope: 'all' }>): Promise<string[]> {
    const which = r.scope === 'credential' ? sql`${auditEvents.details}->>'credential' = ${r.credential}` : sql`${auditEvents.details}->>'via' = 'password'`;
    const rows = await this.d.db
      .selectDistinct({ ip: auditEvents.ip })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.userId, r.userId),
          eq(auditEvents.event, 'mail.login_ok'),
          gt(auditEvents.createdAt, new Date(Date.now() - LOOKBACK_DAYS * 86400_000)),
          isNotNull(auditEvents.ip),
          which,
        ),
      )
      .limit(MAX_ADDRESSES);
    return rows.map((row) => row.ip!).filter((ip) => ip !== 'unknown');
  }
}
