import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import MimeNode from 'nodemailer/lib/mime-node/index.js';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import type { ParsedMail, AddressObject } from 'mailparser';
import type { User } from '../users/repo.ts';
import type { Level } from '../sharing/policy.ts';
import { escapeHtml, htmlToPlain, sanitizeComposed, textToHtml } from './compose/html.ts';

/** OutgoingAttachment is a file going out with a message: its bytes, or the file an upload waits in. */
export interface OutgoingAttachment {
  filename: string;
  contentType: string;
  content: Buffer | { path: string };
  size: number;
}

/** Draft is what the compose form holds: enough to send it, or to show it again when sending failed. */
export interface Draft {
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  /** The body as markup when written in the rich editor; sanitized again whenever a message is built from it. */
  html?: string;
  inReplyTo?: string;
  references?: string;
}

/** Signature is what is added below a new message's text: the text for plain mail, the markup for rich. */
export interface Signature {
  text: string;
  html: string;
}

export type ReplyMode = 'reply' | 'all' | 'forward';

// The domain is split at its first dot after the first character: one way to match, so no backtracking.
const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\][^\s@<>(),;:"[\]\\.]*\.[^\s@<>(),;:"[\]\\]+$/;

/** parseRecipients splits a typed address list; undefined when any entry is not an address. */
export function parseRecipients(text: string): Array<{ name: string; address: string }> | undefined {
  const flat = flatten(addressparser(text.replace(/;/g, ',')));
  if (flat.some((a) => !EMAIL.test(a.address))) return undefined;
  return flat;
}

/** badRecipient names the first entry of an address list that is not an address, as the person typed it. */
export function badRecipient(text: string): string | undefined {
  for (const a of flatten(addressparser(text.replace(/;/g, ',')))) {
    if (!EMAIL.test(a.address)) return (a.name && a.address ? `${a.name} <${a.address}>` : a.address || a.name).slice(0, 200);
  }
  return undefined;
}

/**
 * looseRecipients reads an address list as far as it goes, for a draft:
 * an entry still being typed ("ali", "bob@") is kept as written, so the
 * draft opens again with what was there.
 */
export function looseRecipients(text: string): Array<{ name: string; address: string }> {
  return flatten(addressparser(text.replace(/;/g, ',')))
    .map((a) => (a.address ? a : { name: '', address: a.name }))
    .filter((a) => a.address);
}

function flatten(list: ReturnType<typeof addressparser>): Array<{ name: string; address: string }> {
  const flat: Array<{ name: string; address: string }> = [];
  const walk = (l: ReturnType<typeof addressparser>) => {
    for (const a of l) {
      if ('group' in a && a.group) walk(a.group);
      else flat.push({ name: a.name ?? '', address: ('address' in a ? a.address : '') ?? '' });
    }
  };
  walk(list);
  return flat;
}

/**
 * headersFor decides how a message sent from a mailbox names its author
 * (seed 003 §四): the owner and delegates with "send as" write as the owner;
 * "send on behalf" writes From: owner with Sender: the delegate, which mail
 * clients show as "delegate on behalf of owner".
 */
export function headersFor(owner: User, actor: User, level: Level): { from: { name: string; address: string }; sender?: { name: string; address: string } } {
  const from = { name: owner.displayName, address: owner.email };
  if (level === 'send_on_behalf') return { from, sender: { name: actor.displayName, address: actor.email } };
  return { from };
}

/** BuiltMessage is a message as bytes: `wire` goes to the relay, `stored` (with Bcc kept) to Sent or Drafts. */
export interface BuiltMessage {
  wire: Buffer;
  stored: Buffer;
  envelope: { from: string; to: string[] };
  messageId: string;
}

/**
 * buildMessage composes the MIME message once, for sending and for the copy
 * kept in the mailbox. Uploaded files are read from disk as the message is
 * written, and the kept copy is the sent bytes with a Bcc line in front, so
 * a large message is held in memory once, not once per copy. A rich body
 * is sanitized here, whoever built the draft, and goes out as
 * multipart/alternative with a text part made from it.
 */
export async function buildMessage(
  draft: Draft,
  author: ReturnType<typeof headersFor>,
  recipients: { to: Array<{ name: string; address: string }>; cc: Array<{ name: string; address: string }>; bcc: Array<{ name: string; address: string }> },
  attachments: OutgoingAttachment[],
): Promise<BuiltMessage> {
  const html = draft.html ? sanitizeComposed(draft.html) : '';
  const node = new MailComposer({
    from: author.from,
    sender: author.sender,
    to: recipients.to,
    cc: recipients.cc.length ? recipients.cc : undefined,
    subject: draft.subject,
    text: html ? htmlToPlain(html) : draft.body,
    html: html || undefined,
    inReplyTo: draft.inReplyTo || undefined,
    references: draft.references || undefined,
    attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, ...(Buffer.isBuffer(a.content) ? { content: a.content } : { path: a.content.path }) })),
    date: new Date(),
  }).compile();
  const messageId = node.messageId();
  const sent = await node.build();
  const bcc = recipients.bcc.length ? Buffer.from(bccHeader(recipients.bcc)) : Buffer.alloc(0);
  const stored = bcc.length ? Buffer.concat([bcc, sent]) : sent;
  const to = [...recipients.to, ...recipients.cc, ...recipients.bcc].map((a) => a.address);
  return { wire: stored.subarray(bcc.length), stored, envelope: { from: author.from.address, to }, messageId };
}

/** bccHeader encodes a Bcc header line the way nodemailer encodes the other address headers. */
function bccHeader(list: Array<{ name: string; address: string }>): string {
  const node = new MimeNode('text/plain', { keepBcc: true });
  // nodemailer formats address objects in address headers; its types only admit strings.
  node.setHeader('Bcc', list as unknown as string[]);
  const line = node.buildHeaders().match(/^Bcc: .*(?:\r\n[ \t].*)*\r\n/m)?.[0];
  if (!line) throw new Error('could not encode the Bcc header');
  return line;
}

/** quote prefixes each line with "> ", the way plain-text replies carry the original. */
export function quote(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .trimEnd()
    .split('\n')
    .map((l) => (l.startsWith('>') ? `>${l}` : `> ${l}`))
    .join('\n');
}

/** addressesOf flattens a parsed address header into plain addresses. */
export function addressesOf(field: AddressObject | AddressObject[] | undefined): Array<{ name: string; address: string }> {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  const out: Array<{ name: string; address: string }> = [];
  for (const obj of list) {
    for (const a of obj.value) {
      if (a.group) for (const g of a.group) out.push({ name: g.name ?? '', address: g.address ?? '' });
      else if (a.address) out.push({ name: a.name ?? '', address: a.address });
    }
  }
  return out;
}

/** formatAddresses writes addresses back as a line a person can edit. */
export function formatAddresses(list: Array<{ name: string; address: string }>): string {
  return list.map((a) => (a.name ? `${/[",<>@;:()]/.test(a.name) ? JSON.stringify(a.name) : a.name} <${a.address}>` : a.address)).join(', ');
}

/** signed adds a signature below a new message's (empty) text: the "-- " line, then the signature. */
function signed(signature: Signature | undefined): { text: string; html: string } {
  if (!signature) return { text: '', html: '' };
  return { text: `\n\n-- \n${signature.text}`, html: `<div><br></div><div>-- <br>${sanitizeComposed(signature.html)}</div><div><br></div>` };
}

/** blankDraft starts a new message, signed when the mailbox has a signature. */
export function blankDraft(to: string, signature?: Signature): Draft {
  const sig = signed(signature);
  return { to, cc: '', bcc: '', subject: '', body: sig.text, html: `<div><br></div>${sig.html}` };
}

/**
 * prefill fills the compose form to reply, reply to all or forward: the
 * recipients (never the mailbox itself on reply-all), "Re:"/"Fwd:" once,
 * the threading headers, and the original, quoted ("> " in the text, a
 * blockquote in the markup) below the signature.
 */
export function prefill(
  mode: ReplyMode,
  original: ParsedMail,
  mailbox: string,
  texts: { wrote: (date: string, who: string) => string; forwarded: string; from: string; date: string; subject: string; to: string; when?: (d: Date) => string },
  signature?: Signature,
): Draft {
  const subject = original.subject ?? '';
  const from = addressesOf(original.from);
  const replyTo = addressesOf(original.replyTo);
  // In the writer's time zone when the caller knows it; otherwise UTC, said so.
  const date = original.date ? (texts.when ? texts.when(original.date) : original.date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC') : '';
  const who = formatAddresses(from);
  const text = original.text ?? '';
  const shown = original.html ? sanitizeComposed(original.html) : textToHtml(text.trimEnd());
  const sig = signed(signature);
  const refs = [...(Array.isArray(original.references) ? original.references : original.references ? [original.references] : []), original.messageId]
    .filter((x): x is string => !!x)
    .join(' ');
  if (mode === 'forward') {
    const lines = [texts.forwarded, `${texts.from}: ${who}`, `${texts.date}: ${date}`, `${texts.subject}: ${subject}`, `${texts.to}: ${formatAddresses(addressesOf(original.to))}`];
    return {
      to: '',
      cc: '',
      bcc: '',
      subject: /^fwd?:/i.test(subject) ? subject : `Fwd: ${subject}`,
      body: `${sig.text}\n\n${lines.join('\n')}\n\n${text}`,
      html: `<div><br></div>${sig.html}<p>${lines.map(escapeHtml).join('<br>')}</p><div>${shown}</div>`,
      references: refs,
    };
  }
  const self = mailbox.toLowerCase();
  const primary = replyTo.length ? replyTo : from;
  let to = primary;
  let cc: typeof to = [];
  if (mode === 'all') {
    const seen = new Set(primary.map((a) => a.address.toLowerCase()));
    const rest = [...addressesOf(original.to), ...addressesOf(original.cc)].filter((a) => {
      const k = a.address.toLowerCase();
      if (k === self || seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    cc = rest;
    // Replying to one's own sent message goes to its recipients, not back to oneself.
    if (to.every((a) => a.address.toLowerCase() === self) && rest.length) {
      to = rest;
      cc = [];
    }
  }
  return {
    to: formatAddresses(to),
    cc: formatAddresses(cc),
    bcc: '',
    subject: /^re:/i.test(subject) ? subject : `Re: ${subject}`,
    body: `${sig.text}\n\n${texts.wrote(date, who)}\n${quote(text)}\n`,
    html: `<div><br></div>${sig.html}<p>${escapeHtml(texts.wrote(date, who))}</p><blockquote>${shown}</blockquote>`,
    inReplyTo: original.messageId ?? '',
    references: refs,
  };
}
