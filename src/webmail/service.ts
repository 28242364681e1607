import type { Readable } from 'node:stream';
import type { ImapFlow, FetchMessageObject, MessageStructureObject } from 'imapflow';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Origin } from '../audit/log.ts';
import type { Logger } from '../log.ts';
import { allows, marksRead, type Action } from '../sharing/policy.ts';
import type { MailboxAccess, Sharing } from '../sharing/service.ts';
import type { ImapPool } from './imap.ts';
import { isSpecial, listFolders, specialFolder, type Folder } from './folders.ts';
import { createFolder, deleteFolder, emptyFolder, renameFolder } from './manage/folders.ts';
import { sanitizeMail } from './sanitize.ts';
import { fetchForReading, openPart, showFetched } from './read/reader.ts';
import type { PartInfo } from './read/structure.ts';
import { badRecipient, buildMessage, headersFor, looseRecipients, parseRecipients, type Draft, type OutgoingAttachment } from './compose.ts';
import { draftAttachments, findDrafts } from './compose/drafts-folder.ts';
import { SendError, type Relay } from './smtp.ts';
import { folderRefusal, imapFailure, noSuchFolder, noSuchMessage, notAllowed, MailboxError } from './errors.ts';
import type { KeptDraft } from './drafts.ts';
import type { ListPage, Summary } from './list/summary.ts';
import { conversationAround } from './list/threads.ts';
import { listPage } from './list/page.ts';
import { NO_SEARCH, type Search } from './list/search.ts';
import { bulkAct, MAX_PICKED, NEEDS, type BulkAction, type BulkResult, type Selection } from './list/bulk.ts';

export { PAGE_SIZE, type Summary, type ListPage } from './list/summary.ts';

/** AttachmentInfo describes a file in a message, by its index among the parsed attachments. */
export interface AttachmentInfo {
  index: number;
  filename: string;
  contentType: string;
  size: number;
}

/** OpenedMessage is a message ready to show: headers, a safe body and its files. */
export interface OpenedMessage {
  uid: number;
  folder: string;
  subject: string;
  from: string;
  to: string;
  cc: string;
  sender: string;
  date: Date | undefined;
  unread: boolean;
  text: string;
  html: string | null;
  blockedImages: number;
  /** The files, by IMAP part number. */
  attachments: PartInfo[];
}

/**
 * SendOutcome tells the page what became of a message: sent (and whether
 * its copy was kept), or kept as a draft. `dropped` is the earlier kept
 * draft this send removed, `draft` the one it kept instead.
 */
export type SendOutcome =
  | { ok: true; savedToSent: boolean; dropped?: KeptDraft }
  | { ok: false; reason: 'recipients' | 'relay'; bad?: string; draft?: KeptDraft; dropped?: KeptDraft; kept: AttachmentInfo[] };

/** SavedDraft is a draft just filed in Drafts: where it lives, the copy it replaced, and its attachments by index. */
export interface SavedDraft {
  draft?: KeptDraft;
  dropped?: KeptDraft;
  kept: AttachmentInfo[];
}

/** OpenedDraft is a message of the Drafts folder, opened to be written on. */
export interface OpenedDraft {
  parsed: ParsedMail;
  at: KeptDraft;
  attachments: AttachmentInfo[];
}

/** Source names a message whose attachments go out again (a forward, or a draft kept after a failed send). */
export interface AttachmentSource {
  folder: string;
  uid: number;
  keep: number[];
}

/**
 * Webmail is reading and sending over IMAP/SMTP with the mailbox owner's
 * identity, for the owner or a delegate. Every method checks the caller's
 * level again, so a route that forgot its guard still cannot act.
 */
export class Webmail {
  constructor(
    private readonly pool: ImapPool,
    private readonly relay: Relay,
    private readonly sharing: Sharing,
    private readonly log: Logger,
  ) {}

  async folders(access: MailboxAccess): Promise<Folder[]> {
    this.check(access, 'view');
    return this.use(access, (c) => listFolders(c));
  }

  /** list pages through a folder newest first, or through what a search found (see list/page.ts). */
  /** listWithFolders is list() and folders() on one IMAP session: what the list page shows. */
  async listWithFolders(access: MailboxAccess, folder: string, page: number, search: Search = NO_SEARCH, conversations = false): Promise<{ list: ListPage; folders: Folder[] }> {
    this.check(access, 'view');
    return this.use(access, async (c) => {
      const list = await listPage(c, await this.open(c, access, folder), page, search, conversations);
      return { list, folders: await listFolders(c) };
    });
  }

  async list(access: MailboxAccess, folder: string, page: number, search: Search = NO_SEARCH, conversations = false): Promise<ListPage> {
    this.check(access, 'view');
    return this.use(access, async (c) => listPage(c, await this.open(c, access, folder), page, search, conversations));
  }

  /**
   * bulk applies one action to many messages of a folder. The level must
   * allow that action itself (viewing is not enough), checked before IMAP is
   * touched; a delegate's action is audited once, with the messages' subjects
   * when they were few.
   */
  async bulk(access: MailboxAccess, folder: string, selection: Selection, action: BulkAction, to: string | undefined, origin: Origin): Promise<BulkResult> {
    this.check(access, NEEDS[action]);
    const done = await this.use(access, async (c) => {
      await this.open(c, access, folder);
      return bulkAct(c, folder, selection, action, to);
    });
    if (done.count) {
      const event = action === 'read' || action === 'unread' ? 'delegate.flagged' : action === 'move' ? 'delegate.moved' : 'delegate.deleted';
      const what = action === 'move' ? { to } : action === 'delete' ? { permanently: done.outcome === 'deleted' } : { seen: action === 'read' };
      const named = done.uids.length <= MAX_PICKED ? { uids: done.uids, subjects: done.subjects } : {};
      await this.sharing.recordDelegated(access, event, origin, { folder, count: done.count, bulk: true, ...what, ...named });
    }
    return done;
  }

  /**
   * read opens a message from its structure: the envelope, then only the
   * parts shown, with BODY.PEEK. Only the owner's opening sets \Seen; a
   * delegate's view is audited for the owner.
   */
  /** conversation lists the messages of the conversation a message belongs to (empty when it stands alone). */
  async conversation(access: MailboxAccess, folder: string, uid: number): Promise<Summary[]> {
    this.check(access, 'view');
    return this.use(access, async (c) => {
      await this.open(c, access, folder);
      return conversationAround(c, uid);
    });
  }

  async read(access: MailboxAccess, folder: string, uid: number, remoteImages: boolean, origin: Origin): Promise<OpenedMessage> {
    this.check(access, 'view');
    const fetched = await this.use(access, async (c) => {
      await this.open(c, access, folder);
      const f = await fetchForReading(c, uid);
      if (!f) throw noSuchMessage();
      if (marksRead(access.level) && !f.seen) await c.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
      return f;
    });
    const m = showFetched(fetched);
    await this.sharing.recordDelegated(access, 'delegate.viewed', origin, { folder, uid, messageId: m.messageId, subject: m.subject });
    const safe = m.html !== null ? sanitizeMail(m.html, remoteImages) : null;
    return {
      uid,
      folder,
      subject: m.subject,
      from: m.from,
      to: m.to,
      cc: m.cc,
      sender: m.sender,
      date: m.date,
      unread: !fetched.seen,
      text: m.text,
      html: safe?.html ?? null,
      blockedImages: safe?.blockedImages ?? 0,
      attachments: m.attachments,
    };
  }

  /** original parses a message for replying or forwarding, without marking it read. */
  async original(access: MailboxAccess, folder: string, uid: number): Promise<ParsedMail> {
    this.check(access, 'view');
    return this.use(access, async (c) => {
      await this.open(c, access, folder);
      const msg = await c.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      if (!msg || !msg.source) throw noSuchMessage();
      return simpleParser(msg.source);
    });
  }

  /**
   * attachment streams one part of a message, by IMAP part number, to
   * `deliver` as the server sends it: nothing is parsed and the file is
   * never held whole in memory. The IMAP session stays lent until `deliver`
   * is done with the stream. A delegate's download is audited first.
   */
  async attachment(access: MailboxAccess, folder: string, uid: number, part: string, origin: Origin, deliver: (file: PartInfo, content: Readable) => Promise<void>): Promise<void> {
    this.check(access, 'view');
    await this.use(access, async (c) => {
      await this.open(c, access, folder);
      const got = await openPart(c, uid, part);
      if (!got) throw new MailboxError('not_found', 'mail.no_such_attachment');
      try {
        await this.sharing.recordDelegated(access, 'delegate.viewed', origin, { folder, uid, subject: got.subject, attachment: got.file.filename });
      } catch (err) {
        got.content.destroy();
        throw err;
      }
      await deliver(got.file, got.content);
    });
  }

  /** setSeen marks a message read or unread. */
  async setSeen(access: MailboxAccess, folder: string, uid: number, seen: boolean, origin: Origin): Promise<void> {
    this.check(access, 'flag');
    const subject = await this.use(access, async (c) => {
      await this.open(c, access, folder);
      // Only a delegate's change is audited, and the owner reads it by subject: the owner's own click costs no fetch.
      const subject = access.level === 'owner' ? '' : await subjectOf(c, uid);
      const ok = seen ? await c.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true }) : await c.messageFlagsRemove(String(uid), ['\\Seen'], { uid: true });
      if (!ok) throw noSuchMessage();
      return subject;
    });
    await this.sharing.recordDelegated(access, 'delegate.flagged', origin, { folder, uid, subject, seen });
  }

  /** remove moves a message to Trash, or deletes it for good when it is already there. */
  async remove(access: MailboxAccess, folder: string, uid: number, origin: Origin): Promise<'trash' | 'deleted'> {
    this.check(access, 'delete');
    const { outcome, subject } = await this.use(access, async (c) => {
      await this.open(c, access, folder);
      const msg = await c.fetchOne(String(uid), { uid: true, envelope: true }, { uid: true });
      if (!msg) throw noSuchMessage();
      const subject = msg.envelope?.subject ?? '';
      if (await isSpecial(c, folder, '\\Trash')) {
        await c.messageDelete(String(uid), { uid: true });
        return { outcome: 'deleted' as const, subject };
      }
      const trash = await specialFolder(c, '\\Trash');
      await c.messageMove(String(uid), trash, { uid: true });
      return { outcome: 'trash' as const, subject };
    });
    await this.sharing.recordDelegated(access, 'delegate.deleted', origin, { folder, uid, subject, permanently: outcome === 'deleted' });
    return outcome;
  }

  /** move puts a message in another folder of the same mailbox. */
  async move(access: MailboxAccess, folder: string, uid: number, to: string, origin: Origin): Promise<void> {
    this.check(access, 'move');
    const subject = await this.use(access, async (c) => {
      const boxes = await c.list();
      if (!boxes.some((b) => b.path === to && !b.flags.has('\\Noselect'))) throw noSuchFolder();
      await this.open(c, access, folder);
      const msg = await c.fetchOne(String(uid), { uid: true, envelope: true }, { uid: true });
      if (!msg) throw noSuchMessage();
      await c.messageMove(String(uid), to, { uid: true });
      return msg.envelope?.subject ?? '';
    });
    await this.sharing.recordDelegated(access, 'delegate.moved', origin, { folder, uid, subject, to });
  }

  /**
   * send builds the message as the mailbox owner (with Sender: for "send on
   * behalf"), hands it to the relay and files a copy in the owner's Sent.
   * When the relay fails, the whole draft, attachments included, is kept in
   * Drafts so nothing is lost, and the caller shows the form again.
   *
   * `previous` is a draft this compose kept earlier, as the caller's own
   * server-side record names it (never a UID from the form): it is the only
   * message a send removes, once its replacement or the sent copy is filed.
   */
  async send(access: MailboxAccess, draft: Draft, uploads: OutgoingAttachment[], source: AttachmentSource | undefined, previous: KeptDraft | undefined, origin: Origin): Promise<SendOutcome> {
    this.check(access, 'send');
    const to = parseRecipients(draft.to);
    const cc = parseRecipients(draft.cc);
    const bcc = parseRecipients(draft.bcc);
    const carried = source ? await this.carried(access, source) : [];
    const attachments = [...carried, ...uploads];
    const author = headersFor(access.owner, access.actor, access.level);
    if (!to || !cc || !bcc || to.length + cc.length + bcc.length === 0) {
      const kept = await this.keepDraft(access, draft, author, attachments, previous);
      const bad = badRecipient(draft.to) ?? badRecipient(draft.cc) ?? badRecipient(draft.bcc);
      return { ok: false, reason: 'recipients', bad, ...kept };
    }
    const built = await buildMessage(draft, author, { to, cc, bcc }, attachments);
    try {
      await this.relay.send(built.envelope, built.wire);
    } catch (err) {
      if (!(err instanceof SendError)) throw err;
      this.log.warn('the SMTP relay did not take a message', { mailbox: access.owner.email, error: err.message });
      const kept = await this.keepDraft(access, draft, author, attachments, previous);
      return { ok: false, reason: 'relay', ...kept };
    }
    let savedToSent = false;
    let dropped: KeptDraft | undefined;
    try {
      await this.use(access, async (c) => {
        await c.append(await specialFolder(c, '\\Sent'), built.stored, ['\\Seen']);
        savedToSent = true;
        if (previous && (await this.dropDraft(c, previous))) dropped = previous;
      });
    } catch (err) {
      const what = savedToSent ? 'sent and filed, but could not remove the kept draft' : 'sent, but could not file the copy in Sent';
      this.log.warn(what, { mailbox: access.owner.email, error: (err as Error)?.message });
    }
    await this.sharing.recordDelegated(access, 'delegate.sent', origin, {
      messageId: built.messageId,
      subject: draft.subject,
      to: built.envelope.to,
      as: access.level === 'send_on_behalf' ? 'on_behalf' : 'as_owner',
      ...(dropped ? { keptDraftRemoved: dropped.uid } : {}),
    });
    return { ok: true, savedToSent, dropped };
  }

  /** createFolder makes a folder in the owner's own mailbox (inside `parent` when given); delegates are refused. */
  async createFolder(access: MailboxAccess, name: string, parent?: string): Promise<string> {
    this.ownerOnly(access);
    return this.use(access, (c) => createFolder(c, name, parent));
  }

  /** renameFolder renames one of the owner's own folders in place; special folders are refused. */
  async renameFolder(access: MailboxAccess, path: string, name: string): Promise<string> {
    this.ownerOnly(access);
    return this.use(access, (c) => renameFolder(c, path, name));
  }

  /** deleteFolder removes one of the owner's own folders with its mail; special folders are refused. */
  async deleteFolder(access: MailboxAccess, path: string): Promise<void> {
    this.ownerOnly(access);
    await this.use(access, (c) => deleteFolder(c, path));
  }

  /** emptyFolder expunges Trash or Junk for good and says how many messages went. */
  async emptyFolder(access: MailboxAccess, path: string): Promise<number> {
    this.ownerOnly(access);
    return this.use(access, (c) => emptyFolder(c, path));
  }

  /** appendNotice files a message in a mailbox's INBOX (notices to the owner). */
  async appendNotice(owner: string, raw: Buffer): Promise<void> {
    await this.pool.use(owner, (c) => c.append('INBOX', raw).then(() => undefined));
  }

  /** carried loads the attachments picked from an earlier message (a forward, or the kept draft). */
  private async carried(access: MailboxAccess, source: AttachmentSource): Promise<OutgoingAttachment[]> {
    if (!source.keep.length) return [];
    const parsed = await this.original(access, source.folder, source.uid);
    return source.keep
      .map((i) => parsed.attachments[i])
      .filter((a): a is NonNullable<typeof a> => !!a)
      .map((a, i) => ({ filename: a.filename || `attachment-${i + 1}`, contentType: a.contentType || 'application/octet-stream', content: a.content, size: a.content.length }));
  }

  /**
   * saveDraft files the message being written in Drafts (\Draft \Seen),
   * with its new files and the kept ones of `source`, then removes
   * `previous`, the copy this compose saved or opened before (named by the
   * caller's server-side record, never by the form). A failure throws: the
   * person asked to save and must hear that it did not happen.
   */
  async saveDraft(access: MailboxAccess, draft: Draft, uploads: OutgoingAttachment[], source: AttachmentSource | undefined, previous: KeptDraft | undefined): Promise<SavedDraft> {
    this.check(access, 'send');
    const carried = source ? await this.carried(access, source) : [];
    return this.storeDraft(access, draft, headersFor(access.owner, access.actor, access.level), [...carried, ...uploads], previous);
  }

  /** openDraft opens a message of the Drafts folder (and of no other) to write on; 404 when it is not there. */
  async openDraft(access: MailboxAccess, uid: number): Promise<OpenedDraft> {
    this.check(access, 'send');
    return this.use(access, async (c) => {
      const folder = await findDrafts(c);
      if (!folder) throw noSuchMessage();
      const box = await this.open(c, access, folder);
      const msg = await c.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      if (!msg || !msg.source) throw noSuchMessage();
      const parsed = await simpleParser(msg.source);
      return { parsed, at: { folder, uid, uidValidity: String(box.uidValidity) }, attachments: draftAttachments(parsed) };
    });
  }

  /**
   * keepDraft stores the unsent message in Drafts, replacing the copy this
   * compose kept before, so a failed send never loses what was written; if
   * the backend is down too, the files must be chosen again.
   */
  private async keepDraft(
    access: MailboxAccess,
    draft: Draft,
    author: ReturnType<typeof headersFor>,
    attachments: OutgoingAttachment[],
    previous: KeptDraft | undefined,
  ): Promise<SavedDraft> {
    try {
      return await this.storeDraft(access, draft, author, attachments, previous);
    } catch (err) {
      this.log.warn('could not keep the draft in Drafts', { mailbox: access.owner.email, error: (err as Error)?.message });
      return { kept: [] };
    }
  }

  /** storeDraft appends the draft to Drafts and drops `previous` once the new copy is filed. */
  private async storeDraft(
    access: MailboxAccess,
    draft: Draft,
    author: ReturnType<typeof headersFor>,
    attachments: OutgoingAttachment[],
    previous: KeptDraft | undefined,
  ): Promise<SavedDraft> {
    // Addresses still being typed are kept as written, so the draft opens again as it was left.
    const built = await buildMessage(draft, author, { to: looseRecipients(draft.to), cc: looseRecipients(draft.cc), bcc: looseRecipients(draft.bcc) }, attachments);
    const { kept, dropped } = await this.use(access, async (c) => {
      const folder = await specialFolder(c, '\\Drafts');
      const res = await c.append(folder, built.stored, ['\\Draft', '\\Seen']);
      const uid = res ? res.uid : undefined;
      const status = uid && !(res && res.uidValidity) ? await c.status(folder, { uidValidity: true }) : undefined;
      const uidValidity = (res && res.uidValidity) || (status && status.uidValidity);
      const kept = uid && uidValidity ? { folder, uid, uidValidity: String(uidValidity) } : undefined;
      const dropped = previous && (await this.dropDraft(c, previous)) ? previous : undefined;
      return { kept, dropped };
    });
    if (!kept) return { dropped, kept: [] };
    return { draft: kept, dropped, kept: attachments.map((a, index) => ({ index, filename: a.filename, contentType: a.contentType, size: a.size })) };
  }

  /** dropDraft removes a kept draft, unless its folder was recreated since (a new UIDVALIDITY: the UID may name another message). */
  private async dropDraft(c: ImapFlow, d: KeptDraft): Promise<boolean> {
    const box = await c.mailboxOpen(d.folder);
    if (String(box.uidValidity) !== d.uidValidity) return false;
    return c.messageDelete(String(d.uid), { uid: true });
  }

  /** draftsFolder names the folder kept drafts live in. */
  async draftsFolder(access: MailboxAccess): Promise<string> {
    return this.use(access, (c) => specialFolder(c, '\\Drafts'));
  }

  private check(access: MailboxAccess, action: Action): void {
    if (!allows(access.level, action)) throw notAllowed(action);
  }

  /** ownerOnly: the folders of a mailbox are its owner's to arrange, at every sharing level. */
  private ownerOnly(access: MailboxAccess): void {
    if (access.level !== 'owner') throw notAllowed('folders');
  }

  /** use lends an IMAP session on the mailbox, and says what a failure means for the reader (see imapFailure). */
  private async use<T>(access: MailboxAccess, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
    try {
      return await this.pool.use(access.owner.email, fn);
    } catch (err) {
      throw imapFailure(err);
    }
  }

  /**
   * open selects a folder: read-write for those who may change it, EXAMINE
   * (read-only) for read-only and send-on-behalf delegates, so the server
   * itself keeps their session from touching flags. A folder the server
   * says NO to is one that is not there (or cannot be opened): 404.
   */
  private async open(c: ImapFlow, access: MailboxAccess, folder: string) {
    const readOnly = !allows(access.level, 'flag');
    const current = c.mailbox;
    if (current && current.path === folder && !!current.readOnly === readOnly) {
      // A NOOP brings in mail that arrived since this session last looked.
      await c.noop();
      return c.mailbox || current;
    }
    try {
      return await c.mailboxOpen(folder, { readOnly });
    } catch (err) {
      throw folderRefusal(err);
    }
  }
}

/** subjectOf reads a message's subject from its envelope ('' when the message is not there). */
async function subjectOf(c: ImapFlow, uid: number): Promise<string> {
  const msg = await c.fetchOne(String(uid), { uid: true, envelope: true }, { uid: true });
  return (msg && msg.envelope?.subject) || '';
}
