import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { flash } from '../../http/context.ts';
import { badRequest } from '../../http/errors.ts';
import { mailboxAccess as accessOf } from '../../http/guards.ts';
import type { MailboxAccess } from '../../sharing/service.ts';
import { MailboxError } from '../errors.ts';
import { canEmpty, isProtected } from './folders.ts';
import { baseUrl, mailChrome } from '../handlers.ts';
import { createFolderForm, folderActionForm, folderQuery, renameFolderForm } from '../schema.ts';

/** The refusals a folder form shows on the folders page itself (POST-redirect-GET); others go to the error page. */
const SHOWN_ON_PAGE = new Set(['bad_request', 'not_found']);

/** firstKey is the catalog key of a form's first refusal (schema.ts names them), or a generic one. */
function firstKey(issues: Array<{ message: string }>): string {
  const key = issues[0]?.message ?? '';
  return key.startsWith('mail.folders.') ? key : 'mail.folders.name_invalid';
}

/**
 * folderHandlers are the owner's folder page (/mail/folders): list with
 * counts, create, rename, delete and empty Trash or Junk. Deleting and
 * emptying go through a confirmation page. The guard admits only the
 * mailbox's owner, and the service checks it again.
 */
export function folderHandlers(s: Services) {
  const mail = s.mail.webmail;
  const chrome = mailChrome(s);
  const page = (access: MailboxAccess) => `${baseUrl(access)}/folders`;

  /** settle runs a folder change and comes back to the folders page, with its outcome or its refusal as a flash. */
  const settle = async (req: Request, res: Response, access: MailboxAccess, change: () => Promise<{ key: string; params?: Record<string, string | number> }>) => {
    try {
      const done = await change();
      flash(req, 'ok', done.key, done.params);
    } catch (err) {
      if (!(err instanceof MailboxError) || !SHOWN_ON_PAGE.has(err.kind)) throw err;
      flash(req, 'error', err.key);
    }
    res.redirect(303, page(access));
  };

  /** confirmPage asks before a folder's mail is thrown away; a folder the action does not apply to goes back with a refusal. */
  const confirmPage = (action: 'delete' | 'empty') => async (req: Request, res: Response) => {
    const access = accessOf(res);
    const query = folderQuery.safeParse(req.query);
    if (!query.success) throw badRequest();
    const view = await chrome(req, access);
    const target = view.folders.find((f) => f.path === query.data.folder);
    const refusal = !target ? 'mail.no_such_folder' : action === 'delete' && isProtected(target) ? 'mail.folders.special' : action === 'empty' && !canEmpty(target) ? 'mail.folders.not_emptiable' : null;
    if (refusal || !target) {
      flash(req, 'error', refusal ?? 'mail.no_such_folder');
      return res.redirect(303, page(access));
    }
    res.render('mail/folder-confirm', { ...view, folder: null, action, target });
  };

  return {
    async page(req: Request, res: Response) {
      const access = accessOf(res);
      const view = await chrome(req, access);
      res.render('mail/folders', { ...view, folder: null, isProtected, canEmpty });
    },

    async create(req: Request, res: Response) {
      const access = accessOf(res);
      const form = createFolderForm.safeParse(req.body ?? {});
      if (!form.success) {
        flash(req, 'error', firstKey(form.error.issues));
        return res.redirect(303, page(access));
      }
      await settle(req, res, access, async () => {
        const path = await mail.createFolder(access, form.data.name, form.data.parent);
        return { key: 'mail.folders.created', params: { folder: path } };
      });
    },

    async rename(req: Request, res: Response) {
      const access = accessOf(res);
      const form = renameFolderForm.safeParse(req.body ?? {});
      if (!form.success) {
        flash(req, 'error', firstKey(form.error.issues));
        return res.redirect(303, page(access));
      }
      await settle(req, res, access, async () => {
        const path = await mail.renameFolder(access, form.data.folder, form.data.name);
        return { key: 'mail.folders.renamed', params: { folder: path } };
      });
    },

    confirmDelete: confirmPage('delete'),
    confirmEmpty: confirmPage('empty'),

    async remove(req: Request, res: Response) {
      const access = accessOf(res);
      const form = folderActionForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      if (!form.data.confirm) return res.redirect(303, `${page(access)}/delete?folder=${encodeURIComponent(form.data.folder)}`);
      await settle(req, res, access, async () => {
        await mail.deleteFolder(access, form.data.folder);
        return { key: 'mail.folders.deleted', params: { folder: form.data.folder } };
      });
    },

    async empty(req: Request, res: Response) {
      const access = accessOf(res);
      const form = folderActionForm.safeParse(req.body ?? {});
      if (!form.success) throw badRequest();
      if (!form.data.confirm) return res.redirect(303, `${page(access)}/empty?folder=${encodeURIComponent(form.data.folder)}`);
      await settle(req, res, access, async () => {
        const count = await mail.emptyFolder(access, form.data.folder);
        return { key: 'mail.folders.emptied', params: { count } };
      });
    },
  };
}
