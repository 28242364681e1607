import supertest from 'supertest';

/** What supertest can send requests to: an app, a server, or a URL. */
type Target = Parameters<typeof supertest>[0];

export interface NginxAsk {
  /** The shared secret; null sends none. */
  secret: string | null;
  protocol?: string;
  /** The client's address as nginx passes it (Client-IP). */
  ip?: string;
}

/** nginxAsks sends what nginx's auth_http sends: the shared secret and the client's credentials, URL-escaped, in headers. */
export function nginxAsks(target: Target, user: string, pass: string, ask: NginxAsk) {
  const req = supertest(target)
    .get('/mailauth/nginx')
    .set('Auth-Method', 'plain')
    .set('Auth-User', encodeURIComponent(user))
    .set('Auth-Pass', encodeURIComponent(pass))
    .set('Auth-Protocol', ask.protocol ?? 'imap')
    .set('Auth-Login-Attempt', '1')
    .set('Client-IP', ask.ip ?? '192.0.2.10');
  return ask.secret === null ? req : req.set('X-Mailauth-Secret', ask.secret);
}

/** mailauthEnv is the configuration a test of the mail-login endpoints needs: the shared secret, a backend and the master login. */
export function mailauthEnv(secret: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MAILAUTH_SECRET: secret,
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: '10143',
    SUBMISSION_HOST: '127.0.0.1',
    SUBMISSION_PORT: '10587',
    MAIL_MASTER_USER: 'postern',
    MAIL_MASTER_PASSWORD: 'master-pw-123',
    ...extra,
  };
}
