import { and, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { auditEvents, users } from '../../db/schema/index.ts';
import type { AuditQuery } from './schema.ts';

/** Events per page of the audit log. */
export const PAGE_SIZE = 50;
/** Rows read per statement of a CSV export, and the most one export holds. */
export const EXPORT_CHUNK = 5000;
export const EXPORT_MAX = 1_000_000;

/** AuditRow is one event as the console shows it. */
export interface AuditRow {
  id: number;
  at: Date;
  event: string;
  /** The account as recorded, else the address of the user the event belongs to. */
  account: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

/** AuditFilter is a validated query with the account resolved: a user id, or the name as typed for an address with no account. */
export interface AuditFilter {
  userId?: string;
  account?: string;
  /** The address asked for has no account: its rows are the attempts typed with it. */
  unknownAccount?: boolean;
  event?: string;
  from?: Date;
  /** Exclusive: the day after the last day asked for. */
  until?: Date;
  ip?: string;
}

/** A position in the log, newest first: the event's time (as the database keeps it, to the microsecond) and id. */
interface Cursor {
  at: string | null;
  id: number;
}

/**
 * AuditEvents reads the audit log for the administrators: filtered pages,
 * newest first, by keyset (each page starts after the last event of the
 * one before, so deep pages cost what the first does), and the whole
 * filtered range for export. Every filter has an index that leads with it
 * and ends with created_at, so the order comes from the index.
 */
export class AuditEvents {
  constructor(private readonly db: Db) {}

  /**
   * resolve turns the page's query into a filter: an address is looked up
   * to its account, else matched as typed (an index leads with it too).
   */
  async resolve(q: AuditQuery): Promise<AuditFilter> {
    const f: AuditFilter = { event: q.event, ip: q.ip, from: q.from };
    if (q.to) f.until = new Date(q.to.getTime() + 86400_000);
    if (q.user) {
      const name = q.user.toLowerCase();
      const [user] = await this.db.select({ id: users.id }).from(users).where(sql`lower(${users.email}) = ${name}`).limit(1);
      if (user) f.userId = user.id;
      else Object.assign(f, { account: name, unknownAccount: true });
    }
    return f;
  }

  /** page returns up to `size` events older than event `before` (from the newest without it), and the id to continue from, if more remain. */
  async page(f: AuditFilter, before?: number, size = PAGE_SIZE): Promise<{ rows: AuditRow[]; next?: number }> {
    const cursor = before ? await this.cursorAt(before) : undefined;
    const rows = await this.read(f, cursor, size + 1);
    const more = rows.length > size;
    const shown = more ? rows.slice(0, size) : rows;
    return { rows: shown, next: more ? shown.at(-1)!.id : undefined };
  }

  /**
   * chunks yields the filtered events, newest first, EXPORT_CHUNK at a time
   * (one keyset statement each), stopping after `max` rows.
   */
  async *chunks(f: AuditFilter, max = EXPORT_MAX, chunk = EXPORT_CHUNK): AsyncGenerator<AuditRow[]> {
    let cursor: Cursor | undefined;
    let left = max;
    while (left > 0) {
      const want = Math.min(chunk, left);
      const rows = await this.read(f, cursor, want);
      if (rows.length) yield rows;
      left -= rows.length;
      if (rows.length < want) return;
      const last = rows.at(-1)!;
      cursor = { at: last.atText, id: last.id };
    }
  }

  /** cursorAt finds where an event sits in the order; an event deleted meanwhile still pages by its id. */
  private async cursorAt(id: number): Promise<Cursor> {
    const [row] = await this.db.select({ at: sql<string>`${auditEvents.createdAt}::text` }).from(auditEvents).where(eq(auditEvents.id, id)).limit(1);
    return { at: row?.at ?? null, id };
  }

  private async read(f: AuditFilter, cursor: Cursor | undefined, limit: number): Promise<Array<AuditRow & { atText: string }>> {
    const e = auditEvents;
    const where: Array<SQL | undefined> = [
      f.userId ? eq(e.userId, f.userId) : undefined,
      f.account ? eq(e.account, f.account) : undefined,
      f.event ? eq(e.event, f.event) : undefined,
      f.ip ? eq(e.ip, f.ip) : undefined,
      f.from ? gte(e.createdAt, f.from) : undefined,
      f.until ? lt(e.createdAt, f.until) : undefined,
    ];
    if (cursor?.at) {
      // The first condition lets the index range end at the cursor; the second breaks ties on the id.
      where.push(lte(e.createdAt, sql`${cursor.at}::timestamptz`), sql`(${e.createdAt}, ${e.id}) < (${cursor.at}::timestamptz, ${cursor.id})`);
    } else if (cursor) {
      where.push(lt(e.id, cursor.id));
    }
    const rows = await this.db
      .select({
        id: e.id,
        at: e.createdAt,
        atText: sql<string>`${e.createdAt}::text`,
        event: e.event,
        account: sql<string | null>`coalesce(${e.account}, ${users.email})`,
        ip: e.ip,
        userAgent: e.userAgent,
        details: e.details,
      })
      .from(e)
      .leftJoin(users, eq(users.id, e.userId))
      .where(and(...where))
      .orderBy(desc(e.createdAt), desc(e.id))
      .limit(limit);
    return rows;
  }
}
