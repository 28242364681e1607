import type { Request, Response } from 'express';
import { z } from 'zod';
import type { UserRepo } from '../users/repo.ts';
import type { MailAuthenticator } from './authenticate.ts';
import { mailClientOf } from './imap-id.ts';

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
  // Dovecot's %{client_id}: the pairs of the IMAP ID the client sent before logging in, if any. Only
  // shown to the user, so a value that does not fit is dropped, never a reason to refuse the login.
  client_id: z.string().max(2048).optional().catch(undefined),
});

/** An answer to the Lua passdb: the status is the verdict, the body what it hands Dovecot. */
export interface DovecotAnswer {
  status: number;
  body: string;
}

/**
 * dovecotAuthHandler answers the Lua passdb. Status is the verdict: 200
 * accept (body: the canonical mailbox name, which the script hands Dovecot as
 * `user`, so a variant of the name typed by the client never opens another
 * maildir), 403 refuse (body: the text the client sees), 404 unknown user
 * (for master logins only), 429 throttled, 503 temporary failure.
 */
export function dovecotAuthHandler(auth: MailAuthenticator, users: UserRepo) {
  return async (req: Request, res: Response) => {
    const answer = await dovecotAnswer(auth, users, req.body ?? {});
    res.status(answer.status).type('text/plain').send(answer.body);
  };
}

/** dovecotAnswer is the verdict on one form the Lua passdb posted. */
export async function dovecotAnswer(auth: MailAuthenticator, users: UserRepo, body: unknown): Promise<DovecotAnswer> {
  const form = dovecotForm.safeParse(body);
  if (!form.success) return { status: 400, body: '' };
  const f = form.data;
  if (f.master) {
    // The master password was checked by Dovecot; Postern only says whether the mailbox owner may be opened.
    try {
      const user = await users.loadByEmail(f.user);
      if (!user || user.disabled) return { status: 404, body: '' };
      return { status: 200, body: user.email };
    } catch {
      return { status: 503, body: '' };
    }
  }
  const protocol = f.protocol === 'imap' ? 'imap' : f.protocol === 'smtp' ? 'smtp' : undefined;
  if (!protocol) return { status: 403, body: 'Authentication failed.' };
  const client = f.client_id ? mailClientOf(f.client_id) : undefined;
  const result = await auth.authenticate({ user: f.user, secret: f.password ?? '', protocol, clientIp: f.client_ip || 'unknown', client });
  if (result.ok) return { status: 200, body: result.user.email };
  const status = result.kind === 'tempfail' || result.kind === 'busy' ? 503 : result.kind === 'throttled' ? 429 : 403;
  // A plain refusal gets an empty body, so Dovecot answers its ordinary "Authentication failed.".
  return { status, body: result.kind === 'refused' ? '' : result.message };
}
