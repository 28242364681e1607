import type { Folder } from '../folders.ts';
import type { ListPage } from './summary.ts';
import { isSearching, queryString, type Search } from './search.ts';

/**
 * listLocals are what views/mail/list.ejs needs besides the mailbox chrome:
 * the page of messages, the search it answers, and with the reading pane
 * the message opened beside it.
 */
export function listLocals(folders: Folder[], list: ListPage, search: Search, opened?: { message: unknown; images: boolean }) {
  // Sent lists whom each message went to; every other folder, who it came from.
  const sentView = folders.some((f) => f.path === list.folder && f.specialUse === '\\Sent');
  return { folder: list.folder, list, search, searching: isSearching(search), queryString, sentView, opened: opened ?? null, ...(opened ?? {}) };
}
