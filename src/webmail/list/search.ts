import type { SearchObject } from 'imapflow';

export const SEARCH_FIELDS = ['all', 'from', 'to', 'subject', 'body'] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];

/** Search is what the reader asked the list for; empty means the whole folder. */
export interface Search {
  /** Plain text, at most 200 characters. */
  q: string;
  field: SearchField;
  /** Calendar days (YYYY-MM-DD), both inclusive, by the messages' own Date header. */
  since?: string;
  before?: string;
}

export const NO_SEARCH: Search = { q: '', field: 'all' };

/** isSearching tells whether a search narrows the folder at all. */
export function isSearching(s: Search): boolean {
  return !!(s.q || s.since || s.before);
}

/**
 * criteria turns a search into IMAP SEARCH keys, or undefined for the whole
 * folder. "all" looks in sender, recipients (To and Cc), subject and body;
 * BODY is the server's own substring search of the text, not an index. The
 * dates use SENTSINCE / SENTBEFORE, the Date header the list shows; BEFORE
 * is exclusive, so the last day asked for is moved one day on.
 */
export function criteria(s: Search): SearchObject | undefined {
  if (!isSearching(s)) return undefined;
  const out: SearchObject = {};
  if (s.q) {
    const q = s.q;
    if (s.field === 'from') out.from = q;
    else if (s.field === 'to') out.or = [{ to: q }, { cc: q }];
    else if (s.field === 'subject') out.subject = q;
    else if (s.field === 'body') out.body = q;
    else out.or = [{ from: q }, { to: q }, { cc: q }, { subject: q }, { body: q }];
  }
  if (s.since) out.sentSince = dayStart(s.since);
  if (s.before) out.sentBefore = new Date(dayStart(s.before).getTime() + 86_400_000);
  return out;
}

/** queryString writes a search back into a URL's query, for paging and the "all matching" form. */
export function queryString(s: Search, page?: number): string {
  const p = new URLSearchParams();
  if (page && page > 1) p.set('page', String(page));
  if (s.q) p.set('q', s.q);
  if (s.q && s.field !== 'all') p.set('field', s.field);
  if (s.since) p.set('since', s.since);
  if (s.before) p.set('before', s.before);
  const text = p.toString();
  return text ? `?${text}` : '';
}

// imapflow writes SEARCH dates from the UTC calendar day of the Date it is given.
function dayStart(ymd: string): Date {
  return new Date(`${ymd}T00:00:00Z`);
}
