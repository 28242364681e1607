import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { flash } from '../../http/context.ts';
import { badRequest, HttpError, notFound } from '../../http/errors.ts';
import { reveal, takeReveal } from '../../http/reveal.ts';
import { UserError } from '../../users/service.ts';
import type { RowError } from '../csv.ts';
import { parseUserCsv, USER_CSV_MAX_ROWS } from './csv.ts';
import { AdminError, type Actor, type AdminUsers } from './service.ts';
import type { UserDirectory } from './directory.ts';
import { createForm, listQuery, passForm, reasonForm, userParams, type UserAction } from './schema.ts';

/** What the one-time page shows after an action made a secret: a temporary password, an access pass, or an import's passwords. */
type Shown =
  | { kind: 'password' | 'pass'; email: string; secret: string; expires?: string; back: string }
  | { kind: 'import'; accounts: Array<{ email: string; password: string }>; back: string };

/** adminUserHandlers are the users pages of the console: the list, one account, its actions, creating and importing. */
export function adminUserHandlers(s: Services, directory: UserDirectory, admin: AdminUsers) {
  const actor = (req: Request): Actor => ({ admin: req.user!, origin: originOf(req) });

  const renderNew = (req: Request, res: Response, status = 200, extra: { errors?: RowError[]; error?: string | null; form?: Record<string, string> } = {}) =>
    res.status(status).render('admin/user-new', { errors: extra.errors ?? [], error: extra.error ?? null, form: extra.form ?? { email: '', name: '' }, maxRows: USER_CSV_MAX_ROWS });

  /** run does one action on one account and says what came of it. */
  const run = async (req: Request, action: UserAction, id: string): Promise<string | undefined> => {
    const who = actor(req);
    if (action === 'enable') {
      await admin.setDisabled(who, id, false, reasonOf(req, 'enable'));
      flash(req, 'ok', 'admin.done.enable');
      return;
    }
    if (action === 'access-pass') {
      const form = passForm.safeParse(req.body ?? {});
      if (!form.success) throw new HttpError(400, 'admin.reason_needed');
      const pass = await admin.issuePass(who, id, form.data.reason, form.data.minutes);
      reveal(req, s.secrets, 'admin_secret', { kind: 'pass', email: pass.user.email, secret: pass.code, expires: pass.expiresAt.toISOString(), back: `/admin/users/${id}` } satisfies Shown);
      return '/admin/secret';
    }
    const reason = reasonOf(req, action);
    switch (action) {
      case 'disable':
        await admin.setDisabled(who, id, true, reason);
        break;
      case 'reset-password': {
        const done = await admin.resetPassword(who, id, reason);
        reveal(req, s.secrets, 'admin_secret', { kind: 'password', email: done.user.email, secret: done.password, back: `/admin/users/${id}` } satisfies Shown);
        return '/admin/secret';
      }
      case 'end-sessions':
        flash(req, 'ok', 'admin.done.end-sessions', { count: await admin.endSessions(who, id, reason) });
        return;
      case 'revoke-trusted':
        flash(req, 'ok', 'admin.done.revoke-trusted', { count: await admin.revokeTrusted(who, id, reason) });
        return;
      case 'revoke-app-passwords':
        flash(req, 'ok', 'admin.done.revoke-app-passwords', { count: await admin.revokeAppPasswords(who, id, reason) });
        return;
      case 'revoke-pass':
        await admin.revokePass(who, id, reason);
        break;
      case 'remove-factors':
        flash(req, 'ok', 'admin.done.remove-factors', { count: await admin.removeFactors(who, id, reason) });
        return;
    }
    flash(req, 'ok', `admin.done.${action}`);
  };

  return {
    /** home is the console's front door: the users page. */
    home(_req: Request, res: Response) {
      res.redirect(303, '/admin/users');
    },

    async list(req: Request, res: Response) {
      const query = listQuery.safeParse(req.query);
      if (!query.success) throw badRequest();
      const page = await directory.page({ q: query.data.q, page: query.data.page });
      res.render('admin/users', { ...page, q: query.data.q, expiryDays: s.config.TWOFACTOR_EXPIRY_DAYS, now: Date.now() });
    },

    async show(req: Request, res: Response) {
      const params = userParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const row = await directory.one(params.data.id);
      if (!row) throw notFound();
      const events = await s.audit.recentForUser(row.id, 30);
      res.render('admin/user', { u: row, events, self: row.id === req.user!.id, expiryDays: s.config.TWOFACTOR_EXPIRY_DAYS, now: Date.now() });
    },

    showNew: (req: Request, res: Response) => renderNew(req, res),

    async create(req: Request, res: Response) {
      const form = createForm.safeParse(req.body ?? {});
      const typed = { email: String(req.body?.email ?? '').slice(0, 254), name: String(req.body?.name ?? '').slice(0, 100) };
      if (!form.success) return renderNew(req, res, 400, { error: req.t('user.email_invalid'), form: typed });
      try {
        const { user, password } = await admin.create(actor(req), { email: form.data.email, displayName: form.data.name, isAdmin: !!form.data.admin });
        reveal(req, s.secrets, 'admin_secret', { kind: 'password', email: user.email, secret: password, back: `/admin/users/${user.id}` } satisfies Shown);
        res.redirect(303, '/admin/secret');
      } catch (err) {
        if (err instanceof UserError) return renderNew(req, res, 400, { error: req.t(err.key), form: typed });
        throw err;
      }
    },

    async import(req: Request, res: Response) {
      const parsed = parseUserCsv(String(req.body?.csv ?? ''));
      if (!parsed.ok) return renderNew(req, res, 400, { errors: parsed.errors });
      try {
        const accounts = await admin.import(actor(req), parsed.users);
        reveal(req, s.secrets, 'admin_secret', { kind: 'import', accounts, back: '/admin/users' } satisfies Shown);
        res.redirect(303, '/admin/secret');
      } catch (err) {
        if (err instanceof AdminError && err.key === 'admin.import_exists') {
          const taken = (err as AdminError & { emails: string[] }).emails;
          const lines = new Map(parsed.users.map((u, i) => [u.email, i + 2]));
          return renderNew(req, res, 400, { errors: taken.map((email) => ({ line: lines.get(email.toLowerCase()) ?? 0, problem: 'csv.user.exists', params: { value: email } })) });
        }
        throw err;
      }
    },

    /** act runs one of the account actions; the account's own administrator is refused (recover yourself elsewhere). */
    act: (action: UserAction) => async (req: Request, res: Response) => {
      const params = userParams.safeParse(req.params);
      if (!params.success) throw notFound();
      try {
        const next = await run(req, action, params.data.id);
        res.redirect(303, next ?? `/admin/users/${params.data.id}`);
      } catch (err) {
        throw refusalOf(err);
      }
    },

    /** secret shows what an action made, once: a reload or the back button shows nothing. */
    secret(req: Request, res: Response) {
      const shown = takeReveal<Shown>(req, s.secrets, 'admin_secret');
      if (!shown) return res.redirect(303, '/admin/users');
      res.set('Cache-Control', 'no-store');
      const csv = shown.kind === 'import' ? `email,temporary password\n${shown.accounts.map((a) => `${a.email},${a.password}`).join('\n')}\n` : '';
      res.render('admin/secret', { shown, download: csv ? `data:text/csv;charset=utf-8,${encodeURIComponent(csv)}` : null });
    },
  };
}

/** reasonOf reads the reason typed for an action; every action on someone's account needs one. */
function reasonOf(req: Request, action: UserAction): string {
  const form = reasonForm.safeParse(req.body ?? {});
  if (!form.success) throw new HttpError(400, 'admin.reason_needed', { action });
  return form.data.reason;
}

/** refusalOf says what an administrator's refused action means over HTTP: no such account (404), or not allowed (403). */
export function refusalOf(err: unknown): unknown {
  if (err instanceof AdminError) return err.key === 'admin.no_user' ? notFound() : new HttpError(403, err.key);
  return err;
}
