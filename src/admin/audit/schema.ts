import { isIP } from 'node:net';
import { z } from 'zod';
import { catalog } from '../../i18n/index.ts';

/**
 * AUDIT_EVENTS are the events an administrator can filter on: every event
 * the catalog has a label for ('event.<name>'), in the catalog's order.
 */
export const AUDIT_EVENTS: readonly string[] = Object.keys(catalog('en'))
  .filter((k) => k.startsWith('event.'))
  .map((k) => k.slice('event.'.length));

/** An empty form field means "no filter". */
const blank = (v: unknown) => (v === '' ? undefined : v);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** date reads YYYY-MM-DD, a real calendar day between 2000 and 2100, as midnight UTC. */
const date = z
  .string()
  .max(10)
  .regex(DAY)
  .transform((v, ctx) => {
    const d = new Date(`${v}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v || d.getUTCFullYear() < 2000 || d.getUTCFullYear() > 2100) {
      ctx.addIssue({ code: 'custom', message: 'not a date' });
      return z.NEVER;
    }
    return d;
  });

/** auditQuery: the audit log's filters, from the page's query string (the CSV export takes the same). */
export const auditQuery = z
  .object({
    // An account's address: its events by user id; for an address with no account, what was typed at sign-in.
    user: z.preprocess(blank, z.string().trim().min(1).max(254).optional()),
    // One event kind, by its name.
    event: z.preprocess(blank, z.string().max(64).refine((e) => AUDIT_EVENTS.includes(e)).optional()),
    // First and last day (UTC) of the range, both included.
    from: z.preprocess(blank, date.optional()),
    to: z.preprocess(blank, date.optional()),
    // A client address exactly as recorded: IPv4, IPv6, or "unknown" for mail logins without one.
    ip: z.preprocess(blank, z.string().trim().max(64).refine((ip) => ip === 'unknown' || isIP(ip) !== 0).optional()),
    // Keyset paging: show events older than this event id.
    before: z.preprocess(blank, z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional()),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['to'] });

/** AuditQuery is the audit log's filters, validated. */
export type AuditQuery = z.infer<typeof auditQuery>;
