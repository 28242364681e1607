import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { barChart } from '../chart.ts';
import { SmsUsage } from './query.ts';

/** smsUsageHandlers are Administration → SMS usage: what texts cost, and the signs of pumping. */
export function smsUsageHandlers(s: Services) {
  const usage = new SmsUsage(s.db, s.config);
  return {
    async page(req: Request, res: Response) {
      const report = await usage.report();
      const regions = regionNames(req.locale);
      const country = (code: string | null | undefined) => (code ? `${regions(code)} (${code})` : req.t('reports.sms.unknown_country'));
      const chart = barChart({
        title: req.t('reports.sms.per_day'),
        labels: report.days.map((d) => d.day.slice(5)),
        series: [
          { name: req.t('reports.sms.sent'), values: report.days.map((d) => d.sent) },
          { name: req.t('reports.sms.failed'), values: report.days.map((d) => d.failed) },
        ],
        empty: req.t('reports.sms.none'),
        labelEvery: 5,
      });
      const caps = (c: { caps: Array<'hour' | 'day'> }, hour: number, day: number) =>
        c.caps.map((k) => (k === 'hour' ? req.t('reports.sms.cap_hour', { max: hour }) : req.t('reports.sms.cap_day', { max: day }))).join(', ');
      const cfg = s.config;
      res.render('admin/sms', {
        chart,
        budget: report.budget,
        countries: report.countries.map((c) => ({ name: country(c.country), texts: c.texts })),
        otherTexts: report.otherTexts,
        numbers: report.numbers.map((n) => ({ ...n, country: country(n.country), capText: caps(n, cfg.SMS_MAX_PER_NUMBER_HOUR, cfg.SMS_MAX_PER_NUMBER_DAY) })),
        addresses: report.addresses.map((a) => ({ ...a, capText: caps(a, cfg.SMS_MAX_PER_IP_HOUR, cfg.SMS_MAX_PER_IP_DAY) })),
        refusals: report.refusals.map((r) => ({ ...r, last: r.last.toISOString().slice(0, 16).replace('T', ' ') })),
      });
    },
  };
}

/** regionNames names a country in the reader's language ("China", "中国"), falling back to its code. */
function regionNames(locale: string): (code: string) => string {
  try {
    const names = new Intl.DisplayNames([locale], { type: 'region' });
    return (code) => names.of(code) ?? code;
  } catch {
    return (code) => code;
  }
}
