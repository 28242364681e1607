import type { Config } from '../config/schema.ts';

/** ClientSettings is what a person types into Foxmail or iPhone Mail. */
export interface ClientSettings {
  host: string;
  imapPort: number;
  imapSecurity: 'SSL' | 'STARTTLS' | 'plain';
  smtpPort: number;
  smtpSecurity: 'SSL' | 'STARTTLS' | 'plain';
}

function securityFor(port: number, implicit: number): 'SSL' | 'STARTTLS' {
  return port === implicit ? 'SSL' : 'STARTTLS';
}

/** clientSettings derives the public mail server settings from the configuration. */
export function clientSettings(config: Config): ClientSettings {
  const host = config.MAIL_CLIENT_HOST ?? (config.PUBLIC_URL ? new URL(config.PUBLIC_URL).hostname : 'localhost');
  return {
    host,
    imapPort: config.MAIL_CLIENT_IMAP_PORT,
    imapSecurity: securityFor(config.MAIL_CLIENT_IMAP_PORT, 993),
    smtpPort: config.MAIL_CLIENT_SMTP_PORT,
    smtpSecurity: securityFor(config.MAIL_CLIENT_SMTP_PORT, 465),
  };
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
