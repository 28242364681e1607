import type { FetchMessageObject, MessageStructureObject } from 'imapflow';

/** PAGE_SIZE is how many messages one page of a folder or a search shows. */
export const PAGE_SIZE = 50;

/** Summary is one row of the message list. */
export interface Summary {
  uid: number;
  from: string;
  fromAddress: string;
  /** The recipients (To) by name, or address when unnamed: what Sent shows instead of the sender. */
  to: string;
  toAddress: string;
  subject: string;
  date: Date | undefined;
  unread: boolean;
  attachment: boolean;
  /** The start of the text, one line; empty when the message has no readable text part. */
  preview: string;
  /** Grouped by conversation: how many messages the conversation this row stands for holds. */
  thread?: number;
}

export interface ListPage {
  folder: string;
  total: number;
  page: number;
  pages: number;
  messages: Summary[];
  /** The highest UID in the folder or the search when the page was made: "all matching" acts on nothing newer. */
  upto: number;
  /** The rows are conversations (each its newest message), not messages. */
  conversations?: boolean;
}

/** summary reads a list row from what one FETCH of envelope, flags and structure gave. */
export function summary(m: FetchMessageObject): Summary {
  const from = m.envelope?.from?.[0];
  // The envelope is fetched with the list anyway: the recipients cost no further round trip.
  const to = m.envelope?.to ?? [];
  return {
    uid: m.uid,
    from: from?.name || from?.address || '',
    fromAddress: from?.address ?? '',
    to: to.map((a) => a.name || a.address || '').filter(Boolean).join(', '),
    toAddress: to.map((a) => a.address ?? '').filter(Boolean).join(', '),
    subject: m.envelope?.subject ?? '',
    date: m.envelope?.date ? new Date(m.envelope.date) : m.internalDate ? new Date(m.internalDate) : undefined,
    unread: !m.flags?.has('\\Seen'),
    attachment: hasAttachment(m.bodyStructure),
    preview: '',
  };
}

/** hasAttachment reads the attachment mark from BODYSTRUCTURE, without fetching the body. */
export function hasAttachment(node: MessageStructureObject | undefined): boolean {
  if (!node) return false;
  if (node.disposition === 'attachment') return true;
  if (node.childNodes?.length) {
    // Parts of multipart/alternative and /related are views of the text, not files.
    if (/^multipart\/(alternative|related)$/i.test(node.type)) return node.childNodes.some((n) => n.disposition === 'attachment');
    return node.childNodes.some((n, i) => hasAttachment(n) || (i > 0 && !n.type.startsWith('text/') && !n.type.startsWith('multipart/')));
  }
  return false;
}
