import { z } from 'zod';
import { MAX_ZONE_LENGTH } from '../dates.ts';
import { BULK_ACTIONS, MAX_PICKED } from './bulk.ts';
import { SEARCH_FIELDS } from './search.ts';

// Control characters (NUL, line breaks, DEL) cannot go into an IMAP SEARCH.
const plain = (v: string) => !/[\u0000-\u001f\u007f]/.test(v);
const uid = z.coerce.number().int().positive().max(2 ** 32 - 1);
const folder = z.string().min(1).max(500).refine(plain);
// A calendar day as the date input sends it; a day that does not exist (2026-02-30) is refused too.
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((v) => {
    const d = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(v);
  });
const optionalDay = z
  .union([z.literal(''), day])
  .optional()
  .transform((v) => v || undefined);
// UIDs written as one comma-separated field: one page at most, so 50 numbers of up to 10 digits.
const uidList = z
  .string()
  .max(MAX_PICKED * 11)
  .regex(/^(\d{1,10}(,\d{1,10})*)?$/)
  .transform((v) => (v ? v.split(',').map(Number) : []))
  .refine((v) => v.length <= MAX_PICKED && v.every((n) => n > 0 && n < 2 ** 32));

const search = {
  // Plain text to look for; empty lists the whole folder.
  q: z.string().trim().max(200).refine(plain).default(''),
  // Where to look: everywhere, or one of sender, recipients, subject, body.
  field: z.enum(SEARCH_FIELDS).catch('all').default('all'),
  // Sent on or after this day (YYYY-MM-DD).
  since: optionalDay,
  // Sent on or before this day (YYYY-MM-DD).
  before: optionalDay,
};

/** listQuery: which page of a folder, and an optional search. */
export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).catch(1).default(1),
  ...search,
});

/**
 * bulkForm: one action on messages of a folder. Without scripts each ticked
 * row sends `uid`; with them the rows travel as one `uids` field. At most one
 * page of UIDs is named; "all matching" names none and is searched again.
 */
export const bulkForm = z.object({
  // What to do: mark read, mark unread, move, delete.
  action: z.enum(BULK_ACTIONS),
  // Ticked rows, one field each.
  uid: z
    .union([uid, z.array(uid).max(MAX_PICKED)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  // Ticked rows as one comma-separated field.
  uids: uidList.optional(),
  // "Select all on this page" ticked: act on `shown`, the page's own rows.
  page: z.literal('1').optional(),
  shown: uidList.optional(),
  // "All matching" ticked: every message of the folder or search up to `upto`, the newest the page knew.
  all: z.literal('1').optional(),
  upto: z.coerce.number().int().min(0).max(2 ** 32 - 1).optional(),
  // The list showed conversations: each ticked row stands for its whole conversation.
  conversations: z.literal('1').optional(),
  // The folder to move to.
  to: folder.optional(),
  // The search the page showed, to act on and to return to.
  ...search,
  // The page to return to.
  back: z.coerce.number().int().min(1).max(100_000).catch(1).default(1),
});

/** timeZoneForm: the zone the browser reports (Intl.DateTimeFormat().resolvedOptions().timeZone). */
export const timeZoneForm = z.object({ zone: z.string().min(1).max(MAX_ZONE_LENGTH) });

/** conversationsForm: group the list by conversation (1) or not (0), and the list to go back to. */
export const conversationsForm = z.object({
  on: z.enum(['0', '1']),
  // A mail page path to return to; anything else returns to the inbox.
  back: z.string().max(2000).optional(),
});

/** readingPaneForm: the reading pane on (1) or off (0), and the list to go back to. */
export const readingPaneForm = z.object({
  pane: z.enum(['0', '1']),
  // A mail page path to return to; anything else returns to the inbox.
  back: z.string().max(2000).optional(),
});
