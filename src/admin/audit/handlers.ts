import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { badRequest } from '../../http/errors.ts';
import { CSV_COLUMNS, csvLine } from './csv.ts';
import { detailLines, shortAgent, timeText } from './format.ts';
import { AuditEvents, EXPORT_MAX } from './query.ts';
import { AUDIT_EVENTS, auditQuery } from './schema.ts';

/** The filter fields, as the form and the paging links carry them. */
const FILTERS = ['user', 'event', 'from', 'to', 'ip'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** auditHandlers are Administration → Audit log: the filtered page and its CSV export. */
export function auditHandlers(s: Services) {
  const events = new AuditEvents(s.db);

  /** eventLabel names an event in the reader's language; an event without a label keeps its name. */
  const eventLabel = (req: Request, event: string) => {
    const key = `event.${event}`;
    const label = req.t(key);
    return label === key ? event : label;
  };

  const render = (req: Request, res: Response, status: number, locals: Record<string, unknown>) => {
    res.status(status).render('admin/audit', {
      events: AUDIT_EVENTS.map((e) => ({ value: e, label: eventLabel(req, e) })).sort((a, b) => a.label.localeCompare(b.label, req.locale)),
      filters: { user: '', event: '', from: '', to: '', ip: '' },
      rows: [],
      error: null,
      unknownAccount: null,
      nextUrl: null,
      firstUrl: null,
      csvUrl: '/admin/audit.csv',
      exportMax: EXPORT_MAX.toLocaleString(req.locale),
      ...locals,
    });
  };

  return {
    /** page lists the filtered events, 50 at a time, newest first; a bad filter gets the form back with a 400. */
    async page(req: Request, res: Response) {
      const q = auditQuery.safeParse(req.query);
      if (!q.success) return render(req, res, 400, { error: req.t('reports.filter.invalid') });
      const filters = echo(req);
      const filter = await events.resolve(q.data);
      const { rows, next } = await events.page(filter, q.data.before);
      render(req, res, 200, {
        filters,
        unknownAccount: filter.unknownAccount ? req.t('reports.audit.unknown_account') : null,
        rows: rows.map((r) => ({
          time: timeText(r.at),
          event: eventLabel(req, r.event),
          account: r.account ?? '',
          ip: r.ip ?? '',
          agent: shortAgent(r.userAgent),
          agentFull: r.userAgent ?? '',
          details: detailLines(r.details),
        })),
        nextUrl: next ? `/admin/audit?${query(filters, { before: String(next) })}` : null,
        firstUrl: q.data.before ? `/admin/audit?${query(filters)}` : null,
        csvUrl: `/admin/audit.csv?${query(filters)}`,
      });
    },

    /**
     * csv sends every event of the filtered range (at most EXPORT_MAX), read
     * in keyset chunks and written as they come, so memory stays flat.
     */
    async csv(req: Request, res: Response) {
      const q = auditQuery.safeParse(req.query);
      if (!q.success) throw badRequest('reports.filter.invalid');
      const filter = await events.resolve(q.data);
      // Who took a copy of the log, and of what, is itself on record.
      await s.audit.record({ event: 'audit.exported', userId: req.user!.id, account: req.user!.email, origin: originOf(req), details: { admin: req.user!.email, filter: q.data } });
      let closed = false;
      res.on('close', () => {
        closed = true;
      });
      res.status(200).set({
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`,
        'Cache-Control': 'no-store',
      });
      try {
        // The byte-order mark tells spreadsheets the file is UTF-8 (names and reasons may be Chinese).
        res.write('\ufeff' + csvLine(CSV_COLUMNS));
        for await (const rows of events.chunks(filter)) {
          const text = rows.map((r) => csvLine([r.at.toISOString(), r.event, r.account, r.ip, r.userAgent, r.details ? JSON.stringify(r.details) : ''])).join('');
          if (!res.write(text)) await drained(res);
          if (closed) return;
        }
        res.end();
      } catch (err) {
        // Headers are gone: cut the download short, so it cannot pass for a complete file.
        res.destroy();
        throw err;
      }
    },
  };
}

/** echo keeps the filter fields as typed (already validated), for the form and the paging links. */
function echo(req: Request): Filters {
  const out = {} as Filters;
  for (const k of FILTERS) out[k] = typeof req.query[k] === 'string' ? (req.query[k] as string).trim() : '';
  return out;
}

/** query writes the non-empty filters, and any extra parameter, as a query string. */
function query(filters: Filters, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters, ...extra })) if (v) p.set(k, v);
  return p.toString();
}

function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
