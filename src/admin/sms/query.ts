import { and, count, desc, eq, gt, gte, inArray, max, sql } from 'drizzle-orm';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Db } from '../../db/client.ts';
import { auditEvents, oneTimeCodes } from '../../db/schema/index.ts';
import type { Config } from '../../config/schema.ts';

const DAY_MS = 86400_000;
/** Days the per-day chart covers, today included. */
export const SMS_DAYS = 30;
/** Distinct numbers read for the country table; texts to further numbers are summed as "other". */
const COUNTRY_NUMBERS_MAX = 20_000;
/** Rows shown per pumping table. */
const PUMPING_ROWS = 50;

/** SmsDay is one day's texts: handed to the provider, and refused by it. */
export interface SmsDay {
  /** YYYY-MM-DD, UTC. */
  day: string;
  sent: number;
  failed: number;
}

/** A number or address that reached a cap of the last 24 hours. */
export interface CappedSender {
  /** The number masked but for its last four digits, or the client address. */
  who: string;
  /** The country of a number (ISO 3166 code), if known. */
  country?: string;
  day: number;
  /** Most texts within any hour. */
  busiestHour: number;
  caps: Array<'hour' | 'day'>;
  /** Codes refused at a cap from this address (addresses only: refusals record numbers masked). */
  refused?: number;
}

/** SmsRefusal is a number and address whose codes were refused at a cap, how often and when last. */
export interface SmsRefusal {
  /** The number as the refusal recorded it, re-masked to its last four digits. */
  number: string;
  ip: string;
  count: number;
  last: Date;
}

/** SmsUsageReport is everything the SMS usage page shows. */
export interface SmsUsageReport {
  days: SmsDay[];
  countries: Array<{ country: string | null; texts: number }>;
  /** Texts to numbers beyond the ones counted one by one. */
  otherTexts: number;
  budget: { used: number; budget: number; left: number };
  numbers: CappedSender[];
  addresses: CappedSender[];
  refusals: SmsRefusal[];
}

/**
 * maskNumber hides a phone number but for its last four digits, keeping
 * its length and the leading plus: "+8613800138000" → "+*********8000".
 */
export function maskNumber(number: string): string {
  const digits = number.replace(/\D/g, '');
  if (digits.length <= 4) return '*'.repeat(digits.length);
  return `${number.trim().startsWith('+') ? '+' : ''}${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`;
}

/** countryOf reads a number's country from its E.164 form; undefined when it cannot tell. */
export function countryOf(number: string): string | undefined {
  return parsePhoneNumberFromString(number)?.country;
}

/**
 * SmsUsage reads what the texts cost and whether someone is pumping them:
 * every text is a row of one_time_codes (channel 'sms'), counted whatever
 * the provider answered, as the caps count them; refusals come from the
 * audit log's 'sms.refused' events.
 */
export class SmsUsage {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  /** report reads the whole page's figures at `now`, in parallel. */
  async report(now = new Date()): Promise<SmsUsageReport> {
    const [days, countries, budget, numbers, addresses, refusals] = await Promise.all([
      this.perDay(now),
      this.perCountry(now),
      this.budget(now),
      this.capped('destination', now),
      this.capped('ip', now),
      this.refusals(now),
    ]);
    return { days, ...countries, budget, numbers, addresses, refusals };
  }

  /** perDay counts texts per UTC day for the last SMS_DAYS days, today included, failed ones apart. */
  private async perDay(now: Date): Promise<SmsDay[]> {
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const start = new Date(today - (SMS_DAYS - 1) * DAY_MS);
    const day = sql<string>`to_char(${oneTimeCodes.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;
    const rows = await this.db
      .select({ day, sent: sql<number>`count(*) filter (where ${oneTimeCodes.status} <> 'failed')::int`, failed: sql<number>`count(*) filter (where ${oneTimeCodes.status} = 'failed')::int` })
      .from(oneTimeCodes)
      .where(and(eq(oneTimeCodes.channel, 'sms'), gte(oneTimeCodes.createdAt, start)))
      .groupBy(day);
    const byDay = new Map(rows.map((r) => [r.day, r]));
    return Array.from({ length: SMS_DAYS }, (_, i) => {
      const d = new Date(start.getTime() + i * DAY_MS).toISOString().slice(0, 10);
      const r = byDay.get(d);
      return { day: d, sent: Number(r?.sent ?? 0), failed: Number(r?.failed ?? 0) };
    });
  }

  /** perCountry sums the last SMS_DAYS days' texts by the destination's country, biggest first. */
  private async perCountry(now: Date): Promise<{ countries: SmsUsageReport['countries']; otherTexts: number }> {
    const since = new Date(now.getTime() - SMS_DAYS * DAY_MS);
    const where = and(eq(oneTimeCodes.channel, 'sms'), gte(oneTimeCodes.createdAt, since));
    const n = count();
    const [rows, [all]] = await Promise.all([
      this.db.select({ destination: oneTimeCodes.destination, n }).from(oneTimeCodes).where(where).groupBy(oneTimeCodes.destination).orderBy(desc(n)).limit(COUNTRY_NUMBERS_MAX),
      this.db.select({ n: count() }).from(oneTimeCodes).where(where),
    ]);
    const totals = new Map<string | null, number>();
    let counted = 0;
    for (const r of rows) {
      const country = countryOf(r.destination) ?? null;
      totals.set(country, (totals.get(country) ?? 0) + r.n);
      counted += r.n;
    }
    const countries = [...totals].map(([country, texts]) => ({ country, texts })).sort((a, b) => b.texts - a.texts);
    return { countries, otherTexts: (all?.n ?? 0) - counted };
  }

  /** budget is the site's daily budget as the send cap counts it: texts of the last 24 hours. */
  private async budget(now: Date): Promise<SmsUsageReport['budget']> {
    const [row] = await this.db
      .select({ n: count() })
      .from(oneTimeCodes)
      .where(and(eq(oneTimeCodes.channel, 'sms'), gt(oneTimeCodes.createdAt, new Date(now.getTime() - DAY_MS))));
    const used = row?.n ?? 0;
    const budget = this.config.SMS_DAILY_BUDGET;
    return { used, budget, left: Math.max(0, budget - used) };
  }

  /**
   * capped lists the numbers (or client addresses) whose texts of the last
   * 24 hours reached the daily cap, or the hourly cap within some hour, as
   * the send check counts them.
   */
  private async capped(by: 'destination' | 'ip', now: Date): Promise<CappedSender[]> {
    const c = this.config;
    const [hourCap, dayCap] = by === 'destination' ? [c.SMS_MAX_PER_NUMBER_HOUR, c.SMS_MAX_PER_NUMBER_DAY] : [c.SMS_MAX_PER_IP_HOUR, c.SMS_MAX_PER_IP_DAY];
    const since = new Date(now.getTime() - DAY_MS).toISOString();
    const column = sql.identifier(by);
    const result = await this.db.execute(sql`
      select who, count(*)::int as day, max(in_hour)::int as busiest_hour from (
        select ${column} as who,
          count(*) over (partition by ${column} order by created_at range between interval '1 hour' preceding and current row) as in_hour
        from one_time_codes
        where channel = 'sms' and created_at > ${since}::timestamptz
      ) t
      group by who
      having count(*) >= ${dayCap} or max(in_hour) >= ${hourCap}
      order by count(*) desc, who
      limit ${PUMPING_ROWS}`);
    const rows = rowsOf<{ who: string; day: number; busiest_hour: number }>(result);
    const refused = by === 'ip' ? await this.refusedFrom(rows.map((r) => r.who), now) : new Map<string, number>();
    return rows.map((r) => ({
      who: by === 'destination' ? maskNumber(r.who) : r.who,
      country: by === 'destination' ? countryOf(r.who) : undefined,
      day: Number(r.day),
      busiestHour: Number(r.busiest_hour),
      caps: [...(Number(r.busiest_hour) >= hourCap ? (['hour'] as const) : []), ...(Number(r.day) >= dayCap ? (['day'] as const) : [])],
      refused: by === 'ip' ? (refused.get(r.who) ?? 0) : undefined,
    }));
  }

  /** refusedFrom counts the codes refused at a cap in the last 24 hours, per client address. */
  private async refusedFrom(ips: string[], now: Date): Promise<Map<string, number>> {
    if (!ips.length) return new Map();
    const rows = await this.db
      .select({ ip: auditEvents.ip, n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, 'sms.refused'), gt(auditEvents.createdAt, new Date(now.getTime() - DAY_MS)), sql`${auditEvents.details}->>'reason' = 'capped'`, inArray(auditEvents.ip, ips)))
      .groupBy(auditEvents.ip);
    return new Map(rows.map((r) => [r.ip ?? '', r.n]));
  }

  /** refusals groups the last 24 hours' codes refused at a cap by number and address, most first. */
  private async refusals(now: Date): Promise<SmsRefusal[]> {
    const to = sql<string>`coalesce(${auditEvents.details}->>'to', '')`;
    const n = count();
    const rows = await this.db
      .select({ to, ip: sql<string>`coalesce(${auditEvents.ip}, '')`, n, last: max(auditEvents.createdAt) })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, 'sms.refused'), gt(auditEvents.createdAt, new Date(now.getTime() - DAY_MS)), sql`${auditEvents.details}->>'reason' = 'capped'`))
      .groupBy(to, auditEvents.ip)
      .orderBy(desc(n))
      .limit(PUMPING_ROWS);
    return rows.map((r) => ({ number: maskNumber(r.to), ip: r.ip, count: r.n, last: r.last ?? now }));
  }
}

function rowsOf<R>(result: unknown): R[] {
  return (result as { rows?: R[] }).rows ?? (result as R[]);
}
