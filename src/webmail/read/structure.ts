import type { MessageStructureObject } from 'imapflow';

/** BodyPart is a text part shown as the message body. */
export interface BodyPart {
  part: string;
  html: boolean;
  charset: string;
  encoding: string;
  /** format=flowed plain text (RFC 3676): soft line breaks to unwrap. */
  flowed: boolean;
  delSp: boolean;
  /** Size on the wire, transfer encoding included. */
  size: number;
}

/** InlineImage is a picture the HTML body may show by its Content-ID (cid:). */
export interface InlineImage {
  part: string;
  cid: string;
  contentType: string;
  encoding: string;
  size: number;
  filename: string;
}

/** PartInfo describes a file in a message, by its IMAP part number (2, 1.3, …). */
export interface PartInfo {
  part: string;
  filename: string;
  contentType: string;
  /** Decoded size, estimated from the size on the wire. */
  size: number;
}

/** ReadPlan is what to fetch to show a message, and which files it holds. */
export interface ReadPlan {
  body: BodyPart[];
  inline: InlineImage[];
  attachments: PartInfo[];
}

/** A message with more text parts than this shows the first ones and lists the rest as files. */
export const MAX_BODY_PARTS = 10;
/** Deeper nesting is not mail anyone wrote; the walk stops there. */
const MAX_DEPTH = 20;
/** Files listed at most, so a crafted structure cannot make the page huge. */
const MAX_ATTACHMENTS = 500;

/**
 * planRead walks a message's BODYSTRUCTURE and decides what to show without
 * fetching any content: the text to display (HTML preferred among
 * alternatives), pictures embedded by Content-ID in multipart/related, and
 * everything else as files. An attached message (message/rfc822) is one
 * file: its own parts are not shown as the body.
 */
export function planRead(root: MessageStructureObject): ReadPlan {
  const plan: ReadPlan = { body: [], inline: [], attachments: [] };
  walk(root, plan, 0, true);
  return plan;
}

function walk(node: MessageStructureObject, plan: ReadPlan, depth: number, isRoot: boolean): void {
  if (depth > MAX_DEPTH) return;
  const type = (node.type || 'application/octet-stream').toLowerCase();
  const part = node.part ?? (isRoot ? '1' : '');
  if (type.startsWith('multipart/')) {
    const children = node.childNodes ?? [];
    if (type === 'multipart/alternative') {
      const chosen = pickAlternative(children);
      if (chosen) walk(chosen, plan, depth + 1, false);
      return;
    }
    if (type === 'multipart/related') {
      const root = relatedRoot(node, children);
      for (const child of children) {
        if (child === root) walk(child, plan, depth + 1, false);
        else if (child.id && (child.type || '').toLowerCase().startsWith('image/') && child.disposition !== 'attachment' && child.part) {
          plan.inline.push({ part: child.part, cid: bareCid(child.id), contentType: child.type.toLowerCase(), encoding: (child.encoding || '7bit').toLowerCase(), size: child.size ?? 0, filename: filenameOf(child) });
        } else walk(child, plan, depth + 1, false);
      }
      return;
    }
    for (const child of children) walk(child, plan, depth + 1, false);
    return;
  }
  if (!part) return;
  if (isBodyText(node, type) && plan.body.length < MAX_BODY_PARTS) {
    const params = node.parameters ?? {};
    plan.body.push({
      part,
      html: type === 'text/html',
      charset: (params.charset || 'utf-8').toLowerCase(),
      encoding: (node.encoding || '7bit').toLowerCase(),
      flowed: (params.format || '').toLowerCase() === 'flowed',
      delSp: (params.delsp || '').toLowerCase() === 'yes',
      size: node.size ?? 0,
    });
    return;
  }
  if (plan.attachments.length >= MAX_ATTACHMENTS) return;
  plan.attachments.push({ part, filename: filenameOf(node) || unnamed(node, type, part), contentType: type, size: decodedSize(node) });
}

/** isBodyText: plain or HTML text that is part of the message, not a file someone attached. */
function isBodyText(node: MessageStructureObject, type: string): boolean {
  if (type !== 'text/plain' && type !== 'text/html') return false;
  if (node.disposition === 'attachment') return false;
  return !filenameOf(node);
}

/**
 * pickAlternative takes the richest version the page can show: the last
 * HTML-bearing alternative (RFC 2046 puts the preferred one last), else the
 * last plain text, else the last one.
 */
function pickAlternative(children: MessageStructureObject[]): MessageStructureObject | undefined {
  const showable = children.filter((c) => c.disposition !== 'attachment');
  const html = showable.filter((c) => hasHtml(c, 0));
  if (html.length) return html[html.length - 1];
  const plain = showable.filter((c) => (c.type || '').toLowerCase() === 'text/plain');
  if (plain.length) return plain[plain.length - 1];
  return children[children.length - 1];
}

function hasHtml(node: MessageStructureObject, depth: number): boolean {
  const type = (node.type || '').toLowerCase();
  if (type === 'text/html') return true;
  if (depth > MAX_DEPTH || !type.startsWith('multipart/')) return false;
  return (node.childNodes ?? []).some((c) => hasHtml(c, depth + 1));
}

/** relatedRoot is the part the `start` parameter names, or the first (RFC 2387). */
function relatedRoot(node: MessageStructureObject, children: MessageStructureObject[]): MessageStructureObject | undefined {
  const start = node.parameters?.start;
  if (start) {
    const found = children.find((c) => c.id && bareCid(c.id) === bareCid(start));
    if (found) return found;
  }
  return children[0];
}

/** bareCid strips the angle brackets of a Content-ID, as cid: URLs write it. */
export function bareCid(id: string): string {
  const v = id.trim();
  return v.startsWith('<') && v.endsWith('>') ? v.slice(1, -1) : v;
}

function filenameOf(node: MessageStructureObject): string {
  const name = node.dispositionParameters?.filename || node.parameters?.name || '';
  return cleanName(name);
}

/** cleanName keeps a file name printable and short; no directory parts. */
function cleanName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  return [...base.replace(/[\u0000-\u001f\u007f]/g, '')].slice(0, 200).join('').trim();
}

const EXTENSIONS: Record<string, string> = {
  'message/rfc822': 'eml',
  'message/global': 'eml',
  'text/plain': 'txt',
  'text/html': 'html',
  'text/calendar': 'ics',
  'text/csv': 'csv',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/pkcs7-signature': 'p7s',
};

/** unnamed gives a file without a name one people can open: an attached message by its subject. */
function unnamed(node: MessageStructureObject, type: string, part: string): string {
  const ext = EXTENSIONS[type] ?? 'bin';
  if (type === 'message/rfc822' || type === 'message/global') {
    const subject = cleanName((node.envelope?.subject ?? '').replace(/[\\/:*?"<>|]/g, '_')).slice(0, 100);
    if (subject) return `${subject}.eml`;
  }
  return `attachment-${part}.${ext}`;
}

/** decodedSize estimates a part's size once base64 is removed (76 characters and CRLF per 57 bytes). */
function decodedSize(node: MessageStructureObject): number {
  const size = node.size ?? 0;
  return (node.encoding || '').toLowerCase() === 'base64' ? Math.floor((size * 57) / 78) : size;
}
