import type { Readable } from 'node:stream';
import type { ImapFlow, FetchBodyPartQuery, MessageAddressObject, MessageEnvelopeObject } from 'imapflow';
import { decodeCharset, decodeTransfer, unflow } from './decode.ts';
import { planRead, type BodyPart, type InlineImage, type PartInfo, type ReadPlan } from './structure.ts';

/** A text part longer than this shows its beginning; the whole part is listed as a file. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Embedded pictures are fetched with the text only while small; larger ones are listed as files. */
const MAX_INLINE_BYTES = 512 * 1024;
const MAX_INLINE_TOTAL = 1536 * 1024;
/** The picture types the sanitizer lets through as data: URLs; others are listed as files. */
const SHOWN_IMAGE = /^image\/(png|gif|jpe?g|webp|bmp)$/;
/** Attachments come from the server in pieces this large: few round trips, bounded memory. */
const DOWNLOAD_CHUNK = 1024 * 1024;

/** Fetched is a message as the server gave it for reading: its envelope, flags, structure and the parts to show. */
export interface Fetched {
  uid: number;
  envelope: MessageEnvelopeObject;
  seen: boolean;
  plan: ReadPlan;
  parts: Map<string, Buffer>;
  /** Text parts fetched only in part, for being longer than MAX_BODY_BYTES. */
  cut: Set<string>;
}

/** Shown is a message's headers and text, ready for the sanitizer. */
export interface Shown {
  subject: string;
  messageId: string;
  from: string;
  to: string;
  cc: string;
  /** Set only when someone other than the author sent it. */
  sender: string;
  date: Date | undefined;
  text: string;
  /** Unsanitized HTML with embedded pictures as data: URLs; null for a plain-text message. */
  html: string | null;
  attachments: PartInfo[];
}

/**
 * fetchForReading gets what a message page needs in two round trips, in the
 * selected folder: the structure, envelope and flags, then only the parts
 * shown (with BODY.PEEK: nothing is marked read here). Undefined when the
 * UID is not there.
 */
export async function fetchForReading(c: ImapFlow, uid: number): Promise<Fetched | undefined> {
  const head = await c.fetchOne(String(uid), { uid: true, flags: true, envelope: true, bodyStructure: true }, { uid: true });
  if (!head || !head.bodyStructure) return undefined;
  const plan = planRead(head.bodyStructure);
  const wanted: FetchBodyPartQuery[] = [];
  const cut = new Set<string>();
  let budget = MAX_BODY_BYTES * 2;
  for (const b of plan.body) {
    const maxLength = Math.min(MAX_BODY_BYTES, budget);
    if (b.size > maxLength) cut.add(b.part);
    if (maxLength <= 0) continue;
    wanted.push(b.size > maxLength ? { key: b.part, start: 0, maxLength } : { key: b.part });
    budget -= Math.min(b.size, maxLength);
  }
  for (const img of cheapImages(plan)) wanted.push({ key: img.part });
  let parts = new Map<string, Buffer>();
  if (wanted.length) {
    const body = await c.fetchOne(String(uid), { uid: true, bodyParts: wanted }, { uid: true });
    if (!body) return undefined;
    parts = body.bodyParts ?? parts;
  }
  return { uid, envelope: head.envelope ?? {}, seen: !!head.flags?.has('\\Seen'), plan, parts, cut };
}

/** cheapImages are the embedded pictures small enough to fetch with the text, when there is HTML to show them in. */
function cheapImages(plan: ReadPlan): InlineImage[] {
  if (!plan.body.some((b) => b.html)) return [];
  const out: InlineImage[] = [];
  let total = 0;
  for (const img of plan.inline) {
    if (!SHOWN_IMAGE.test(img.contentType) || img.size > MAX_INLINE_BYTES || total + img.size > MAX_INLINE_TOTAL) continue;
    total += img.size;
    out.push(img);
  }
  return out;
}

/**
 * showFetched decodes the fetched parts into text and HTML: transfer
 * encoding, then charset, then format=flowed. Pictures the HTML names by
 * cid: become data: URLs; those it does not name, or too large to embed,
 * are listed with the files so nothing in the message is hidden.
 */
export function showFetched(f: Fetched): Shown {
  const texts: Array<{ html: boolean; value: string }> = [];
  const attachments = [...f.plan.attachments];
  for (const b of f.plan.body) {
    const raw = f.parts.get(b.part);
    if (raw) texts.push({ html: b.html, value: decodeText(raw, b) });
    if (f.cut.has(b.part)) attachments.push({ part: b.part, filename: `message-${b.part}.${b.html ? 'html' : 'txt'}`, contentType: b.html ? 'text/html' : 'text/plain', size: b.size });
  }
  const anyHtml = texts.some((t) => t.html);
  let html: string | null = null;
  let text = '';
  if (anyHtml) {
    html = texts.map((t) => (t.html ? t.value : `<pre>${escapeHtml(t.value)}</pre>`)).join('\n<hr>\n');
    for (const img of f.plan.inline) {
      const raw = f.parts.get(img.part);
      const named = html.includes(`cid:${img.cid}`);
      if (raw && named && img.cid && SHOWN_IMAGE.test(img.contentType)) html = embed(html, img, raw);
      else attachments.push({ part: img.part, filename: img.filename || `image-${img.part}.${img.contentType.split('/')[1] || 'bin'}`, contentType: img.contentType, size: img.size });
    }
  } else {
    text = texts.map((t) => t.value).join('\n\n');
    for (const img of f.plan.inline) attachments.push({ part: img.part, filename: img.filename || `image-${img.part}`, contentType: img.contentType, size: img.size });
  }
  const e = f.envelope;
  const from = e.from ?? [];
  const sender = (e.sender ?? []).filter((s) => !from.some((a) => sameAddress(a, s)));
  return {
    subject: e.subject ?? '',
    messageId: e.messageId ?? '',
    from: shown(from),
    to: shown(e.to),
    cc: shown(e.cc),
    sender: shown(sender),
    date: e.date ? validDate(new Date(e.date)) : undefined,
    text,
    html,
    attachments,
  };
}

function decodeText(raw: Buffer, b: BodyPart): string {
  const value = decodeCharset(decodeTransfer(raw, b.encoding), b.charset);
  return b.flowed && !b.html ? unflow(value, b.delSp) : value;
}

/** embed replaces quoted cid: references to a picture with its data: URL. */
function embed(html: string, img: InlineImage, raw: Buffer): string {
  const base64 = img.encoding === 'base64' ? raw.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '') : decodeTransfer(raw, img.encoding).toString('base64');
  const url = `data:${img.contentType};base64,${base64}`;
  let out = html;
  for (const q of ['"', "'"]) out = out.split(`cid:${img.cid}${q}`).join(`${url}${q}`);
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function sameAddress(a: MessageAddressObject, b: MessageAddressObject): boolean {
  return !!a.address && a.address.toLowerCase() === (b.address ?? '').toLowerCase();
}

function validDate(d: Date): Date | undefined {
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** shown writes addresses as people read them: Name <address>, without the quoting of the header. */
function shown(list: MessageAddressObject[] | undefined): string {
  return (list ?? [])
    .filter((a) => a.address || a.name)
    .map((a) => (a.name && a.address ? `${a.name} <${a.address}>` : a.address || a.name || ''))
    .join(', ');
}

/** Download is one part of a message, streamed from the server as it is read. */
export interface Download {
  file: PartInfo;
  subject: string;
  content: Readable;
}

/**
 * findPart looks a part number up in a message's structure: a file, an
 * embedded picture or a text part. Undefined for anything else, such as a
 * multipart container or a number the message does not have.
 */
export function findPart(plan: ReadPlan, part: string): PartInfo | undefined {
  const file = plan.attachments.find((a) => a.part === part);
  if (file) return file;
  const img = plan.inline.find((i) => i.part === part);
  if (img) return { part, filename: img.filename || `image-${part}.${img.contentType.split('/')[1] || 'bin'}`, contentType: img.contentType, size: img.size };
  const text = plan.body.find((b) => b.part === part);
  if (text) return { part, filename: `message-${part}.${text.html ? 'html' : 'txt'}`, contentType: text.html ? 'text/html' : 'text/plain', size: text.size };
  return undefined;
}

/**
 * openPart starts streaming one part of a message with its transfer
 * encoding removed and its bytes as sent (no charset conversion): the file
 * downloads as it was attached. Undefined when the message or the part is
 * not there. The caller must consume or destroy `content` before the
 * connection is used again.
 */
export async function openPart(c: ImapFlow, uid: number, part: string): Promise<Download | undefined> {
  const head = await c.fetchOne(String(uid), { uid: true, envelope: true, bodyStructure: true }, { uid: true });
  if (!head || !head.bodyStructure) return undefined;
  const file = findPart(planRead(head.bodyStructure), part);
  if (!file) return undefined;
  const got = await c.download(String(uid), part, { uid: true, decodeText: false, chunkSize: DOWNLOAD_CHUNK });
  if (!got.content) return undefined;
  return { file, subject: head.envelope?.subject ?? '', content: got.content };
}
