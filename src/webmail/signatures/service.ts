import type { User } from '../../users/repo.ts';
import { allows } from '../../sharing/policy.ts';
import type { Level } from '../../sharing/policy.ts';
import type { MailboxAccess, Sharing } from '../../sharing/service.ts';
import type { Signature } from '../compose.ts';
import { htmlToPlain, sanitizeComposed, textToHtml } from '../compose/html.ts';
import type { SignatureRepo } from './repo.ts';

/** SIGNATURE_MAX_BYTES bounds a signature as typed (UTF-8 bytes). */
export const SIGNATURE_MAX_BYTES = 10 * 1024;

export type SignatureFormat = 'text' | 'html';

/** SignatureError is a refusal the settings page explains; `key` is its catalog message. */
export class SignatureError extends Error {
  constructor(
    readonly key: 'signature.forbidden' | 'signature.too_long',
    readonly status: number,
  ) {
    super(key);
  }
}

/** MailboxSignature is one form of the settings page: a mailbox the user sends from and its signature as typed. */
export interface MailboxSignature {
  mailbox: string;
  ownerName: string;
  level: Level;
  format: SignatureFormat;
  source: string;
  /** The stored markup (sanitized), for the page's preview. */
  html: string;
}

/**
 * Signatures are per user and per mailbox they send from: their own, and
 * each shared mailbox they may send from (on behalf or as the owner). The
 * markup is sanitized with the allow-list of composed mail and the text
 * derived from it, so both forms say the same.
 */
export class Signatures {
  constructor(
    private readonly repo: SignatureRepo,
    private readonly sharing: Sharing,
  ) {}

  /** forCompose is the signature the actor set for the mailbox they are writing from, if any. */
  async forCompose(access: MailboxAccess): Promise<Signature | undefined> {
    if (!allows(access.level, 'send')) return undefined;
    const row = await this.repo.load(access.actor.id, access.owner.email);
    return row ? { text: row.text, html: row.html } : undefined;
  }

  /** mailboxes lists the mailboxes `user` sends from, own first, each with its signature as typed. */
  async mailboxes(user: User): Promise<MailboxSignature[]> {
    const [rows, shared] = await Promise.all([this.repo.list(user.id), this.sharing.sharedWith(user)]);
    const byMailbox = new Map(rows.map((r) => [r.mailbox, r]));
    const boxes: Array<{ mailbox: string; ownerName: string; level: Level }> = [
      { mailbox: user.email, ownerName: user.displayName, level: 'owner' },
      ...shared.filter((g) => allows(g.permission, 'send')).map((g) => ({ mailbox: g.email, ownerName: g.displayName, level: g.permission })),
    ];
    return boxes.map((b) => {
      const row = byMailbox.get(b.mailbox.toLowerCase());
      const format: SignatureFormat = !row || row.html === textToHtml(row.text) ? 'text' : 'html';
      return { ...b, format, source: row ? (format === 'text' ? row.text : row.html) : '', html: row?.html ?? '' };
    });
  }

  /**
   * save sets (or, when empty, removes) `user`'s signature for a mailbox,
   * which must be their own or one shared with them at a sending level,
   * as the grant stands right now.
   */
  async save(user: User, mailbox: string, format: SignatureFormat, source: string): Promise<'saved' | 'removed'> {
    const own = mailbox.toLowerCase() === user.email.toLowerCase();
    const access = await this.sharing.access(user, own ? undefined : mailbox);
    if (!access || !allows(access.level, 'send')) throw new SignatureError('signature.forbidden', 403);
    if (Buffer.byteLength(source, 'utf8') > SIGNATURE_MAX_BYTES) throw new SignatureError('signature.too_long', 400);
    const typed = source.replace(/\r\n/g, '\n').trim();
    const html = format === 'html' ? sanitizeComposed(typed) : textToHtml(typed);
    const text = format === 'html' ? htmlToPlain(html) : typed;
    if (!text && !html) {
      await this.repo.delete(user.id, access.owner.email);
      return 'removed';
    }
    await this.repo.save(user.id, access.owner.email, html, text);
    return 'saved';
  }
}
