import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { originOf } from '../http/origin.ts';
import { flash } from '../http/context.ts';
import { badRequest } from '../http/errors.ts';
import { mailboxAccess as accessOf } from '../http/guards.ts';
import { uploadLimitParams } from '../http/uploads.ts';
import { allows } from '../sharing/policy.ts';
import type { MailboxAccess } from '../sharing/service.ts';
import type { Draft } from './compose.ts';
import { draftOf, sourceOf, uploadsOf } from './compose/form.ts';
import { AUTOSAVE_MS, quoteTexts } from './compose/handlers.ts';
import { forgetDraft, keptDraft, rememberDraft } from './drafts.ts';
import { moveTargets, type Folder } from './folders.ts';
import { dateWriter } from './dates.ts';
import type { Preferences } from './prefs/service.ts';
import { listLocals } from './list/view.ts';
import { NO_SEARCH } from './list/search.ts';
import type { AttachmentInfo } from './service.ts';
import { attachmentParams, composeForm, composeQuery, folderParams, messageParams, moveForm, seenForm } from './schema.ts';

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
  // `known`: what the handler already read (its preferences, the folders from its own IMAP session), so it is not read twice.
  return async (req: Request, access: MailboxAccess, known: { prefs?: Preferences; folders?: Folder[] } = {}) => {
    const [folders, shared, prefs] = await Promise.all([
      known.folders ?? mail.folders(access),
      s.mail.sharing.sharedWith(req.user!),
      known.prefs ?? s.mail.prefs.load(req.user!.id),
    ]);
    // Dates in the reader's own zone (as their browser reported it), in their language.
    const dates = dateWriter(req.locale, prefs.timeZone);
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
      /** fmtDate: the full date-time with its zone (message header, tooltips). */
      fmtDate: dates.full,
      /** fmtShort: the list's "14:02" / "3 Dec" / "2025-11-30". */
      fmtShort: dates.short,
      prefs,
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
    extra: { status?: number; error?: string | null; kept?: AttachmentInfo[]; srcFolder?: string; srcUid?: number; draftUid?: number; reattach?: boolean; saved?: number; prefs?: Preferences } = {},
  ) => {
    const page = await chrome(req, access, { prefs: extra.prefs });
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
      // A failed send names the copy kept in Drafts and links to it.
      savedUrl: extra.saved ? `${baseUrl(access)}/compose?draft=${extra.saved}` : null,
      autosaveMs: AUTOSAVE_MS,
      fromLine: access.owner.displayName ? `${access.owner.displayName} <${access.owner.email}>` : access.owner.email,
      onBehalf: access.level === 'send_on_behalf' ? req.user!.email : null,
    });
  };

  return {
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
      // Grouped by conversation: the message page lists the rest of its conversation.
      const conversation = page.prefs.conversations ? await mail.conversation(access, params.data.folder, params.data.uid) : [];
      if (page.prefs.readingPane) {
        // The reading pane: the folder's first page beside the message (a phone shows the message alone).
        const list = await mail.list(access, params.data.folder, 1, NO_SEARCH, page.prefs.conversations);
        return res.render('mail/list', { ...page, ...listLocals(page.folders, list, NO_SEARCH, { message, images }), conversation });
      }
      res.render('mail/message', { ...page, folder: params.data.folder, message, images, conversation });
    },

    async attachment(req: Request, res: Response) {
      const access = accessOf(res);
      const params = attachmentParams.safeParse(req.params);
      if (!params.success) throw badRequest();
      await mail.attachment(access, params.data.folder, params.data.uid, params.data.part, originOf(req), async (file, content) => {
        // Always a download, never rendered in Postern's origin; nosniff comes with every response.
        res.attachment(file.filename.replace(/[\r\n"\\/]/g, '_'));
        res.type(SAFE_TYPE.test(file.contentType) ? file.contentType : 'application/octet-stream');
        res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
        res.setHeader('Cache-Control', 'private, no-store');
        try {
          await pipeline(content, res);
        } catch (err) {
          // Headers are out: a broken download can only be cut short, and the reader who left needs nothing.
          if (!res.destroyed) res.destroy(err as Error);
        }
      });
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
      const composer = s.mail.composer;
      if (query.data.draft) {
        const opened = await composer.reopen(access, query.data.draft);
        // The opened draft is replaced by the next save and removed once sent, but only by those who may
        // delete in this mailbox, or for a copy this session saved itself: others' saves leave it in place.
        const ours = keptDraft(req.session, access.owner.email, opened.at.uid);
        const replaceable = allows(access.level, 'delete') || (ours?.folder === opened.at.folder && ours.uidValidity === opened.at.uidValidity);
        if (replaceable) rememberDraft(req.session, access.owner.email, opened.at);
        const from = opened.kept.length ? { srcFolder: opened.at.folder, srcUid: opened.at.uid } : {};
        return renderCompose(req, res, access, opened.draft, { kept: opened.kept, ...from, draftUid: replaceable ? opened.at.uid : undefined });
      }
      // The original's date as the writer reads dates: their zone, their language.
      const prefs = await s.mail.prefs.load(req.user!.id);
      const started = await composer.start(access, query.data, quoteTexts(req, dateWriter(req.locale, prefs.timeZone).full));
      return renderCompose(req, res, access, started.draft, { kept: started.kept, srcFolder: started.source?.folder, srcUid: started.source?.uid, prefs });
    },

    async send(req: Request, res: Response) {
      const access = accessOf(res);
      const form = composeForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      const draft: Draft = draftOf(form.data);
      const uploads = uploadsOf(req);
      const source = sourceOf(form.data);
      // Only a draft this session kept or opened may be replaced or dropped; a UID typed into the form names nothing.
      const previous = keptDraft(req.session, access.owner.email, form.data.draftUid);
      const outcome = await s.mail.composer.send(access, draft, uploads, source, previous, originOf(req));
      if (outcome.dropped) forgetDraft(req.session, access.owner.email, outcome.dropped);
      if (outcome.ok) {
        flash(req, outcome.savedToSent ? 'ok' : 'error', outcome.savedToSent ? 'mail.sent' : 'mail.sent_not_saved');
        return res.redirect(303, baseUrl(access));
      }
      const status = outcome.reason === 'relay' ? 502 : 400;
      const error =
        outcome.reason === 'relay' ? req.t('mail.send_failed') : outcome.bad !== undefined ? req.t('mail.not_an_address', { entry: outcome.bad }) : req.t('mail.bad_recipients');
      if (outcome.draft) {
        rememberDraft(req.session, access.owner.email, outcome.draft);
        const kept = { srcFolder: outcome.draft.folder, srcUid: outcome.draft.uid, draftUid: outcome.draft.uid, saved: outcome.draft.uid };
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


/** fmtSize writes a byte count for people. */
function fmtSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
