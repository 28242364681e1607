import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { flash } from '../../http/context.ts';
import { badRequest } from '../../http/errors.ts';
import { mailboxAccess as accessOf } from '../../http/guards.ts';
import { baseUrl, folderUrl, mailChrome } from '../handlers.ts';
import { folderParams } from '../schema.ts';
import { queryString, type Search } from './search.ts';
import { listLocals } from './view.ts';
import type { Selection } from './bulk.ts';
import { bulkForm, conversationsForm, listQuery, readingPaneForm, timeZoneForm } from './schema.ts';

/** listHandlers are the message list, its bulk actions and the reader's list preferences. */
export function listHandlers(s: Services) {
  const mail = s.mail.webmail;
  const chrome = mailChrome(s);

  return {
    async list(req: Request, res: Response) {
      const access = accessOf(res);
      const params = folderParams.safeParse(req.params);
      if (req.params.folder !== undefined && !params.success) throw badRequest();
      const folder = params.success ? params.data.folder : 'INBOX';
      const query = listQuery.safeParse(req.query);
      if (!query.success) throw badRequest('mail.bad_search');
      const { page: pageNo, ...search } = query.data;
      const prefs = await s.mail.prefs.load(req.user!.id);
      // The page and the folder counts from one IMAP session, one after the other: two sessions on the
      // same mailbox at once make the server synchronise the folder twice.
      const { list, folders } = await mail.listWithFolders(access, folder, pageNo, search, prefs.conversations);
      const page = await chrome(req, access, { prefs, folders });
      res.render('mail/list', { ...page, ...listLocals(page.folders, list, search) });
    },

    async bulk(req: Request, res: Response) {
      const access = accessOf(res);
      const params = folderParams.safeParse(req.params);
      const form = bulkForm.safeParse(req.body ?? {});
      if (!params.success || !form.success) throw badRequest('mail.bulk.bad');
      const f = form.data;
      const search: Search = { q: f.q, field: f.field, since: f.since, before: f.before };
      const back = folderUrl(baseUrl(access), params.data.folder) + queryString(search, f.back);
      let selection: Selection;
      if (f.all) {
        if (f.upto === undefined) throw badRequest('mail.bulk.bad');
        selection = { kind: 'all', search, upto: f.upto };
      } else {
        const picked = f.page ? (f.shown ?? []) : [...f.uid, ...(f.uids ?? [])];
        if (picked.length > 50) throw badRequest('mail.bulk.bad');
        selection = { kind: 'picked', uids: picked, conversations: f.conversations === '1' };
      }
      if (selection.kind === 'picked' && !selection.uids.length) {
        flash(req, 'error', 'mail.bulk.none_selected');
        return res.redirect(303, back);
      }
      const done = await mail.bulk(access, params.data.folder, selection, f.action, f.to, originOf(req));
      if (!done.count) flash(req, 'error', 'mail.bulk.gone');
      else flash(req, 'ok', `mail.bulk.${done.outcome}`, { count: done.count, folder: f.to ?? '' });
      res.redirect(303, back);
    },

    /** timeZone stores the zone the browser reports; the pages' script sends it only when it differs. */
    async timeZone(req: Request, res: Response) {
      const form = timeZoneForm.safeParse(req.body ?? {});
      if (!form.success || !(await s.mail.prefs.setTimeZone(req.user!.id, form.data.zone))) throw badRequest();
      res.status(204).end();
    },

    async conversations(req: Request, res: Response) {
      const form = conversationsForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      await s.mail.prefs.setConversations(req.user!.id, form.data.on === '1');
      res.redirect(303, mailPath(form.data.back));
    },

    async readingPane(req: Request, res: Response) {
      const form = readingPaneForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      await s.mail.prefs.setReadingPane(req.user!.id, form.data.pane === '1');
      res.redirect(303, mailPath(form.data.back));
    },
  };
}

/** mailPath keeps a return address on the mail pages of this site: a path under /mail, never another origin. */
function mailPath(back: string | undefined): string {
  if (!back || !/^\/mail(\/|\?|$)/.test(back) || back.includes('\\')) return '/mail';
  return back;
}
