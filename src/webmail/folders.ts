import type { ImapFlow, ListResponse } from 'imapflow';

/** Folder is one mailbox folder as the sidebar shows it. */
export interface Folder {
  path: string;
  name: string;
  /** Nesting depth, for indenting subfolders. */
  depth: number;
  specialUse?: string;
  messages: number;
  unseen: number;
}

/** The folders webmail creates when a mailbox lacks them, by special use. */
export const DEFAULT_NAMES: Record<Special, string> = { '\\Sent': 'Sent', '\\Trash': 'Trash', '\\Drafts': 'Drafts' };
export type Special = '\\Sent' | '\\Trash' | '\\Drafts';

const ORDER = ['\\Inbox', '\\Drafts', '\\Sent', '\\Archive', '\\Junk', '\\Trash'];

/** listFolders reads every selectable folder with its message and unread counts, special folders first. */
export async function listFolders(client: ImapFlow): Promise<Folder[]> {
  const boxes = await client.list({ statusQuery: { messages: true, unseen: true } });
  return boxes
    .filter((b) => !b.flags.has('\\Noselect') && !b.flags.has('\\NonExistent'))
    .map((b) => toFolder(b))
    .sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
}

function toFolder(b: ListResponse): Folder {
  const special = useOf(b);
  return { path: b.path, name: b.name, depth: b.parent.length, specialUse: special, messages: b.status?.messages ?? 0, unseen: b.status?.unseen ?? 0 };
}

// The RFC 6154 flags, read directly too: a server may set them without announcing SPECIAL-USE.
const SPECIAL_FLAGS = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

/** useOf tells a folder's special use: \Inbox for INBOX, else the server's flag or the well-known name imapflow recognised. */
export function useOf(b: ListResponse): string | undefined {
  if (b.path.toUpperCase() === 'INBOX') return '\\Inbox';
  return b.specialUse || SPECIAL_FLAGS.find((f) => b.flags.has(f));
}

/**
 * moveTargets lists where a message in `current` may be moved: every folder
 * but the current one and Drafts (a moved message is no draft), INBOX and
 * the user's own folders first, the other special folders after, Trash last.
 */
export function moveTargets(folders: Folder[], current: string): Folder[] {
  const place = (f: Folder) => (f.specialUse === '\\Inbox' ? 0 : !f.specialUse ? 1 : f.specialUse === '\\Trash' ? 3 : 2);
  // A stable sort keeps listFolders' order within each group.
  return folders.filter((f) => f.path !== current && f.specialUse !== '\\Drafts').sort((a, b) => place(a) - place(b));
}

function rank(f: Folder): number {
  const i = f.specialUse ? ORDER.indexOf(f.specialUse) : -1;
  return i < 0 ? ORDER.length : i;
}

/**
 * specialFolder finds the folder with a special use (by the server's
 * SPECIAL-USE flag or a well-known name), creating it when the mailbox has
 * none, so sent copies, deleted mail and kept drafts always have a home.
 */
export async function specialFolder(client: ImapFlow, use: Special): Promise<string> {
  const boxes = await client.list();
  const found = boxes.find((b) => b.specialUse === use);
  if (found) return found.path;
  const name = DEFAULT_NAMES[use];
  const same = boxes.find((b) => b.path.toLowerCase() === name.toLowerCase());
  if (same) return same.path;
  const created = await client.mailboxCreate(name);
  return created.path;
}

/** isSpecial tells whether a folder path is the mailbox's folder of that use (without creating one). */
export async function isSpecial(client: ImapFlow, path: string, use: Special): Promise<boolean> {
  const boxes = await client.list();
  const box = boxes.find((b) => b.path === path);
  return !!box && (box.specialUse === use || (!boxes.some((b) => b.specialUse === use) && box.path.toLowerCase() === DEFAULT_NAMES[use].toLowerCase()));
}
