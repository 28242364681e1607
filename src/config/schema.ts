import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { isLoopback, parseListen } from './address.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
// A switch, off unless set to 1/true/yes/on.
const flag = bool.default(false);

/**
 * configSchema describes every environment variable Postern reads. Each field
 * is documented in `.env.example`; the loader lists every problem at once.
 */
export const configSchema = z
  .object({
    // HTTP
    PORT: port.default(8080),
    HOST: z.string().min(1).default('127.0.0.1'),
    PUBLIC_URL: z.url().optional(),
    TRUST_PROXY: z.string().default(''),
    SERVICE_NAME: z.string().min(1).max(40).default('Postern'),

    // Storage
    DATABASE_URL: z
      .string()
      .regex(/^(postgres(ql)?:\/\/|memory:\/\/)/, 'must be postgres://… (or memory:// for throwaway runs)')
      .optional(),
    DATA_DIR: z.string().min(1).default('./data'),

    // Sessions
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SESSION_IDLE_MINUTES: positiveInt.max(60).default(60),
    SESSION_ABSOLUTE_HOURS: positiveInt.max(24).default(24),
    // Keys that seal secrets Postern must read back (authenticator seeds): 32 bytes as 64 hex digits or
    // base64, the current key first and older ones after it while they are rotated out. Unset: one is
    // generated and kept in DATA_DIR/secrets-key.
    SECRETS_KEY: z.string().min(1).optional(),

    // Two-step verification: status turns "expired" (still working, renewal recommended) when no factor changed for this long.
    TWOFACTOR_EXPIRY_DAYS: positiveInt.max(3650).default(180),

    // SMS
    SMS_PROVIDER: z.enum(['console', 'twilio']).default('console'),
    // The console provider prints codes to the log; over https that takes saying so.
    SMS_CONSOLE_IN_PRODUCTION: flag,
    TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex digits').optional(),
    TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    TWILIO_FROM: z.string().min(1).optional(),
    TWILIO_MESSAGING_SERVICE_SID: z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'must look like MG followed by 32 hex digits').optional(),
    TWILIO_API_BASE_URL: z.url().default('https://api.twilio.com'),
    TWILIO_TIMEOUT_MS: positiveInt.default(10000),
    SMS_DEFAULT_REGION: z.string().length(2).toUpperCase().default('CN'),
    SMS_ALLOWED_COUNTRIES: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
    // Every text handed to the provider counts, delivered or not: room for a person who signs in on
    // several devices, mistypes and asks again, but not for a script pumping texts.
    SMS_MAX_PER_ACCOUNT_HOUR: positiveInt.default(10),
    SMS_MAX_PER_ACCOUNT_DAY: positiveInt.default(30),
    SMS_MAX_PER_NUMBER_HOUR: positiveInt.default(10),
    SMS_MAX_PER_NUMBER_DAY: positiveInt.default(30),
    // A campus or office signs in from behind one address.
    SMS_MAX_PER_IP_HOUR: positiveInt.default(30),
    SMS_MAX_PER_IP_DAY: positiveInt.default(200),
    SMS_DAILY_BUDGET: positiveInt.default(5000),

    // Trusted browsers
    TRUSTED_DEVICE_DAYS: positiveInt.max(90).default(7),

    // Mail logins (nginx auth_http / Dovecot Lua passdb) and the mail backend
    MAILAUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    // A separate address (e.g. 127.0.0.1:9143) for /mailauth/*, kept off the public listener.
    MAILAUTH_LISTEN: z
      .string()
      .transform((v, ctx) => {
        const listen = parseListen(v);
        if (!listen) ctx.addIssue({ code: 'custom', message: 'must be address:port, e.g. 127.0.0.1:9143' });
        return listen ?? z.NEVER;
      })
      .optional(),
    IMAP_HOST: z.string().min(1).default('127.0.0.1'),
    IMAP_PORT: port.default(143),
    // How webmail reaches IMAP_HOST: TLS from the first byte, or STARTTLS required.
    IMAP_SECURE: flag,
    IMAP_STARTTLS: flag,
    IMAP_TLS_CA_FILE: z.string().min(1).optional(),
    IMAP_TLS_SERVERNAME: z.string().min(1).optional(),
    IMAP_INSECURE_OK: flag,
    SUBMISSION_HOST: z.string().min(1).default('127.0.0.1'),
    SUBMISSION_PORT: port.default(587),
    MAIL_MASTER_USER: z.string().regex(/^[^\s*]+$/, 'must not contain spaces or *').optional(),
    MAIL_MASTER_PASSWORD: z.string().regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
    MAIL_LOGIN_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
    // A mail login whose password hash would finish later than this is told to retry instead (keep it under nginx's auth_http_timeout).
    MAIL_AUTH_QUEUE_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
    // Where nginx's mail proxy hands logged-in clients: Dovecot listeners with `haproxy = yes`
    // when nginx sends the PROXY protocol header (proxy_protocol on). Unset: IMAP_PORT, SUBMISSION_PORT.
    PROXIED_IMAP_PORT: port.optional(),
    PROXIED_SUBMISSION_PORT: port.optional(),
    // Dovecot's doveadm HTTP API: revoking a credential ends the IMAP sessions it opened.
    DOVEADM_URL: z.url({ protocol: /^https?$/ }).optional(),
    DOVEADM_API_KEY: z.string().regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
    // What mail clients are told to connect to (autoconfig, Apple profile, the settings page)
    MAIL_CLIENT_HOST: z.string().min(1).optional(),
    MAIL_CLIENT_IMAP_PORT: port.default(993),
    MAIL_CLIENT_SMTP_PORT: port.default(587),

    // Outgoing mail from webmail: the SMTP relay sent messages go through
    SMTP_HOST: z.string().min(1).default('127.0.0.1'),
    SMTP_PORT: port.default(25),
    SMTP_SECURE: flag,
    SMTP_REQUIRE_TLS: flag,
    SMTP_TLS_CA_FILE: z.string().min(1).optional(),
    SMTP_TLS_SERVERNAME: z.string().min(1).optional(),
    SMTP_INSECURE_OK: flag,
    SMTP_USER: z.string().min(1).optional(),
    SMTP_PASSWORD: z.string().min(1).optional(),
    // Sender of Postern's own mail (email codes, security notices); default no-reply@ the public host.
    MAIL_FROM: z.email().optional(),

    // Audit log: events older than this many days are deleted once a day.
    AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),

    // Logging
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  // Runs even when single fields failed, so every problem is listed at once.
  .superRefine((c, ctx) => {
    for (const key of ['IMAP_HOST', 'SUBMISSION_HOST'] as const) {
      // nginx's auth_http wants an address in Auth-Server, not a name.
      if (c.MAILAUTH_SECRET && typeof c[key] === 'string' && !isIP(c[key])) ctx.addIssue({ code: 'custom', path: [key], message: 'must be an IP address (nginx needs an address)' });
    }
    if (!!c.DOVEADM_URL !== !!c.DOVEADM_API_KEY) {
      ctx.addIssue({ code: 'custom', path: [c.DOVEADM_URL ? 'DOVEADM_API_KEY' : 'DOVEADM_URL'], message: 'DOVEADM_URL and DOVEADM_API_KEY go together' });
    }
    if (c.MAILAUTH_SECRET && (!c.MAIL_MASTER_USER || !c.MAIL_MASTER_PASSWORD)) {
      ctx.addIssue({ code: 'custom', path: ['MAIL_MASTER_USER'], message: 'MAIL_MASTER_USER and MAIL_MASTER_PASSWORD are required when MAILAUTH_SECRET is set' });
    }
    backendRules(c, ctx);
    if (c.SMS_PROVIDER === 'console' && c.PUBLIC_URL?.startsWith('https://') && !c.SMS_CONSOLE_IN_PRODUCTION) {
      ctx.addIssue({
        code: 'custom',
        path: ['SMS_PROVIDER'],
        message: 'console prints every code to the log, which is no place for them once PUBLIC_URL is https: set SMS_PROVIDER=twilio (or SMS_CONSOLE_IN_PRODUCTION=1 to keep console anyway)',
      });
    }
    if (c.SMS_PROVIDER !== 'twilio') return;
    for (const key of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'] as const) {
      if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when SMS_PROVIDER=twilio' });
    }
    if (!c.TWILIO_FROM && !c.TWILIO_MESSAGING_SERVICE_SID) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_FROM'],
        message: 'TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required when SMS_PROVIDER=twilio',
      });
    }
  }, { when: () => true });

export type Config = z.infer<typeof configSchema>;

type Checked = Partial<Record<keyof Config, unknown>>;

/**
 * backendRules keeps the master login and relay credentials off the network
 * in clear: a backend on another host needs TLS or STARTTLS, unless the
 * administrator states the path is private.
 */
function backendRules(c: Checked, ctx: z.RefinementCtx): void {
  const backends = [
    { host: 'IMAP_HOST', tls: 'IMAP_SECURE', starttls: 'IMAP_STARTTLS', ok: 'IMAP_INSECURE_OK', ca: 'IMAP_TLS_CA_FILE' },
    { host: 'SMTP_HOST', tls: 'SMTP_SECURE', starttls: 'SMTP_REQUIRE_TLS', ok: 'SMTP_INSECURE_OK', ca: 'SMTP_TLS_CA_FILE' },
  ] as const;
  for (const b of backends) {
    const host = c[b.host];
    if (c[b.tls] === true && c[b.starttls] === true) {
      ctx.addIssue({ code: 'custom', path: [b.starttls], message: `${b.tls} (TLS from the first byte) or ${b.starttls} (STARTTLS), not both` });
    }
    if (typeof host === 'string' && !isLoopback(host) && c[b.tls] !== true && c[b.starttls] !== true && c[b.ok] !== true) {
      ctx.addIssue({
        code: 'custom',
        path: [b.host],
        message: `${host} is not this host, and what Postern sends it (logins, mail) would cross the network in clear: set ${b.tls}=true or ${b.starttls}=true (or ${b.ok}=1 if the path is a private network you trust)`,
      });
    }
    const ca = c[b.ca];
    if (typeof ca === 'string') {
      try {
        accessSync(ca, constants.R_OK);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [b.ca], message: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      }
    }
  }
}
