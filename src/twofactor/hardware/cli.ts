import { readFileSync, statSync } from 'node:fs';
import type { Services } from '../../services.ts';
import { translate } from '../../i18n/index.ts';
import { MAX_CSV_CHARS } from './csv.ts';

/** The command line's lines about hardware tokens, for its usage text. */
export const TOKENS_USAGE = `  tokens import <file.csv>
                          add hardware tokens from a CSV file (header
                          upn,serial number,secret key,time interval,manufacturer,model);
                          a file with any error imports nothing
  tokens list             list hardware tokens: serial, model, status, user`;

/** Where the command writes: standard output and standard error. */
interface Out {
  log(line: string): void;
  error(line: string): void;
}

const LIST_PAGE = 1000;

/**
 * tokensCommand runs `postern tokens import|list`. It returns the exit
 * status (1 when the file was refused, with each row's problem on stderr),
 * or undefined when the words are no tokens command.
 */
export async function tokensCommand(s: Services, verb: string | undefined, arg: string | undefined, out: Out = console): Promise<number | undefined> {
  if (verb === 'import' && arg) {
    let text: string;
    try {
      // Checked before reading: a huge file is refused without filling memory.
      if (statSync(arg).size > MAX_CSV_CHARS) {
        out.error(translate('en', 'admin.tokens.problem.too_large', { mb: MAX_CSV_CHARS / 1024 / 1024 }));
        return 1;
      }
      text = readFileSync(arg, 'utf8');
    } catch (err) {
      out.error(`Cannot read ${arg}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      return 1;
    }
    const result = await s.hardwareTokens.import(text, { account: 'cli' });
    if (!result.ok) {
      for (const e of result.errors) out.error(`${translate('en', 'admin.tokens.row', { row: e.row })} ${translate('en', `admin.tokens.problem.${e.problem}`, e.params)}`);
      out.error('Nothing was imported.');
      return 1;
    }
    out.log(`Imported ${result.count} tokens.`);
    return 0;
  }
  if (verb === 'list' && !arg) {
    let shown = 0;
    for (let page = 1; ; page++) {
      const { items, total } = await s.hardwareTokens.inventory({ page, pageSize: LIST_PAGE });
      for (const t of items) out.log([t.serial, t.model || '-', t.status, t.email ?? '-'].join('\t'));
      shown += items.length;
      if (!items.length || shown >= total) break;
    }
    if (!shown) out.log('No hardware tokens yet. Import some with: postern tokens import <file.csv>');
    return 0;
  }
  return undefined;
}
