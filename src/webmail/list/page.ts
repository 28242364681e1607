import type { FetchMessageObject, ImapFlow, MailboxObject } from 'imapflow';
import { PAGE_SIZE, summary, type ListPage, type Summary } from './summary.ts';
import { previewText, textPart, type TextPart } from './preview.ts';
import { criteria, type Search } from './search.ts';
import { offersThreads, threadsOf } from './threads.ts';

const FIELDS = { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true } as const;

/**
 * listPage reads one page of the open folder newest first: by sequence
 * number when listing the whole folder (no SEARCH), else by the UIDs a
 * server-side SEARCH found. A second round trip per kind of text part
 * fetches the first few hundred bytes of each message for its preview.
 */
export async function listPage(c: ImapFlow, box: MailboxObject, page: number, search: Search, grouped = false): Promise<ListPage> {
  const query = criteria(search);
  if (grouped && !query && offersThreads(c)) return conversationPage(c, box, page);
  let rows: FetchMessageObject[] = [];
  let total: number;
  let upto = 0;
  if (!query) {
    total = box.exists;
    const end = total - (page - 1) * PAGE_SIZE;
    if (end >= 1) rows = await c.fetchAll(`${Math.max(1, end - PAGE_SIZE + 1)}:${end}`, FIELDS);
    rows.sort((a, b) => b.seq - a.seq);
    // UIDNEXT - 1 bounds every message the reader could have seen on this page.
    upto = Math.max(0, Number(box.uidNext ?? 1) - 1);
  } else {
    const found = (await c.search(query, { uid: true })) || [];
    const uids = [...found].sort((a, b) => b - a);
    total = uids.length;
    upto = uids[0] ?? 0;
    const slice = uids.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    if (slice.length) rows = await c.fetchAll(slice.join(','), FIELDS, { uid: true });
    rows.sort((a, b) => b.uid - a.uid);
  }
  const messages = rows.map(summary);
  await addPreviews(c, rows, messages);
  return { folder: box.path, total, page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), messages, upto };
}

/**
 * conversationPage lists the folder by conversation: the server threads it
 * (UID THREAD REFERENCES), the conversations are ordered by their newest
 * message, and each row is that newest message with the count of the rest.
 * Searches list messages, not conversations.
 */
async function conversationPage(c: ImapFlow, box: MailboxObject, page: number): Promise<ListPage> {
  const threads = await threadsOf(c);
  const slice = threads.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const rows = slice.length ? await c.fetchAll(slice.map((t) => t.newest).join(','), FIELDS, { uid: true }) : [];
  rows.sort((a, b) => b.uid - a.uid);
  const sizes = new Map(slice.map((t) => [t.newest, t.uids.length]));
  const messages = rows.map((r) => ({ ...summary(r), thread: sizes.get(r.uid) ?? 1 }));
  await addPreviews(c, rows, messages);
  const total = threads.length;
  return { folder: box.path, total, page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), messages, upto: Math.max(0, Number(box.uidNext ?? 1) - 1), conversations: true };
}

/**
 * addPreviews fetches BODY.PEEK[part]<0.n> of each row's first text part,
 * grouped so that messages sharing a part number and size share one FETCH.
 * A preview is a nicety: if the fetch fails, the list shows without it.
 */
async function addPreviews(c: ImapFlow, rows: FetchMessageObject[], messages: Summary[]): Promise<void> {
  const groups = new Map<string, Array<{ part: TextPart; message: Summary }>>();
  rows.forEach((row, i) => {
    const part = textPart(row.bodyStructure);
    if (!part) return;
    const key = `${part.key} ${part.bytes}`;
    const group = groups.get(key) ?? [];
    group.push({ part, message: messages[i]! });
    groups.set(key, group);
  });
  for (const group of groups.values()) {
    const { key, bytes } = group[0]!.part;
    const byUid = new Map(group.map((g) => [g.message.uid, g]));
    try {
      const fetched = await c.fetchAll([...byUid.keys()].join(','), { uid: true, bodyParts: [{ key, start: 0, maxLength: bytes }] }, { uid: true });
      for (const f of fetched) {
        const g = byUid.get(f.uid);
        const raw = f.bodyParts && [...f.bodyParts.values()][0];
        if (g && raw) g.message.preview = previewText(raw, g.part);
      }
    } catch (err) {
      if (!c.usable) throw err;
    }
  }
}
