import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { flash } from '../../http/context.ts';
import { HttpError, notFound } from '../../http/errors.ts';
import { CSV_COLUMNS, MAX_ROWS, type RowError } from '../../twofactor/hardware/csv.ts';
import { TOKEN_STATUSES } from '../../twofactor/hardware/repo.ts';
import { INVENTORY_PAGE, type Actor } from '../../twofactor/hardware/service.ts';
import { listQuery, revokeForm, tokenParams } from './schema.ts';

const LIST = '/admin/tokens';

/** REPORT_MAX is how many problems of a rejected file the page lists; the rest are counted. */
const REPORT_MAX = 500;

/**
 * tokenAdminHandlers are the console's hardware-token pages: the inventory
 * with its filters, importing a token file, and revoking a token. The route
 * table admits administrators after a fresh step-up only.
 */
export function tokenAdminHandlers(s: Services) {
  const actor = (req: Request): Actor => ({ userId: req.user!.id, account: req.user!.email, origin: originOf(req), locale: req.locale });

  const render = async (req: Request, res: Response, status = 200, errors: RowError[] = []) => {
    const query = listQuery.parse(req.query);
    const { items, total } = await s.hardwareTokens.inventory({ status: query.status, search: query.q || undefined, page: query.page });
    res.status(status).render('admin/tokens', {
      items,
      total,
      page: query.page,
      pages: Math.max(1, Math.ceil(total / INVENTORY_PAGE)),
      status: query.status ?? '',
      q: query.q,
      statuses: TOKEN_STATUSES,
      header: CSV_COLUMNS.join(','),
      maxRows: MAX_ROWS,
      report: errors.slice(0, REPORT_MAX).map((e) => ({ row: e.row, text: req.t(`admin.tokens.problem.${e.problem}`, e.params) })),
      more: Math.max(0, errors.length - REPORT_MAX),
    });
  };

  return {
    list: (req: Request, res: Response) => render(req, res),

    /** import adds every token of the uploaded file, or none and the page lists each row's problem. */
    async import(req: Request, res: Response) {
      const csv = typeof req.body?.csv === 'string' ? req.body.csv : '';
      const result = await s.hardwareTokens.import(csv, actor(req));
      if (!result.ok) return render(req, res, 400, result.errors);
      flash(req, 'ok', 'admin.tokens.imported', { count: result.count });
      res.redirect(303, LIST);
    },

    /** revoke withdraws a token; a bound one stops verifying its owner at once. */
    async revoke(req: Request, res: Response) {
      const params = tokenParams.safeParse(req.params);
      if (!params.success) throw notFound();
      const form = revokeForm.safeParse(req.body ?? {});
      if (!form.success) throw new HttpError(400, 'admin.tokens.reason_needed');
      const result = await s.hardwareTokens.revoke(params.data.id, form.data.reason, actor(req));
      if (!result.ok) {
        if (result.reason === 'not_found') throw notFound();
        flash(req, 'error', 'admin.tokens.already_revoked');
      } else if (result.owner) flash(req, 'ok', 'admin.tokens.revoked_owner', { serial: result.token.serial, user: result.owner });
      else flash(req, 'ok', 'admin.tokens.revoked', { serial: result.token.serial });
      res.redirect(303, LIST);
    },
  };
}
