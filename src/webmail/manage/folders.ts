import type { ImapFlow, ListResponse } from 'imapflow';
import { useOf, type Folder } from '../folders.ts';
import { MailboxError, noSuchFolder } from '../errors.ts';

/**
 * Folder management on the owner's own mailbox: create, rename, delete and
 * empty. Every change reads the server's LIST first and refuses what would
 * break the mailbox (its special folders) or surprise the user (a name
 * already taken, a folder with subfolders); the name arrives already checked
 * by schema.ts, but the hierarchy delimiter is the server's and is checked here.
 */

/** refused is a folder change the user is told about; nothing was changed on the server. */
const refused = (key: string, detail?: string) => new MailboxError('bad_request', `mail.folders.${key}`, detail);

/** isProtected tells whether a folder must stay as it is: INBOX and every folder with a special use. */
export function isProtected(f: Pick<Folder, 'specialUse'>): boolean {
  return !!f.specialUse;
}

/** canEmpty tells whether a folder is one whose mail may be thrown away at once: Trash and Junk. */
export function canEmpty(f: Pick<Folder, 'specialUse'>): boolean {
  return f.specialUse === '\\Trash' || f.specialUse === '\\Junk';
}

/** createFolder makes a folder at the top level or inside `parent`, and returns its path. */
export async function createFolder(c: ImapFlow, name: string, parent?: string): Promise<string> {
  const boxes = await c.list();
  let path: string;
  if (parent) {
    const under = find(boxes, parent);
    if (under.flags.has('\\Noinferiors')) throw refused('no_children_here');
    checkName(name, under.delimiter);
    path = `${under.path}${under.delimiter}${name}`;
  } else {
    checkName(name, delimiterOf(c, boxes));
    path = `${c.namespace?.prefix ?? ''}${name}`;
  }
  if (taken(boxes, path)) throw refused('exists');
  const made = await attempt(() => c.mailboxCreate(path));
  if (!made.created) throw refused('exists');
  return made.path;
}

/** renameFolder gives a folder a new name in the same place (its subfolders go along) and returns the new path. */
export async function renameFolder(c: ImapFlow, from: string, name: string): Promise<string> {
  const boxes = await c.list();
  const box = find(boxes, from);
  if (isProtected({ specialUse: useOf(box) })) throw refused('special');
  checkName(name, box.delimiter);
  const path = box.parentPath ? `${box.parentPath}${box.delimiter}${name}` : `${c.namespace?.prefix ?? ''}${name}`;
  if (path === box.path) return path;
  if (taken(boxes, path)) throw refused('exists');
  await leave(c, box.path);
  const renamed = await attempt(() => c.mailboxRename(box.path, path));
  return renamed.newPath ?? path;
}

/** deleteFolder removes a folder and its mail; special folders and folders with subfolders are refused. */
export async function deleteFolder(c: ImapFlow, path: string): Promise<void> {
  const boxes = await c.list();
  const box = find(boxes, path);
  if (isProtected({ specialUse: useOf(box) })) throw refused('special');
  if (boxes.some((b) => b.path !== box.path && b.path.startsWith(`${box.path}${box.delimiter}`))) throw refused('has_children');
  await leave(c, box.path);
  await attempt(() => c.mailboxDelete(box.path));
}

/** emptyFolder expunges every message of Trash or Junk and returns how many there were. */
export async function emptyFolder(c: ImapFlow, path: string): Promise<number> {
  const box = find(await c.list(), path);
  if (!canEmpty({ specialUse: useOf(box) })) throw refused('not_emptiable');
  // Read the count now: imapflow updates the open mailbox as the server reports each expunge.
  const count = (await attempt(() => c.mailboxOpen(box.path, { readOnly: false }))).exists;
  if (!count) return 0;
  await attempt(() => c.messageDelete('1:*'));
  return count;
}

function find(boxes: ListResponse[], path: string): ListResponse {
  const box = boxes.find((b) => b.path === path && !b.flags.has('\\NonExistent'));
  if (!box) throw noSuchFolder();
  return box;
}

/** taken: IMAP names are case-sensitive, except INBOX, which is INBOX in any case. */
function taken(boxes: ListResponse[], path: string): boolean {
  const inbox = path.toUpperCase() === 'INBOX';
  return boxes.some((b) => b.path === path || (inbox && b.path.toUpperCase() === 'INBOX'));
}

function delimiterOf(c: ImapFlow, boxes: ListResponse[]): string {
  return c.namespace?.delimiter || boxes.find((b) => b.delimiter)?.delimiter || '/';
}

/** checkName refuses a name holding the server's hierarchy delimiter: a subfolder is made by choosing its parent. */
function checkName(name: string, delimiter: string | undefined): void {
  if (delimiter && name.includes(delimiter)) throw refused('delimiter', delimiter);
}

/** leave closes the folder this pooled session has selected when it is the one about to be renamed or deleted. */
async function leave(c: ImapFlow, path: string): Promise<void> {
  if (c.mailbox && c.mailbox.path === path) await c.mailboxClose();
}

/** attempt runs one IMAP command; the server's NO (a name it will not take, a quota) becomes a refusal the user reads. */
async function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as { responseStatus?: string; responseText?: string; serverResponseCode?: string };
    if (e?.serverResponseCode === 'ALREADYEXISTS') throw refused('exists', e.responseText);
    if (e?.serverResponseCode === 'NONEXISTENT') throw noSuchFolder(e.responseText);
    if (e?.responseStatus === 'NO') throw refused('server_refused', e.responseText);
    throw err;
  }
}
