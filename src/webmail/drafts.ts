/**
 * A draft this compose saved (by hand, by autosave or after a failed send)
 * or opened from Drafts is the one message it may remove again (replaced
 * by a newer copy, or dropped once the message went out). The form only
 * echoes a UID, which anyone can change, so the drafts a browser session
 * kept or opened are remembered on the server, per mailbox, with the
 * folder's UIDVALIDITY; a UID that is not on this list is ignored and
 * nothing is removed.
 */

/** KeptDraft is where a kept draft lives: its folder, its UID, and the folder's UIDVALIDITY (UIDs are only unique under it). */
export interface KeptDraft {
  folder: string;
  uid: number;
  uidValidity: string;
}

/** DraftLedger is the part of a session that lists kept drafts, by mailbox owner address. */
export interface DraftLedger {
  keptDrafts?: Record<string, KeptDraft[]>;
}

declare module 'express-session' {
  // The session is where a browser's ledger lives.
  interface SessionData extends DraftLedger {}
}

// A person keeps a few drafts at a time; the oldest are forgotten (and simply stay in Drafts).
const PER_MAILBOX = 20;

const key = (owner: string) => owner.toLowerCase();

/** keptDraft returns the draft this session kept in the owner's mailbox under `uid`, if it did. */
export function keptDraft(ledger: DraftLedger, owner: string, uid: number | undefined): KeptDraft | undefined {
  if (!uid) return undefined;
  return ledger.keptDrafts?.[key(owner)]?.find((d) => d.uid === uid);
}

/** rememberDraft records a draft this session just kept or opened (once: opening it again moves it to the end). */
export function rememberDraft(ledger: DraftLedger, owner: string, draft: KeptDraft): void {
  const all = (ledger.keptDrafts ??= {});
  const others = (all[key(owner)] ?? []).filter((d) => !(d.uid === draft.uid && d.folder === draft.folder));
  all[key(owner)] = [...others, draft].slice(-PER_MAILBOX);
}

/** forgetDraft drops a draft from the list once it is gone from the mailbox. */
export function forgetDraft(ledger: DraftLedger, owner: string, draft: KeptDraft): void {
  const list = ledger.keptDrafts?.[key(owner)];
  if (!list) return;
  const rest = list.filter((d) => !(d.uid === draft.uid && d.folder === draft.folder));
  if (rest.length) ledger.keptDrafts![key(owner)] = rest;
  else delete ledger.keptDrafts![key(owner)];
}
