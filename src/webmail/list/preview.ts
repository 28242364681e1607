import type { MessageStructureObject } from 'imapflow';

/** PREVIEW_LENGTH is how many characters of text a list row shows at most. */
export const PREVIEW_LENGTH = 160;

/** TextPart names the part of a message a preview is read from, and how to decode it. */
export interface TextPart {
  /** The IMAP part number: "1" for a single-part message, "1.1" inside a mixed message, … */
  key: string;
  html: boolean;
  encoding: string;
  charset: string;
  /** Bytes to fetch: enough encoded text for one line, more for HTML, which starts with markup. */
  bytes: number;
}

/**
 * textPart finds the part a preview is read from, from BODYSTRUCTURE alone:
 * the first text/plain that is not an attachment, else the first text/html.
 * Inside message/rfc822 (a forwarded message) it does not look.
 */
export function textPart(root: MessageStructureObject | undefined): TextPart | undefined {
  if (!root) return undefined;
  let plain: MessageStructureObject | undefined;
  let html: MessageStructureObject | undefined;
  const walk = (node: MessageStructureObject, depth: number) => {
    if (plain || depth > 8) return;
    if (node.childNodes?.length && node.type.startsWith('multipart/')) {
      for (const child of node.childNodes) walk(child, depth + 1);
      return;
    }
    if (node.disposition === 'attachment') return;
    if (node.type === 'text/plain') plain ??= node;
    else if (node.type === 'text/html') html ??= node;
  };
  walk(root, 0);
  const node = plain ?? html;
  if (!node) return undefined;
  return {
    // A message that is not multipart has only part 1: its body.
    key: node.part || '1',
    html: node === html,
    encoding: (node.encoding ?? '7bit').toLowerCase(),
    charset: (node.parameters?.charset ?? 'utf-8').toLowerCase(),
    bytes: node === html ? 3000 : 600,
  };
}

/**
 * previewText decodes the first bytes of a part into one line of text. The
 * bytes end wherever the partial fetch cut them: a half base64 quantum, a
 * half "=XX" escape or a half multi-byte character is dropped, not shown.
 */
export function previewText(raw: Buffer, part: TextPart): string {
  let bytes: Buffer;
  if (part.encoding === 'base64') {
    const b64 = raw.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
    bytes = Buffer.from(b64.slice(0, b64.length - (b64.length % 4)), 'base64');
  } else if (part.encoding === 'quoted-printable') {
    bytes = decodeQuotedPrintable(raw);
  } else {
    bytes = raw;
  }
  let text = decodeCharset(bytes, part.charset);
  if (part.html) text = htmlToLine(text);
  // A character cut in half at the end decodes to U+FFFD: drop it.
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  text = text.slice(0, end).replace(/\s+/g, ' ').trim();
  return text.length > PREVIEW_LENGTH ? text.slice(0, PREVIEW_LENGTH).trimEnd() + '…' : text;
}

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    // A charset the runtime does not know: read it as UTF-8 and let the odd character go.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** decodeQuotedPrintable decodes RFC 2045 quoted-printable in one pass; a cut-off escape at the end is dropped. */
function decodeQuotedPrintable(raw: Buffer): Buffer {
  const out: number[] = [];
  const hex = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== 61) {
      out.push(c);
      continue;
    }
    // "=" then CRLF or LF: a soft line break.
    if (raw[i + 1] === 13 && raw[i + 2] === 10) {
      i += 2;
      continue;
    }
    if (raw[i + 1] === 10) {
      i += 1;
      continue;
    }
    if (i + 2 >= raw.length) break;
    const hi = hex(raw[i + 1]!);
    const lo = hex(raw[i + 2]!);
    if (hi < 0 || lo < 0) {
      out.push(c);
      continue;
    }
    out.push(hi * 16 + lo);
    i += 2;
  }
  return Buffer.from(out);
}

const INLINE = new Set(['a', 'abbr', 'b', 'big', 'cite', 'code', 'em', 'font', 'i', 'kbd', 'mark', 'q', 's', 'small', 'span', 'strong', 'sub', 'sup', 'u']);
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * htmlToLine keeps the text of an HTML fragment: the content of head, style
 * and script is dropped, tags become spaces, common entities are decoded.
 * One scan with indexOf; a tag cut off at the end is dropped.
 */
function htmlToLine(html: string): string {
  let out = '';
  let i = 0;
  const lower = html.toLowerCase();
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    const gt = html.indexOf('>', lt);
    if (gt < 0) break;
    const name = /^<\s*\/?([a-z0-9]+)/.exec(lower.slice(lt, Math.min(gt + 1, lt + 20)))?.[1];
    const closing = lower[lt + 1] === '/';
    i = gt + 1;
    if (!closing && (name === 'style' || name === 'script' || name === 'head' || name === 'title')) {
      const close = lower.indexOf(`</${name}`, i);
      if (close < 0) return decodeEntities(out);
      const end = html.indexOf('>', close);
      i = end < 0 ? html.length : end + 1;
    }
    // Inline markup sits inside words and sentences; any other tag ends a line.
    if (!name || !INLINE.has(name)) out += ' ';
  }
  return decodeEntities(out);
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}
