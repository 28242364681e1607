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
import { addressesOf, buildMessage, headersFor, parseRecipients, type Draft, type OutgoingAttachment } from './compose.ts';
import { SendError, type Relay } from './smtp.ts';
import { folderRefusal, imapFailure, noSuchFolder, noSuchMessage, notAllowed, MailboxError } from './errors.ts';
import type { KeptDraft } from './drafts.ts';

export const PAGE_SIZE = 50;

/** Summary is one row of the message list. */
export interface Summary {
  uid: number;
  from: string;
  fromAddress: string;
  /** The recipients (To) by name, or address when unnamed: what Sent shows instead of the sender. */
  to: string;
  toAddress: string;
  subject: string;
  date: Date | undefined;
  unread: boolean;
  attachment: boolean;
}

export interface ListPage {
  folder: string;
  total: number;
  page: number;
  pages: number;
  messages: Summary[];
}

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
  attachments: AttachmentInfo[];
}

/**
 * SendOutcome tells the page what became of a message: sent (and whether
 * its copy was kept), or kept as a draft. `dropped` is the earlier kept
 * draft this send removed, `draft` the one it kept instead.
 */
export type SendOutcome =
  | { ok: true; savedToSent: boolean; dropped?: KeptDraft }
  | { ok: false; reason: 'recipients' | 'relay'; draft?: KeptDraft; dropped?: KeptDraft; kept: AttachmentInfo[] };

/** DownloadedFile is one attachment of a stored message, for download. */
export interface DownloadedFile {
  filename: string;
  contentType: string;
  content: Buffer;
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

  /** list pages through a folder newest first; `query` searches sender and subject. */
  async list(access: MailboxAccess, folder: string, page: number, query: string): Promise<ListPage> {
    this.check(access, 'view');
    return this.use(access, async (c) => {
      const box = await this.open(c, access, folder);
      const fields = { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true } as const;
      let rows: FetchMessageObject[] = [];
      let total: number;
      if (!query) {
        total = box.exists;
        const end = total - (page - 1) * PAGE_SIZE;
        if (end >= 1) rows = await c.fetchAll(`${Math.max(1, end - PAGE_SIZE + 1)}:${end}`, fields);
        rows.sort((a, b) => b.seq - a.seq);
      } else {
        const found = (await c.search({ or: [{ from: query }, { subject: query }] }, { uid: true })) || [];
        const uids = [...found].sort((a, b) => b - a);
        total = uids.length;
        const slice = uids.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
        if (slice.length) rows = await c.fetchAll(slice.join(','), fields, { uid: true });
        rows.sort((a, b) => b.uid - a.uid);
      }
      return { folder: box.path, total, page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), messages: rows.map(summary) };
    });
  }

  /**
   * read opens a message with BODY.PEEK and sets \Seen only for those who may
   * change unread status; a delegate's view is audited for the owner.
   */
  async read(access: MailboxAccess, folder: string, uid: number, remoteImages: boolean, origin: Origin): Promise<OpenedMessage> {
    this.check(access, 'view');
    const { msg, parsed } = await this.use(access, async (c) => {
      await this.open(c, access, folder);
      const msg = await c.fetchOne(String(uid), { uid: true, flags: true, source: true }, { uid: true });
      if (!msg || !msg.source) throw noSuchMessage();
      if (marksRead(access.level) && !msg.flags?.has('\\Seen')) await c.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
      return { msg, parsed: await simpleParser(msg.source) };
    });
    await this.sharing.recordDelegated(access, 'delegate.viewed', origin, { folder, uid, messageId: parsed.messageId, subject: parsed.subject ?? '' });
    const safe = parsed.html ? sanitizeMail(parsed.html, remoteImages) : null;
    return {
      uid,
      folder,
      subject: parsed.subject ?? '',
      from: shown(parsed.from),
      to: shown(parsed.to),
      cc: shown(parsed.cc),
      sender: shown(parsed.headers.get('sender') as ParsedMail['from']),
      date: parsed.date,
      unread: !msg.flags?.has('\\Seen'),
      text: parsed.text ?? '',
      html: safe?.html ?? null,
      blockedImages: safe?.blockedImages ?? 0,
      attachments: attachmentsOf(parsed),
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

  /** attachment fetches one file of a message for download. */
  async attachment(access: MailboxAccess, folder: string, uid: number, index: number): Promise<DownloadedFile> {
    const parsed = await this.original(access, folder, uid);
    const a = parsed.attachments[index];
    if (!a) throw new MailboxError('not_found', 'mail.no_such_attachment');
    return { filename: a.filename || `attachment-${index + 1}`, contentType: a.contentType || 'application/octet-stream', content: a.content };
  }

  /** setSeen marks a message read or unread. */
  async setSeen(access: MailboxAccess, folder: string, uid: number, seen: boolean, origin: Origin): Promise<void> {
    this.check(access, 'flag');
    await this.use(access, async (c) => {
      await this.open(c, access, folder);
      const ok = seen ? await c.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true }) : await c.messageFlagsRemove(String(uid), ['\\Seen'], { uid: true });
      if (!ok) throw noSuchMessage();
    });
    await this.sharing.recordDelegated(access, 'delegate.flagged', origin, { folder, uid, seen });
  }

  /** remove moves a message to Trash, or deletes it for good when it is already there. */
  async remove(access: MailboxAccess, folder: string, uid: number, origin: Origin): Promise<'trash' | 'deleted'> {
    this.check(access, 'delete');
    const outcome = await this.use(access, async (c) => {
      await this.open(c, access, folder);
      if (!(await c.fetchOne(String(uid), { uid: true }, { uid: true }))) throw noSuchMessage();
      if (await isSpecial(c, folder, '\\Trash')) {
        await c.messageDelete(String(uid), { uid: true });
        return 'deleted' as const;
      }
      const trash = await specialFolder(c, '\\Trash');
      await c.messageMove(String(uid), trash, { uid: true });
      return 'trash' as const;
    });
    await this.sharing.recordDelegated(access, 'delegate.deleted', origin, { folder, uid, permanently: outcome === 'deleted' });
    return outcome;
  }

  /** move puts a message in another folder of the same mailbox. */
  async move(access: MailboxAccess, folder: string, uid: number, to: string, origin: Origin): Promise<void> {
    this.check(access, 'move');
    await this.use(access, async (c) => {
      const boxes = await c.list();
      if (!boxes.some((b) => b.path === to && !b.flags.has('\\Noselect'))) throw noSuchFolder();
      await this.open(c, access, folder);
      if (!(await c.fetchOne(String(uid), { uid: true }, { uid: true }))) throw noSuchMessage();
      await c.messageMove(String(uid), to, { uid: true });
    });
    await this.sharing.recordDelegated(access, 'delegate.moved', origin, { folder, uid, to });
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
      return { ok: false, reason: 'recipients', ...kept };
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
   * keepDraft stores the unsent message in Drafts, replacing the copy this
   * compose kept before; if the backend is down too, the files must be
   * chosen again.
   */
  private async keepDraft(
    access: MailboxAccess,
    draft: Draft,
    author: ReturnType<typeof headersFor>,
    attachments: OutgoingAttachment[],
    previous: KeptDraft | undefined,
  ): Promise<{ draft?: KeptDraft; dropped?: KeptDraft; kept: AttachmentInfo[] }> {
    if (!attachments.length && !previous) return { kept: [] };
    try {
      const built = await buildMessage(draft, author, { to: parseRecipients(draft.to) ?? [], cc: parseRecipients(draft.cc) ?? [], bcc: parseRecipients(draft.bcc) ?? [] }, attachments);
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
    } catch (err) {
      this.log.warn('could not keep the draft in Drafts', { mailbox: access.owner.email, error: (err as Error)?.message });
      return { kept: [] };
    }
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

function summary(m: FetchMessageObject): Summary {
  const from = m.envelope?.from?.[0];
  // The envelope is fetched with the list anyway: the recipients cost no further round trip.
  const to = m.envelope?.to ?? [];
  return {
    uid: m.uid,
    from: from?.name || from?.address || '',
    fromAddress: from?.address ?? '',
    to: to.map((a) => a.name || a.address || '').filter(Boolean).join(', '),
    toAddress: to.map((a) => a.address ?? '').filter(Boolean).join(', '),
    subject: m.envelope?.subject ?? '',
    date: m.envelope?.date ? new Date(m.envelope.date) : m.internalDate ? new Date(m.internalDate) : undefined,
    unread: !m.flags?.has('\\Seen'),
    attachment: hasAttachment(m.bodyStructure),
  };
}

/** hasAttachment reads the attachment mark from BODYSTRUCTURE, without fetching the body. */
function hasAttachment(node: MessageStructureObject | undefined): boolean {
  if (!node) return false;
  if (node.disposition === 'attachment') return true;
  if (node.childNodes?.length) {
    // Parts of multipart/alternative and /related are views of the text, not files.
    if (/^multipart\/(alternative|related)$/i.test(node.type)) return node.childNodes.some((n) => n.disposition === 'attachment');
    return node.childNodes.some((n, i) => hasAttachment(n) || (i > 0 && !n.type.startsWith('text/') && !n.type.startsWith('multipart/')));
  }
  return false;
}

function attachmentsOf(parsed: ParsedMail): AttachmentInfo[] {
  return parsed.attachments
    .map((a, index) => ({ index, filename: a.filename || `attachment-${index + 1}`, contentType: a.contentType, size: a.size ?? a.content.length, related: a.related }))
    .filter((a) => !a.related)
    .map(({ related: _related, ...a }) => a);
}

/** shown writes addresses as people read them: Name <address>, without the quoting of the header. */
function shown(field: ParsedMail['to']): string {
  return addressesOf(field)
    .map((a) => (a.name ? `${a.name} <${a.address}>` : a.address))
    .join(', ');
}
