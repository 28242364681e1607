import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../config/schema.ts';

/** BackendTls is how Postern reaches one backend: TLS from the first byte, STARTTLS required, and what the certificate is checked against. */
export interface BackendTls {
  /** TLS from the first byte (IMAPS on 993, SMTPS on 465). */
  secure: boolean;
  /** Refuse a backend that does not offer STARTTLS, instead of logging in in clear. */
  requireStarttls: boolean;
  /** Passed to tls.connect: the CA to trust instead of the system's, and the name the certificate must carry. */
  tls: ConnectionOptions;
}

function tlsOptions(caFile: string | undefined, servername: string | undefined): ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    // Read once at start; config has already checked the file can be read.
    ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
    // IMAP_HOST is an address (nginx needs one), and certificates rarely name addresses.
    ...(servername ? { servername } : {}),
  };
}

/** imapTls reads the IMAP_SECURE / IMAP_STARTTLS / IMAP_TLS_* settings. */
export function imapTls(config: Pick<Config, 'IMAP_SECURE' | 'IMAP_STARTTLS' | 'IMAP_TLS_CA_FILE' | 'IMAP_TLS_SERVERNAME'>): BackendTls {
  return { secure: config.IMAP_SECURE, requireStarttls: config.IMAP_STARTTLS, tls: tlsOptions(config.IMAP_TLS_CA_FILE, config.IMAP_TLS_SERVERNAME) };
}

/** smtpTls reads the SMTP_SECURE / SMTP_REQUIRE_TLS / SMTP_TLS_* settings. */
export function smtpTls(config: Pick<Config, 'SMTP_SECURE' | 'SMTP_REQUIRE_TLS' | 'SMTP_TLS_CA_FILE' | 'SMTP_TLS_SERVERNAME'>): BackendTls {
  return { secure: config.SMTP_SECURE, requireStarttls: config.SMTP_REQUIRE_TLS, tls: tlsOptions(config.SMTP_TLS_CA_FILE, config.SMTP_TLS_SERVERNAME) };
}
