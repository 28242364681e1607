/**
 * MailClient is what a mail app says it is with IMAP ID (RFC 2971): its
 * name and version, cleaned for showing. Nothing checks it: any client may
 * call itself anything.
 */
export interface MailClient {
  name: string;
  version: string | null;
}

/** Longest name or version kept, in characters. */
export const CLIENT_FIELD_MAX = 64;
/**
 * Longest argument read. RFC 2971 allows 30 pairs of a 30-octet field and a
 * 1024-octet value; what lies beyond this is never a real client's.
 */
const ARGS_MAX = 8192;
const PAIRS_MAX = 30;
const VALUE_MAX = 1024;
/** Literal sizes beyond this cannot fit in ARGS_MAX anyway. */
const LITERAL_DIGITS_MAX = 5;

/** An item of the list: a string (quoted, literal or atom), or NIL. */
type Item = string | null;

/**
 * parseImapId reads the argument of an IMAP ID command: a parenthesised
 * list of field-value pairs or NIL, as Dovecot's `cmd_args` has it, or the
 * bare pairs of Dovecot's `%{client_id}`. Strings may be quoted (with `\"`
 * and `\\` escapes), literals (`{n}` or `{n+}`, CRLF, n octets) or atoms.
 * Field names are lower-cased; the first of a repeated field counts; at
 * most 30 pairs are read and each value is cut to 1024 characters. A value
 * cut short by the end of the input keeps what arrived (Dovecot truncates
 * `%{client_id}`). Nested lists, unbalanced parentheses, broken literals or
 * text after the list give undefined.
 *
 * One pass over at most 8 KiB, no recursion and no regular expression: a
 * hostile argument costs as little as an honest one.
 */
export function parseImapId(args: string): Map<string, string | null> | undefined {
  const s = args.length > ARGS_MAX ? args.slice(0, ARGS_MAX) : args;
  const n = s.length;
  let i = 0;
  const skipSpace = () => {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
  };
  skipSpace();
  if (i === n) return undefined;

  const items: Item[] = [];
  let list = false;
  if (s[i] === '(') {
    list = true;
    i++;
  }
  let closed = false;
  while (items.length < PAIRS_MAX * 2) {
    skipSpace();
    if (i >= n) break;
    const c = s[i]!;
    if (c === ')') {
      if (!list) return undefined;
      closed = true;
      i++;
      break;
    }
    if (c === '(') return undefined;
    if (c === '"') {
      const read = quoted(s, i + 1);
      items.push(read.value);
      i = read.end;
    } else if (c === '{' || (c === '~' && s[i + 1] === '{')) {
      const read = literal(s, c === '~' ? i + 1 : i);
      if (!read) return undefined;
      items.push(read.value);
      i = read.end;
    } else {
      const start = i;
      while (i < n && !isSpace(s.charCodeAt(i)) && !'()"{'.includes(s[i]!)) i++;
      const atom = s.slice(start, Math.min(i, start + VALUE_MAX));
      items.push(atom.toUpperCase() === 'NIL' ? null : atom);
    }
  }
  // Whatever follows the list (or the thirty pairs) must be nothing, or more of a list cut short.
  if (closed) {
    skipSpace();
    if (i < n) return undefined;
  }

  // NIL alone (or nil) stands for "no information".
  if (!list && items.length === 1 && items[0] === null) return new Map();
  const out = new Map<string, string | null>();
  for (let k = 0; k + 1 < items.length; k += 2) {
    const field = items[k];
    if (field === null || field === undefined) continue;
    const key = field.toLowerCase();
    if (!out.has(key)) out.set(key, items[k + 1]!);
  }
  return out;
}

/**
 * mailClientOf reads the mail app's name and version from an IMAP ID
 * argument (see parseImapId), cleaned by cleanClientField; undefined when
 * the argument cannot be read or names no app.
 */
export function mailClientOf(args: string): MailClient | undefined {
  const fields = parseImapId(args);
  const name = cleanClientField(fields?.get('name') ?? '');
  if (!name) return undefined;
  const version = cleanClientField(fields?.get('version') ?? '');
  return { name, version: version || null };
}

/**
 * cleanClientField makes a name a client chose safe to show: control
 * characters and unusual spaces become one space, invisible and unassigned
 * characters (bidirectional overrides, zero-width, private use, lone
 * surrogates) go, and at most 64 characters remain, never half of one.
 */
export function cleanClientField(value: string): string {
  const printable = value
    .slice(0, VALUE_MAX)
    .replace(/[\p{Cc}\p{Z}]+/gu, ' ')
    .replace(/\p{C}/gu, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  return Array.from(printable).slice(0, CLIENT_FIELD_MAX).join('').trimEnd();
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

/** quoted reads a quoted string whose opening quote is before `from`; an unterminated one ends with the input. */
function quoted(s: string, from: number): { value: string; end: number } {
  let value = '';
  let i = from;
  while (i < s.length) {
    let c = s[i]!;
    if (c === '"') return { value, end: i + 1 };
    if (c === '\\') {
      i++;
      if (i >= s.length) break;
      c = s[i]!;
    }
    if (value.length < VALUE_MAX) value += c;
    i++;
  }
  return { value, end: i };
}

/** literal reads `{n}` or `{n+}`, a line break, then n octets of UTF-8; undefined when any of it is missing. */
function literal(s: string, from: number): { value: string; end: number } | undefined {
  let i = from + 1;
  const digitsFrom = i;
  while (i < s.length && s[i]! >= '0' && s[i]! <= '9') i++;
  const digits = i - digitsFrom;
  if (digits === 0 || digits > LITERAL_DIGITS_MAX) return undefined;
  const size = Number(s.slice(digitsFrom, i));
  if (s[i] === '+') i++;
  if (s[i] !== '}') return undefined;
  i++;
  if (s[i] === '\r') i++;
  if (s[i] !== '\n') return undefined;
  i++;
  const start = i;
  let octets = 0;
  while (octets < size && i < s.length) {
    const code = s.codePointAt(i)!;
    octets += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    i += code > 0xffff ? 2 : 1;
  }
  if (octets !== size) return undefined;
  return { value: s.slice(start, Math.min(i, start + VALUE_MAX)), end: i };
}
