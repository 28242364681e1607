import type { ImapFlow } from 'imapflow';
import type { Action } from '../../sharing/policy.ts';
import { isSpecial, specialFolder } from '../folders.ts';
import { noSuchFolder } from '../errors.ts';
import { criteria, type Search } from './search.ts';
import { threadOf, threadsOf } from './threads.ts';

export const BULK_ACTIONS = ['read', 'unread', 'move', 'delete'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** NEEDS is the sharing action each bulk action stands for: a delegate's level is checked against it. */
export const NEEDS: Record<BulkAction, Action> = { read: 'flag', unread: 'flag', move: 'move', delete: 'delete' };

/** MAX_PICKED bounds the messages a form may name one by one: one page. */
export const MAX_PICKED = 50;

/**
 * Selection is what a bulk action applies to: messages named by UID (at
 * most one page), or everything the folder or search held when the page
 * was made (never a list the browser sends: the server searches again, and
 * `upto`, the highest UID the page knew, keeps newer mail out of it).
 */
export type Selection = { kind: 'picked'; uids: number[]; conversations?: boolean } | { kind: 'all'; search: Search; upto: number };

/** MAX_IN_CONVERSATIONS bounds what ticking whole conversations may reach. */
export const MAX_IN_CONVERSATIONS = 5000;

/** BulkResult says what became of how many messages; subjects only when few enough to fetch cheaply. */
export interface BulkResult {
  count: number;
  outcome: 'read' | 'unread' | 'moved' | 'trash' | 'deleted';
  uids: number[];
  subjects: string[];
}

// UIDs per command: a scattered set written out must stay well within the server's line length.
const CHUNK = 500;

/**
 * bulkAct applies one action to the selection in the open folder. Named
 * UIDs that are not in this folder are dropped by the server's own SEARCH
 * first, so a UID of another folder never reaches STORE or MOVE.
 */
export async function bulkAct(c: ImapFlow, folder: string, selection: Selection, action: BulkAction, to?: string): Promise<BulkResult> {
  let target: string | undefined;
  if (action === 'move') {
    const boxes = await c.list();
    if (!to || to === folder || !boxes.some((b) => b.path === to && !b.flags.has('\\Noselect'))) throw noSuchFolder();
    target = to;
  }
  const uids = await resolve(c, selection);
  const outcome: BulkResult['outcome'] = action === 'read' ? 'read' : action === 'unread' ? 'unread' : action === 'move' ? 'moved' : 'trash';
  if (!uids.length) return { count: 0, outcome, uids, subjects: [] };
  const subjects = uids.length <= MAX_PICKED ? await subjectsOf(c, uids) : [];
  let done: BulkResult['outcome'] = outcome;
  if (action === 'delete') {
    if (await isSpecial(c, folder, '\\Trash')) done = 'deleted';
    else target = await specialFolder(c, '\\Trash');
  }
  for (let i = 0; i < uids.length; i += CHUNK) {
    const range = packUids(uids.slice(i, i + CHUNK));
    if (action === 'read') await c.messageFlagsAdd(range, ['\\Seen'], { uid: true });
    else if (action === 'unread') await c.messageFlagsRemove(range, ['\\Seen'], { uid: true });
    else if (done === 'deleted') await c.messageDelete(range, { uid: true });
    else await c.messageMove(range, target!, { uid: true });
  }
  return { count: uids.length, outcome: done, uids, subjects };
}

/** resolve finds the UIDs a selection names that are in the open folder now, in ascending order. */
async function resolve(c: ImapFlow, selection: Selection): Promise<number[]> {
  if (selection.kind === 'picked') {
    if (!selection.uids.length) return [];
    // A ticked conversation (the list shows its newest message) stands for all its messages.
    const named = selection.conversations ? await wholeConversations(c, selection.uids) : selection.uids;
    const found = (await c.search({ uid: packUids(named) }, { uid: true })) || [];
    return [...found].sort((a, b) => a - b);
  }
  if (selection.upto < 1) return [];
  const found = (await c.search({ ...(criteria(selection.search) ?? {}), uid: `1:${selection.upto}` }, { uid: true })) || [];
  return [...found].sort((a, b) => a - b);
}

async function wholeConversations(c: ImapFlow, uids: number[]): Promise<number[]> {
  const all = await threadsOf(c);
  const out = new Set<number>();
  for (const uid of uids) for (const member of threadOf(all, uid)?.uids ?? [uid]) if (out.size < MAX_IN_CONVERSATIONS) out.add(member);
  return [...out];
}

async function subjectsOf(c: ImapFlow, uids: number[]): Promise<string[]> {
  const rows = await c.fetchAll(packUids(uids), { uid: true, envelope: true }, { uid: true });
  return rows.map((r) => r.envelope?.subject ?? '');
}

/** packUids writes UIDs as an IMAP sequence set, runs folded: 1,2,3,7 → 1:3,7. */
export function packUids(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++;
    parts.push(start === sorted[i] ? String(start) : `${start}:${sorted[i]}`);
  }
  return parts.join(',');
}
