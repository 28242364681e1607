import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { barChart } from '../chart.ts';
import { MailLogins } from './query.ts';

/** mailLoginHandlers are Administration → Mail logins: logins per hour by protocol, and the refusals. */
export function mailLoginHandlers(s: Services) {
  const logins = new MailLogins(s.db);
  return {
    async page(req: Request, res: Response) {
      const report = await logins.report();
      const chart = barChart({
        title: req.t('reports.mail.per_hour'),
        labels: report.hours.map((h) => `${h.toISOString().slice(11, 13)}:00`),
        series: report.protocols.map((p) => ({ name: p.protocol.toUpperCase(), values: p.perHour })),
        empty: req.t('reports.mail.none'),
        labelEvery: 4,
      });
      /** A reason's label, or the reason as recorded when the catalog has none. */
      const reasonLabel = (reason: string) => {
        const key = `reports.mail.reason.${reason}`;
        const label = req.t(key);
        return label === key ? reason : label;
      };
      res.render('admin/mail-logins', {
        chart,
        admitted: report.admitted,
        refused: report.refused,
        throttled: report.throttled,
        reasons: report.reasons.map((r) => ({ label: reasonLabel(r.reason), reason: r.reason, count: r.count })),
        topAccounts: report.topAccounts,
        topIps: report.topIps,
      });
    },
  };
}
