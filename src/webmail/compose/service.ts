import type { Origin } from '../../audit/log.ts';
import type { Logger } from '../../log.ts';
import type { MailboxAccess } from '../../sharing/service.ts';
import { blankDraft, parseRecipients, prefill, type Draft, type OutgoingAttachment, type ReplyMode } from '../compose.ts';
import type { KeptDraft } from '../drafts.ts';
import type { AttachmentInfo, AttachmentSource, SavedDraft, SendOutcome, Webmail } from '../service.ts';
import type { Contacts } from '../contacts/service.ts';
import type { Signatures } from '../signatures/service.ts';
import { draftAttachments, draftFromMessage } from './drafts-folder.ts';

/** QuoteTexts are the lines a reply or forward writes above the original, in the writer's language. */
export type QuoteTexts = Parameters<typeof prefill>[3];

/** Started is a compose form ready to show: the draft, and the files of an earlier message it may carry. */
export interface Started {
  draft: Draft;
  kept: AttachmentInfo[];
  source?: { folder: string; uid: number };
}

/**
 * Composer is writing a message: starting it (signed, quoting what it
 * answers), saving it to Drafts and opening it again, and sending it,
 * after which the recipients join the writer's own address list.
 */
export class Composer {
  constructor(
    private readonly mail: Webmail,
    private readonly contacts: Contacts,
    private readonly signatures: Signatures,
    private readonly log: Logger,
  ) {}

  /** start begins a new message, or a reply or forward of `folder`/`uid`, with the writer's signature for this mailbox. */
  async start(access: MailboxAccess, what: { mode?: ReplyMode; folder?: string; uid?: number; to?: string }, texts: QuoteTexts): Promise<Started> {
    const signature = await this.signatures.forCompose(access);
    if (!what.mode || !what.folder || !what.uid) return { draft: blankDraft(what.to ?? '', signature), kept: [] };
    const original = await this.mail.original(access, what.folder, what.uid);
    const draft = prefill(what.mode, original, access.owner.email, texts, signature);
    const kept = what.mode === 'forward' ? draftAttachments(original) : [];
    return { draft, kept, source: kept.length ? { folder: what.folder, uid: what.uid } : undefined };
  }

  /** reopen opens a message of the Drafts folder in the compose form, with its files kept. */
  async reopen(access: MailboxAccess, uid: number): Promise<{ draft: Draft; at: KeptDraft; kept: AttachmentInfo[] }> {
    const opened = await this.mail.openDraft(access, uid);
    return { draft: draftFromMessage(opened.parsed), at: opened.at, kept: opened.attachments };
  }

  /** save files the message in Drafts in place of `previous` (see Webmail.saveDraft). */
  save(access: MailboxAccess, draft: Draft, uploads: OutgoingAttachment[], source: AttachmentSource | undefined, previous: KeptDraft | undefined): Promise<SavedDraft> {
    return this.mail.saveDraft(access, draft, uploads, source, previous);
  }

  /** send sends the message (see Webmail.send) and, once it went, remembers its recipients for the writer's suggestions. */
  async send(access: MailboxAccess, draft: Draft, uploads: OutgoingAttachment[], source: AttachmentSource | undefined, previous: KeptDraft | undefined, origin: Origin): Promise<SendOutcome> {
    const outcome = await this.mail.send(access, draft, uploads, source, previous, origin);
    if (outcome.ok) {
      const people = [...(parseRecipients(draft.to) ?? []), ...(parseRecipients(draft.cc) ?? []), ...(parseRecipients(draft.bcc) ?? [])];
      // The message went out; a missed entry in the address list is not worth an error page.
      await this.contacts.record(access.actor, people).catch((err) => this.log.warn('could not record the recipients for suggestions', { error: (err as Error)?.message }));
    }
    return outcome;
  }
}
