/**
 * The hardware-token file administrators import: the de-facto format of
 * Microsoft Entra's OATH token upload, one token a row,
 *
 *   upn,serial number,secret key,time interval,manufacturer,model
 *   ana@example.org,1234567,JBSW Y3DP EHPK 3PXP,30,Contoso,Hardware Key
 *
 * `upn` may be empty (the token waits in stock for whoever binds it); the
 * secret key is base32 (spaces and either case allowed), the time interval
 * 30 or 60 seconds; codes are SHA-1, six digits. The file is read by hand,
 * character by character, without regular expressions: every field and the
 * number of rows are bounded, so a hostile file costs no more than its size.
 */

/** The header, in order; names are compared without case and surrounding spaces. */
export const CSV_COLUMNS = ['upn', 'serial number', 'secret key', 'time interval', 'manufacturer', 'model'] as const;

/** MAX_ROWS is how many tokens one file may hold: more than a site hands out at once, few enough to check in one transaction. */
export const MAX_ROWS = 10_000;
/** MAX_FIELD is the longest field accepted, in characters. */
export const MAX_FIELD = 256;
/** MAX_CSV_CHARS bounds the whole text before anything is read (the web upload has its own, smaller cap). */
export const MAX_CSV_CHARS = 4 * 1024 * 1024;
/** MAX_SERIAL is the longest serial number: longer than any printed on a token. */
export const MAX_SERIAL = 64;
/** MIN_SECRET_CHARS: 16 base32 characters are 80 bits, the least RFC 4226 allows (it recommends 160). */
export const MIN_SECRET_CHARS = 16;
/** The time steps a token may use, in seconds. */
export const TOKEN_PERIODS = [30, 60] as const;

export type TokenPeriod = (typeof TOKEN_PERIODS)[number];

/** TokenRow is one good row: the serial as written, the key as canonical base32 (upper case, no spaces or padding). */
export interface TokenRow {
  row: number;
  /** The owner's address in lower case, or '' for a token in stock. */
  upn: string;
  serial: string;
  secret: string;
  period: TokenPeriod;
  manufacturer: string;
  model: string;
}

/** What can be wrong with a file or one of its rows. */
export type CsvProblem =
  | 'empty'
  | 'too_large'
  | 'too_many_rows'
  | 'header'
  | 'columns'
  | 'quote'
  | 'too_long'
  | 'control'
  | 'upn'
  | 'serial_missing'
  | 'serial'
  | 'secret'
  | 'secret_short'
  | 'period'
  | 'duplicate'
  // Found by the import against the store, not by the parser:
  | 'upn_unknown'
  | 'exists';

/** RowError is one problem of one row: its line in the file (the header is line 1), what is wrong, and details for the message. */
export interface RowError {
  row: number;
  problem: CsvProblem;
  params?: Record<string, string | number>;
}

/** parseTokenCsv reads a whole file: the good rows, and every problem found (an empty list means the file may be imported). */
export function parseTokenCsv(text: string): { rows: TokenRow[]; errors: RowError[] } {
  if (text.length > MAX_CSV_CHARS) return { rows: [], errors: [{ row: 1, problem: 'too_large', params: { mb: MAX_CSV_CHARS / 1024 / 1024 } }] };
  // A byte-order mark, as spreadsheet programs write, is no part of the first column's name.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const { records, more } = readRecords(body, MAX_ROWS + 1);
  const header = records[0];
  if (!header) return { rows: [], errors: [{ row: 1, problem: 'empty' }] };
  if (more !== null) return { rows: [], errors: [{ row: more, problem: 'too_many_rows', params: { max: MAX_ROWS } }] };
  if (!isHeader(header)) return { rows: [], errors: [{ row: header.line, problem: 'header', params: { header: CSV_COLUMNS.join(',') } }] };

  const rows: TokenRow[] = [];
  const errors: RowError[] = [];
  const seen = new Map<string, number>();
  for (const record of records.slice(1)) {
    const found = checkRecord(record);
    if (!Array.isArray(found)) {
      const key = found.serial.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        errors.push({ row: record.line, problem: 'duplicate', params: { serial: found.serial, first } });
        continue;
      }
      seen.set(key, record.line);
      rows.push(found);
    } else errors.push(...found);
  }
  if (!rows.length && !errors.length) errors.push({ row: 2, problem: 'empty' });
  return { rows, errors };
}

/** One record of the file: the line it starts on, its fields (each cut at MAX_FIELD), and what the reader noticed. */
interface CsvRecord {
  line: number;
  fields: string[];
  /** Columns (0-based) whose text was longer than MAX_FIELD. */
  long: number[];
  /** A quoted field was never closed, or text followed its closing quote. */
  badQuote: boolean;
}

/**
 * readRecords splits CSV text (RFC 4180: commas, double quotes doubled inside
 * quoted fields, CRLF, LF or CR line ends) into at most `max` records,
 * skipping blank lines; `more` is the line of the first record left unread,
 * or null when there was none.
 */
function readRecords(text: string, max: number): { records: CsvRecord[]; more: number | null } {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  /** endOfLine steps over one line end at i, if there is one. */
  const endOfLine = (): boolean => {
    if (text[i] === '\r') {
      i += text[i + 1] === '\n' ? 2 : 1;
    } else if (text[i] === '\n') {
      i += 1;
    } else return false;
    line += 1;
    return true;
  };
  while (i < n) {
    if (endOfLine()) continue; // a blank line
    if (records.length === max) return { records, more: line };
    const record: CsvRecord = { line, fields: [], long: [], badQuote: false };
    for (;;) {
      let value = '';
      let over = false;
      const keep = (c: string) => {
        if (over) return;
        if (value.length >= MAX_FIELD) over = true;
        else value += c;
      };
      if (text[i] === '"') {
        i += 1;
        let closed = false;
        while (i < n) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              keep('"');
              i += 2;
              continue;
            }
            i += 1;
            closed = true;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line += 1;
          keep(c);
          i += 1;
        }
        if (!closed) record.badQuote = true;
        // Only a separator or the line's end may follow a closing quote; anything else spoils the row.
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] !== ' ' && text[i] !== '\t') record.badQuote = true;
          i += 1;
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          keep(text[i]!);
          i += 1;
        }
      }
      if (over) record.long.push(record.fields.length);
      record.fields.push(value);
      if (text[i] === ',') {
        i += 1;
        continue;
      }
      endOfLine();
      break;
    }
    records.push(record);
  }
  return { records, more: null };
}

/** isHeader tells whether a record is the expected header. */
function isHeader(record: CsvRecord): boolean {
  return (
    !record.badQuote &&
    record.long.length === 0 &&
    record.fields.length === CSV_COLUMNS.length &&
    record.fields.every((f, i) => f.trim().toLowerCase() === CSV_COLUMNS[i])
  );
}

/** checkRecord turns a record into a token row, or lists everything wrong with it. */
function checkRecord(record: CsvRecord): TokenRow | RowError[] {
  const row = record.line;
  if (record.badQuote) return [{ row, problem: 'quote' }];
  if (record.fields.length !== CSV_COLUMNS.length) return [{ row, problem: 'columns', params: { count: record.fields.length, expected: CSV_COLUMNS.length } }];
  const errors: RowError[] = [];
  for (const col of record.long) errors.push({ row, problem: 'too_long', params: { field: CSV_COLUMNS[col]!, max: MAX_FIELD } });
  record.fields.forEach((f, col) => {
    if (!record.long.includes(col) && hasControl(f)) errors.push({ row, problem: 'control', params: { field: CSV_COLUMNS[col]! } });
  });
  if (errors.length) return errors;

  const [upnText, serialText, secretText, periodText, manufacturer, model] = record.fields.map((f) => f.trim()) as [string, string, string, string, string, string];
  const upn = upnText.toLowerCase();
  if (upn && !looksLikeAddress(upn)) errors.push({ row, problem: 'upn', params: { upn: upnText } });
  if (!serialText) errors.push({ row, problem: 'serial_missing' });
  else if (!isSerial(serialText)) errors.push({ row, problem: 'serial', params: { max: MAX_SERIAL } });
  const secret = canonicalBase32(secretText);
  if (secret === null) errors.push({ row, problem: 'secret' });
  else if (secret.length < MIN_SECRET_CHARS) errors.push({ row, problem: 'secret_short', params: { min: MIN_SECRET_CHARS } });
  const period = TOKEN_PERIODS.find((p) => String(p) === periodText);
  if (period === undefined) errors.push({ row, problem: 'period' });
  if (errors.length) return errors;
  return { row, upn, serial: serialText, secret: secret!, period: period!, manufacturer, model };
}

/** hasControl tells whether text holds a control character (line breaks and tabs included): none belongs in these fields. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** looksLikeAddress: one '@' with text either side, no spaces, short enough for an address. Whether it is an account is the import's check. */
function looksLikeAddress(text: string): boolean {
  const at = text.indexOf('@');
  return text.length <= 254 && at > 0 && at === text.lastIndexOf('@') && at < text.length - 1 && !text.includes(' ');
}

/** isSerial: letters, digits, '-', '_' and '.', at most MAX_SERIAL. */
export function isSerial(text: string): boolean {
  if (text.length === 0 || text.length > MAX_SERIAL) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '-' || c === '_' || c === '.';
    if (!ok) return false;
  }
  return true;
}

/**
 * canonicalBase32 returns a key as upper-case base32 without spaces or
 * trailing '=' padding, or null when anything else is in it.
 */
export function canonicalBase32(text: string): string | null {
  let out = '';
  let padding = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x20) continue;
    if (code === 0x3d) {
      padding = true;
      continue;
    }
    // a–z read as A–Z; nothing else is folded.
    const upper = code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
    const letter = upper >= 0x41 && upper <= 0x5a;
    const digit = upper >= 0x32 && upper <= 0x37;
    // Padding only at the end: a key with '=' inside is damaged.
    if (padding || !(letter || digit)) return null;
    out += String.fromCharCode(upper);
  }
  return out.length ? out : null;
}
