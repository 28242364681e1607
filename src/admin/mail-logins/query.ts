import { and, count, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { auditEvents } from '../../db/schema/index.ts';

const HOUR_MS = 3600_000;
/** Hours the report covers, the current one included. */
export const MAIL_HOURS = 24;
/** Rows of the "most refused" tables. */
const TOP = 10;

/** MailLoginReport is everything the mail logins page shows, for the last MAIL_HOURS hours. */
export interface MailLoginReport {
  /** The start of each hour (UTC), oldest first. */
  hours: Date[];
  /** Admitted logins per hour, one series per protocol, IMAP and SMTP first. */
  protocols: Array<{ protocol: string; perHour: number[] }>;
  admitted: number;
  refused: number;
  throttled: number;
  /** Refusals by the reason recorded; a paused client counts as 'throttled'. */
  reasons: Array<{ reason: string; count: number }>;
  topAccounts: Array<{ account: string; count: number }>;
  topIps: Array<{ ip: string; count: number }>;
}

/**
 * MailLogins reads the mail-login events the mail authenticator writes
 * ('mail.login_ok', 'mail.login_failed' with a reason, 'mail.throttled';
 * details.protocol is imap or smtp; details.count, when present, is how
 * many times the same login repeated at once) for the last 24 hours, through the
 * audit log's index on (event, created_at).
 */
export class MailLogins {
  constructor(private readonly db: Db) {}

  /** report reads the last MAIL_HOURS hours up to `now`. */
  async report(now = new Date()): Promise<MailLoginReport> {
    const first = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS - (MAIL_HOURS - 1) * HOUR_MS;
    const since = new Date(first);
    const hours = Array.from({ length: MAIL_HOURS }, (_, i) => new Date(first + i * HOUR_MS));
    const e = auditEvents;
    const recent = gt(e.createdAt, since);
    const refusal = and(inArray(e.event, ['mail.login_failed', 'mail.throttled']), recent);
    const hour = sql<string>`to_char(date_trunc('hour', ${e.createdAt} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24')`;
    const protocol = sql<string>`coalesce(${e.details}->>'protocol', '')`;
    const reason = sql<string>`case when ${e.event} = 'mail.throttled' then 'throttled' else coalesce(${e.details}->>'reason', '') end`;
    const n = count();
    const [ok, reasons, accounts, ips] = await Promise.all([
      // A client reconnecting in a loop is one line with a count (details.count).
      this.db.select({ hour, protocol, n: sql<number>`sum(coalesce((${e.details}->>'count')::int, 1))::int` }).from(e).where(and(eq(e.event, 'mail.login_ok'), recent)).groupBy(hour, protocol),
      this.db.select({ reason, n }).from(e).where(refusal).groupBy(reason).orderBy(desc(n)),
      this.db.select({ account: sql<string>`coalesce(${e.account}, '')`, n }).from(e).where(refusal).groupBy(e.account).orderBy(desc(n), e.account).limit(TOP),
      this.db.select({ ip: sql<string>`coalesce(${e.ip}, '')`, n }).from(e).where(refusal).groupBy(e.ip).orderBy(desc(n), e.ip).limit(TOP),
    ]);
    const index = new Map(hours.map((h, i) => [h.toISOString().slice(0, 13), i]));
    const series = new Map<string, number[]>();
    for (const name of ['imap', 'smtp']) series.set(name, new Array<number>(MAIL_HOURS).fill(0));
    for (const r of ok) {
      const i = index.get(r.hour);
      if (i === undefined) continue;
      const name = r.protocol || 'other';
      if (!series.has(name)) series.set(name, new Array<number>(MAIL_HOURS).fill(0));
      series.get(name)![i]! += r.n;
    }
    const byReason = reasons.map((r) => ({ reason: r.reason, count: r.n }));
    const throttled = byReason.find((r) => r.reason === 'throttled')?.count ?? 0;
    return {
      hours,
      protocols: [...series].map(([name, perHour]) => ({ protocol: name, perHour })),
      admitted: ok.reduce((sum, r) => sum + r.n, 0),
      refused: byReason.reduce((sum, r) => sum + r.count, 0) - throttled,
      throttled,
      reasons: byReason,
      topAccounts: accounts.map((a) => ({ account: a.account, count: a.n })),
      topIps: ips.map((a) => ({ ip: a.ip, count: a.n })),
    };
  }
}
