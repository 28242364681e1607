import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { flash } from '../../http/context.ts';
import { badRequest } from '../../http/errors.ts';
import { SIGNATURE_MAX_BYTES, SignatureError } from './service.ts';
import { signatureForm } from './schema.ts';

/** signatureHandlers are Settings → Signature: one form per mailbox the user sends from. */
export function signatureHandlers(s: Services) {
  const signatures = s.mail.signatures;

  const render = async (req: Request, res: Response, status = 200, error: { mailbox: string; text: string } | null = null, typed?: { mailbox: string; format: string; signature: string }) => {
    const boxes = await signatures.mailboxes(req.user!);
    const shown = boxes.map((b) => (typed && b.mailbox.toLowerCase() === typed.mailbox.toLowerCase() ? { ...b, format: typed.format, source: typed.signature } : b));
    res.status(status).render('settings/signature', { boxes: shown, error, maxKb: SIGNATURE_MAX_BYTES / 1024 });
  };

  return {
    page: (req: Request, res: Response) => render(req, res),

    async save(req: Request, res: Response) {
      const form = signatureForm.safeParse(req.body ?? {});
      if (!form.success) {
        if (typeof req.body?.signature === 'string' && req.body.signature.length > SIGNATURE_MAX_BYTES) {
          const mailbox = String(req.body?.mailbox ?? '').slice(0, 254);
          return render(req, res, 400, { mailbox, text: req.t('signature.too_long', { kb: SIGNATURE_MAX_BYTES / 1024 }) });
        }
        throw badRequest();
      }
      const { mailbox, format, signature } = form.data;
      try {
        const done = await signatures.save(req.user!, mailbox, format, signature);
        flash(req, 'ok', done === 'saved' ? 'signature.saved' : 'signature.removed', { mailbox });
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        return render(req, res, err.status, { mailbox, text: req.t(err.key, { kb: SIGNATURE_MAX_BYTES / 1024 }) }, { mailbox, format, signature });
      }
      res.redirect(303, '/settings/signature');
    },
  };
}
