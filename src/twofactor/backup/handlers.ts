import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { originOf } from '../../http/origin.ts';
import { reveal, takeReveal } from '../../http/reveal.ts';
import { BACKUP_CODE_COUNT } from './codes.ts';

/** backupCodeHandlers: how many backup codes are left, a new set, and the one time a set is shown. */
export function backupCodeHandlers(s: Services) {
  return {
    async page(req: Request, res: Response) {
      const user = req.user!;
      const [remaining, hasFactor] = await Promise.all([s.backup.remaining(user.id), s.flow.hasFactor(user)]);
      res.render('security/backup-codes', { remaining, total: BACKUP_CODE_COUNT, hasFactor, error: null });
    },

    /** regenerate makes a new set; the old codes stop working at once. */
    async regenerate(req: Request, res: Response) {
      const user = req.user!;
      if (!(await s.flow.hasFactor(user))) return res.redirect(303, '/settings/security/backup-codes');
      const codes = await s.backup.issue(user.id);
      await s.flow.factorRenewed(user);
      await s.audit.record({ event: 'backup_codes.issued', userId: user.id, account: user.email, origin: originOf(req), details: { count: codes.length } });
      reveal(req, s.secrets, 'backup_codes', { codes, next: '/settings/security/backup-codes' });
      res.redirect(303, '/settings/security/backup-codes/new');
    },

    /** showNew shows a new set once: reloading the page, or coming back to it, shows nothing. */
    showNew(req: Request, res: Response) {
      const shown = takeReveal<{ codes: string[]; next: string }>(req, s.secrets, 'backup_codes');
      if (!shown) return res.redirect(303, '/settings/security/backup-codes');
      res.set('Cache-Control', 'no-store');
      const text = `${req.t('backup.file_heading', { service: s.config.SERVICE_NAME, account: req.user!.email })}\n\n${shown.codes.join('\n')}\n`;
      res.render('security/backup-codes-new', { codes: shown.codes, next: shown.next, download: `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`, error: null });
    },
  };
}
