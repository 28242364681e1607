import { readCsv, type RowError } from '../csv.ts';
import { validEmail } from '../../users/service.ts';

/** One account of an import file. */
export interface ImportedUser {
  email: string;
  name: string;
  admin: boolean;
}

export const USER_CSV_COLUMNS = ['email', 'name', 'admin'] as const;
/** An import hashes a temporary password per account: a thousand take a few seconds on two cores. */
export const USER_CSV_MAX_ROWS = 1000;

const YES = new Set(['1', 'true', 'yes', 'y', 'admin']);
const NO = new Set(['', '0', 'false', 'no', 'n']);

/**
 * parseUserCsv reads an import file `email,name,admin` and checks every
 * row: a valid address, not twice in the file, a name of at most 100
 * characters, admin yes/no. Any error refuses the whole file, listed per line.
 */
export function parseUserCsv(text: string): { ok: true; users: ImportedUser[] } | { ok: false; errors: RowError[] } {
  const read = readCsv(text, USER_CSV_COLUMNS, USER_CSV_MAX_ROWS);
  if (!read.ok) return read;
  const errors: RowError[] = [];
  const seen = new Map<string, number>();
  const users: ImportedUser[] = [];
  read.rows.forEach(([email = '', name = '', admin = ''], i) => {
    const line = i + 2;
    const address = email.toLowerCase();
    if (!validEmail(address)) errors.push({ line, problem: 'csv.user.email', params: { value: email.slice(0, 80) } });
    else if (seen.has(address)) errors.push({ line, problem: 'csv.user.duplicate', params: { first: seen.get(address)! } });
    else seen.set(address, line);
    if (name.length > 100) errors.push({ line, problem: 'csv.user.name' });
    const flag = admin.toLowerCase();
    if (!YES.has(flag) && !NO.has(flag)) errors.push({ line, problem: 'csv.user.admin', params: { value: admin.slice(0, 20) } });
    users.push({ email: address, name, admin: YES.has(flag) });
  });
  return errors.length ? { ok: false, errors } : { ok: true, users };
}
