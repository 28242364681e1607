import type { Request, Response } from 'express';
import { z } from 'zod';
import type { UserRepo } from '../users/repo.ts';
import type { MailAuthenticator } from './authenticate.ts';

/** dovecotForm is what deploy/dovecot/postern-auth.lua posts for each login. */
const dovecotForm = z.object({
  // The login name as the client typed it.
  user: z.string().min(1).max(320),
  // The password; absent for master logins, which Dovecot already checked.
  password: z.string().max(1024).optional(),
  // imap or smtp (Dovecot's submission service).
  protocol: z.string().max(20),
  // The client's address as Dovecot saw it.
  client_ip: z.string().max(64).default(''),
  // The master user name for master logins (webmail, nginx), else empty.
  master: z.string().max(320).default(''),
});

/**
 * dovecotAuthHandler answers the Lua passdb. Status is the verdict: 200
 * accept (body: the canonical mailbox name, which the script hands Dovecot as
 * `user`, so a variant of the name typed by the client never opens another
 * maildir), 403 refuse (body: the text the client sees), 404 unknown user
 * (for master logins only), 429 throttled, 503 temporary failure.
 */
export function dovecotAuthHandler(auth: MailAuthenticator, users: UserRepo) {
  return async (req: Request, res: Response) => {
    const form = dovecotForm.safeParse(req.body ?? {});
    if (!form.success) return res.status(400).type('text/plain').send('');
    const f = form.data;
    if (f.master) {
      // The master password was checked by Dovecot; Postern only says whether the mailbox owner may be opened.
      try {
        const user = await users.loadByEmail(f.user);
        if (!user || user.disabled) return res.status(404).type('text/plain').send('');
        return res.status(200).type('text/plain').send(user.email);
      } catch {
        return res.status(503).type('text/plain').send('');
      }
    }
    const protocol = f.protocol === 'imap' ? 'imap' : f.protocol === 'smtp' ? 'smtp' : undefined;
    if (!protocol) return res.status(403).type('text/plain').send('Authentication failed.');
    const result = await auth.authenticate({ user: f.user, secret: f.password ?? '', protocol, clientIp: f.client_ip || 'unknown' });
    if (result.ok) return res.status(200).type('text/plain').send(result.user.email);
    const status = result.kind === 'tempfail' || result.kind === 'busy' ? 503 : result.kind === 'throttled' ? 429 : 403;
    // A plain refusal gets an empty body, so Dovecot answers its ordinary "Authentication failed.".
    res.status(status).type('text/plain').send(result.kind === 'refused' ? '' : result.message);
  };
}
