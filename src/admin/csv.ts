import { parse } from 'csv-parse/sync';

/** A problem with one line of an imported file (line 1 is the header). */
export interface RowError {
  line: number;
  problem: string;
  params?: Record<string, string | number>;
}

export type CsvRead = { ok: true; rows: string[][] } | { ok: false; errors: RowError[] };

/**
 * readCsv splits an administrator's CSV file into rows of trimmed fields,
 * checking the header against the columns expected (case and spacing
 * ignored) and the file's size: at most `maxRows` data rows, each field at
 * most 256 characters. Blank lines are skipped. Errors use catalog keys.
 */
export function readCsv(text: string, columns: readonly string[], maxRows: number): CsvRead {
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true, max_record_size: 64 * 1024, to: maxRows + 2 }) as string[][];
  } catch (err) {
    const line = (err as { lines?: number }).lines ?? 1;
    return { ok: false, errors: [{ line, problem: 'csv.malformed' }] };
  }
  const header = records[0]?.map((h) => h.toLowerCase().replace(/\s+/g, ' ').trim());
  if (!header || header.length < columns.length || columns.some((c, i) => header[i] !== c)) {
    return { ok: false, errors: [{ line: 1, problem: 'csv.header', params: { columns: columns.join(',') } }] };
  }
  const rows = records.slice(1);
  if (rows.length > maxRows) return { ok: false, errors: [{ line: maxRows + 2, problem: 'csv.too_many', params: { max: maxRows } }] };
  if (!rows.length) return { ok: false, errors: [{ line: 2, problem: 'csv.empty' }] };
  const errors: RowError[] = [];
  rows.forEach((r, i) => {
    if (r.some((f) => f.length > 256)) errors.push({ line: i + 2, problem: 'csv.field_too_long' });
  });
  return errors.length ? { ok: false, errors } : { ok: true, rows: rows.map((r) => columns.map((_, i) => r[i] ?? '')) };
}
