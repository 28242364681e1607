import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { flash } from '../../http/context.ts';
import { badRequest, HttpError } from '../../http/errors.ts';
import { mailboxAccess as accessOf } from '../../http/guards.ts';
import { forgetDraft, keptDraft, rememberDraft } from '../drafts.ts';
import { composeForm } from '../schema.ts';
import type { QuoteTexts } from './service.ts';
import { draftOf, sourceOf, uploadsOf } from './form.ts';

/** AUTOSAVE_MS is how often the compose page saves a changed draft; the page states it, so a test page may shorten it. */
export const AUTOSAVE_MS = 30_000;

/** quoteTexts are the lines above a quoted or forwarded original, in the reader's language. */
export function quoteTexts(req: Request, when?: (d: Date) => string): QuoteTexts {
  return {
    when,
    wrote: (date, who) => req.t('mail.quote.wrote', { date, who }),
    forwarded: req.t('mail.quote.forwarded'),
    from: req.t('mail.from'),
    date: req.t('mail.date'),
    subject: req.t('mail.subject'),
    to: req.t('mail.to'),
  };
}

/** draftHandlers save the message being written to Drafts: by the Save draft button, or every 30 s by the page. */
export function draftHandlers(s: Services) {
  return {
    /**
     * save answers the page's autosave with JSON: the new draft's UID and
     * its files (the ones just uploaded now live in the draft, so the page
     * lists them as kept and empties its file input). Without JavaScript,
     * the Save draft button lands on the saved draft, opened again.
     */
    async save(req: Request, res: Response) {
      const access = accessOf(res);
      const base = access.level === 'owner' ? '/mail' : `/mail/shared/${encodeURIComponent(access.owner.email)}`;
      const form = composeForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      // Only a draft this session kept or opened is replaced; a UID typed into the form names nothing.
      const previous = keptDraft(req.session, access.owner.email, form.data.draftUid);
      const saved = await s.mail.composer.save(access, draftOf(form.data), uploadsOf(req), sourceOf(form.data), previous);
      if (saved.dropped) forgetDraft(req.session, access.owner.email, saved.dropped);
      if (!saved.draft) throw new HttpError(502, 'mail.draft_not_saved');
      rememberDraft(req.session, access.owner.email, saved.draft);
      if (req.accepts(['html', 'json']) === 'json') {
        res.setHeader('Cache-Control', 'no-store');
        return res.json({
          draftUid: saved.draft.uid,
          srcFolder: saved.draft.folder,
          srcUid: saved.draft.uid,
          kept: saved.kept.map((a) => ({ index: a.index, filename: a.filename, size: a.size })),
          savedAt: new Date().toISOString(),
        });
      }
      flash(req, 'ok', 'mail.draft_saved');
      res.redirect(303, `${base}/compose?draft=${saved.draft.uid}`);
    },
  };
}
