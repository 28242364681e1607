/** The export's columns, in order. */
export const CSV_COLUMNS = ['time', 'event', 'account', 'ip', 'user_agent', 'details'] as const;

/** First characters that make a spreadsheet read a cell as a formula. */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

/**
 * csvCell writes one value for a spreadsheet: a cell a spreadsheet would
 * take for a formula (=, +, -, @, tab, carriage return first) is prefixed
 * with a quote so it stays text (OWASP CSV injection), and a cell holding
 * a comma, quote or line break is quoted, its quotes doubled (RFC 4180).
 */
export function csvCell(value: string | null | undefined): string {
  let v = value ?? '';
  if (v && FORMULA_START.has(v[0]!)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** csvLine writes one record, CRLF-terminated as RFC 4180 asks. */
export function csvLine(cells: ReadonlyArray<string | null | undefined>): string {
  return cells.map(csvCell).join(',') + '\r\n';
}
