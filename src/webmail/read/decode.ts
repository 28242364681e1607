/**
 * decodeTransfer removes a part's Content-Transfer-Encoding. Broken input
 * decodes as far as it goes: a reader would rather see most of a message
 * than an error.
 */
export function decodeTransfer(raw: Buffer, encoding: string): Buffer {
  switch (encoding.toLowerCase()) {
    case 'base64':
      // Buffer skips whitespace and stops at the first character that is not base64.
      return Buffer.from(raw.toString('latin1'), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(raw);
    default:
      return raw;
  }
}

const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;

/** decodeQuotedPrintable decodes RFC 2045 quoted-printable in one pass over the bytes. */
export function decodeQuotedPrintable(raw: Buffer): Buffer {
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b !== EQUALS) {
      out[n++] = b;
      continue;
    }
    // A soft line break: "=" at the end of a line, maybe with trailing blanks before the break.
    let j = i + 1;
    while (j < raw.length && (raw[j] === 0x20 || raw[j] === 0x09)) j++;
    if (j < raw.length && (raw[j] === CR || raw[j] === LF)) {
      i = raw[j] === CR && raw[j + 1] === LF ? j + 1 : j;
      continue;
    }
    if (j >= raw.length) {
      i = j;
      continue;
    }
    const hi = hexValue(raw[i + 1]);
    const lo = hexValue(raw[i + 2]);
    if (hi < 0 || lo < 0) {
      // Not an escape: keep the "=" as written.
      out[n++] = b;
      continue;
    }
    out[n++] = hi * 16 + lo;
    i += 2;
  }
  return out.subarray(0, n);
}

function hexValue(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  return -1;
}

/** Labels mail uses that the WHATWG encoding list spells otherwise. */
const CHARSET_ALIASES: Record<string, string> = {
  'ks_c_5601-1987': 'euc-kr',
  'x-gbk': 'gbk',
  cp936: 'gbk',
  'cp-850': 'ibm866',
  utf8: 'utf-8',
  'x-unknown': 'utf-8',
  'unknown-8bit': 'windows-1252',
  '8bit': 'windows-1252',
};

/**
 * decodeCharset turns a text part's bytes into a string. Unknown or
 * misspelled charsets fall back to UTF-8, and bytes that do not fit the
 * charset become U+FFFD: the text still shows.
 */
export function decodeCharset(bytes: Buffer, charset: string): string {
  const label = charset.trim().toLowerCase().replace(/^"|"$/g, '');
  const name = CHARSET_ALIASES[label] ?? label;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(name || 'utf-8', { fatal: false });
  } catch {
    decoder = new TextDecoder('utf-8', { fatal: false });
  }
  // GB2312 mail often holds GBK characters; the wider decoder reads both.
  if (decoder.encoding === 'gb2312' || decoder.encoding === 'gbk') decoder = new TextDecoder('gb18030', { fatal: false });
  return decoder.decode(bytes);
}

/**
 * unflow joins the soft line breaks of format=flowed text (RFC 3676): a line
 * ending in a space continues on the next one. Quoted lines keep their
 * depth; space-stuffing is removed.
 */
export function unflow(text: string, delSp: boolean): string {
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  let current: string | null = null;
  let currentDepth = 0;
  for (const raw of lines) {
    let depth = 0;
    while (depth < raw.length && raw[depth] === '>') depth++;
    let line = raw.slice(depth);
    if (line.startsWith(' ')) line = line.slice(1);
    const isSig = line === '-- ';
    const soft = !isSig && line.endsWith(' ');
    if (current !== null && depth !== currentDepth) {
      out.push(current);
      current = null;
    }
    const piece = soft && delSp ? line.slice(0, -1) : line;
    if (current === null) {
      current = (depth ? '>'.repeat(depth) + ' ' : '') + piece;
      currentDepth = depth;
    } else current += piece;
    if (!soft) {
      out.push(current);
      current = null;
    }
  }
  if (current !== null) out.push(current);
  return out.join('\n');
}
