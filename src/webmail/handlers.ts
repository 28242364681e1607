import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { originOf } from '../http/origin.ts';
import { flash } from '../http/context.ts';
import { badRequest } from '../http/errors.ts';
import { mailboxAccess as accessOf } from '../http/guards.ts';
import { uploadLimitParams } from '../http/uploads.ts';
import { allows } from '../sharing/policy.ts';
import type { MailboxAccess } from '../sharing/service.ts';
import { prefill, type Draft, type OutgoingAttachment } from './compose.ts';
import { forgetDraft, keptDraft, rememberDraft } from './drafts.ts';
import { moveTargets, type Folder } from './folders.ts';
import type { AttachmentInfo } from './service.ts';
import { attachmentParams, composeForm, composeQuery, folderParams, listQuery, messageParams, moveForm, seenForm } from './schema.ts';

const SAFE_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

/** folderUrl is a folder's page within a mailbox; folder names may hold / and non-ASCII. */
export function folderUrl(base: string, folder: string): string {
  return `${base}/folder/${encodeURIComponent(folder)}`;
}

/** baseUrl is where a mailbox's pages live: /mail for one's own, /mail/shared/<owner> for a shared one. */
export function baseUrl(access: MailboxAccess): string {
  return access.level === 'owner' ? '/mail' : `/mail/shared/${encodeURIComponent(access.owner.email)}`;
}

/** mailChrome makes what every mailbox page shows around its content: the mailbox switcher and the folders. */
export function mailChrome(s: Services) {
  const mail = s.mail.webmail;
  return async (req: Request, access: MailboxAccess) => {
    const [folders, shared] = await Promise.all([mail.folders(access), s.mail.sharing.sharedWith(req.user!)]);
    return {
      box: {
        base: baseUrl(access),
        owner: access.owner.email,
        ownerName: access.owner.displayName,
        level: access.level,
        own: access.level === 'owner',
        can: { flag: allows(access.level, 'flag'), delete: allows(access.level, 'delete'), move: allows(access.level, 'move'), send: allows(access.level, 'send') },
      },
      folders,
      shared,
      folderUrl,
      folderLabel: (f: Folder) => folderLabel(req, f),
      moveTargets,
      fmtDate,
      fmtSize,
      uploadLimits: uploadLimitParams,
    };
  };
}

/** webmailHandlers are the mailbox pages: folders, the list, a message, attachments, actions and compose. */
export function webmailHandlers(s: Services) {
  const mail = s.mail.webmail;
  const chrome = mailChrome(s);

  const renderCompose = async (
    req: Request,
    res: Response,
    access: MailboxAccess,
    draft: Draft,
    extra: { status?: number; error?: string | null; kept?: AttachmentInfo[]; srcFolder?: string; srcUid?: number; draftUid?: number; reattach?: boolean } = {},
  ) => {
    const page = await chrome(req, access);
    res.status(extra.status ?? 200).render('mail/compose', {
      ...page,
      folder: null,
      draft,
      error: extra.error ?? null,
      kept: extra.kept ?? [],
      srcFolder: extra.srcFolder ?? '',
      srcUid: extra.srcUid ?? '',
      draftUid: extra.draftUid ?? '',
      reattach: extra.reattach ?? false,
      fromLine: access.owner.displayName ? `${access.owner.displayName} <${access.owner.email}>` : access.owner.email,
      onBehalf: access.level === 'send_on_behalf' ? req.user!.email : null,
    });
  };

  return {
    async list(req: Request, res: Response) {
      const access = accessOf(res);
      const params = folderParams.safeParse(req.params);
      if (req.params.folder !== undefined && !params.success) throw badRequest();
      const folder = params.success ? params.data.folder : 'INBOX';
      const query = listQuery.safeParse(req.query);
      if (!query.success) throw badRequest('mail.bad_search');
      const list = await mail.list(access, folder, query.data.page, query.data.q);
      const page = await chrome(req, access);
      // Sent lists whom each message went to; every other folder, who it came from.
      const sentView = page.folders.some((f) => f.path === list.folder && f.specialUse === '\\Sent');
      res.render('mail/list', { ...page, folder: list.folder, list, q: query.data.q, sentView });
    },

    async read(req: Request, res: Response) {
      const access = accessOf(res);
      const params = messageParams.safeParse(req.params);
      if (!params.success) throw badRequest();
      const images = req.query.images === '1';
      const message = await mail.read(access, params.data.folder, params.data.uid, images, originOf(req));
      if (images) {
        // The reader asked for this message's remote images: let this one page load them.
        const csp = String(res.getHeader('Content-Security-Policy') ?? '');
        res.setHeader('Content-Security-Policy', csp.replace(/img-src [^;]*/, "img-src 'self' data: https: http:"));
      }
      const page = await chrome(req, access);
      res.render('mail/message', { ...page, folder: params.data.folder, message, images });
    },

    async attachment(req: Request, res: Response) {
      const access = accessOf(res);
      const params = attachmentParams.safeParse(req.params);
      if (!params.success) throw badRequest();
      const file = await mail.attachment(access, params.data.folder, params.data.uid, params.data.index);
      await s.mail.sharing.recordDelegated(access, 'delegate.viewed', originOf(req), { folder: params.data.folder, uid: params.data.uid, attachment: file.filename });
      // Always a download, never rendered in Postern's origin; nosniff comes with every response.
      res.attachment(file.filename.replace(/[\r\n"\\/]/g, '_'));
      res.type(SAFE_TYPE.test(file.contentType) ? file.contentType : 'application/octet-stream');
      res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
      res.setHeader('Cache-Control', 'private, no-store');
      res.send(file.content);
    },

    async seen(req: Request, res: Response) {
      const access = accessOf(res);
      const params = messageParams.safeParse(req.params);
      const form = seenForm.safeParse(req.body ?? {});
      if (!params.success || !form.success) throw badRequest();
      const seen = form.data.seen === '1';
      await mail.setSeen(access, params.data.folder, params.data.uid, seen, originOf(req));
      flash(req, 'ok', seen ? 'mail.marked_read' : 'mail.marked_unread');
      const folder = folderUrl(baseUrl(access), params.data.folder);
      res.redirect(303, seen ? `${folder}/${params.data.uid}` : folder);
    },

    async remove(req: Request, res: Response) {
      const access = accessOf(res);
      const params = messageParams.safeParse(req.params);
      if (!params.success) throw badRequest();
      const outcome = await mail.remove(access, params.data.folder, params.data.uid, originOf(req));
      flash(req, 'ok', outcome === 'trash' ? 'mail.moved_to_trash' : 'mail.deleted');
      res.redirect(303, folderUrl(baseUrl(access), params.data.folder));
    },

    async move(req: Request, res: Response) {
      const access = accessOf(res);
      const params = messageParams.safeParse(req.params);
      const form = moveForm.safeParse(req.body ?? {});
      if (!params.success || !form.success) throw badRequest();
      await mail.move(access, params.data.folder, params.data.uid, form.data.to, originOf(req));
      flash(req, 'ok', 'mail.moved', { folder: form.data.to });
      res.redirect(303, folderUrl(baseUrl(access), params.data.folder));
    },

    async showCompose(req: Request, res: Response) {
      const access = accessOf(res);
      const query = composeQuery.safeParse(req.query);
      if (!query.success) throw badRequest();
      const { mode, folder, uid } = query.data;
      if (!mode || !folder || !uid) return renderCompose(req, res, access, { to: query.data.to ?? '', cc: '', bcc: '', subject: '', body: '' });
      const original = await mail.original(access, folder, uid);
      const draft = prefill(mode, original, access.owner.email, {
        wrote: (date, who) => req.t('mail.quote.wrote', { date, who }),
        forwarded: req.t('mail.quote.forwarded'),
        from: req.t('mail.from'),
        date: req.t('mail.date'),
        subject: req.t('mail.subject'),
        to: req.t('mail.to'),
      });
      const kept =
        mode === 'forward'
          ? original.attachments.map((a, index) => ({ index, filename: a.filename || `attachment-${index + 1}`, contentType: a.contentType, size: a.size ?? a.content.length, related: a.related })).filter((a) => !a.related)
          : [];
      return renderCompose(req, res, access, draft, { kept, srcFolder: kept.length ? folder : undefined, srcUid: kept.length ? uid : undefined });
    },

    async send(req: Request, res: Response) {
      const access = accessOf(res);
      const form = composeForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const f = form.data;
      const draft: Draft = { to: f.to, cc: f.cc, bcc: f.bcc, subject: f.subject, body: f.body, inReplyTo: f.inReplyTo, references: f.references };
      const files = ((req.files as Express.Multer.File[] | undefined) ?? []).filter((file) => file.size > 0 || file.originalname);
      const uploads: OutgoingAttachment[] = files.map((file) => ({ filename: file.originalname || 'attachment', contentType: file.mimetype || 'application/octet-stream', content: { path: file.path }, size: file.size }));
      const source = f.srcFolder && f.srcUid ? { folder: f.srcFolder, uid: f.srcUid, keep: f.keep } : undefined;
      // Only a draft this session kept may be replaced or dropped; a UID typed into the form names nothing.
      const previous = keptDraft(req.session, access.owner.email, f.draftUid);
      const outcome = await mail.send(access, draft, uploads, source, previous, originOf(req));
      if (outcome.dropped) forgetDraft(req.session, access.owner.email, outcome.dropped);
      if (outcome.ok) {
        flash(req, outcome.savedToSent ? 'ok' : 'error', outcome.savedToSent ? 'mail.sent' : 'mail.sent_not_saved');
        return res.redirect(303, baseUrl(access));
      }
      const status = outcome.reason === 'relay' ? 502 : 400;
      const error = req.t(outcome.reason === 'relay' ? 'mail.send_failed' : 'mail.bad_recipients');
      if (outcome.draft) {
        rememberDraft(req.session, access.owner.email, outcome.draft);
        const kept = { srcFolder: outcome.draft.folder, srcUid: outcome.draft.uid, draftUid: outcome.draft.uid };
        return renderCompose(req, res, access, draft, { status, error, kept: outcome.kept, ...kept });
      }
      // Nothing could be kept server-side: keep what the form still holds, and say which files to choose again.
      return renderCompose(req, res, access, draft, { status, error, reattach: uploads.length > 0 || (source?.keep.length ?? 0) > 0 });
    },
  };
}

/** folderLabel names the well-known folders in the reader's language, and others as the server does. */
function folderLabel(req: Request, f: Folder): string {
  const keys: Record<string, string> = { '\\Inbox': 'mail.folder.inbox', '\\Sent': 'mail.folder.sent', '\\Drafts': 'mail.folder.drafts', '\\Trash': 'mail.folder.trash', '\\Junk': 'mail.folder.junk', '\\Archive': 'mail.folder.archive' };
  const key = f.specialUse ? keys[f.specialUse] : undefined;
  return key && f.depth === 0 ? req.t(key) : f.name;
}

/** fmtDate writes a date the way the rest of Postern does (UTC, to the minute). */
function fmtDate(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 16);
}

/** fmtSize writes a byte count for people. */
function fmtSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
