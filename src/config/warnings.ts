import type { Config } from './schema.ts';
import { isHttps } from './load.ts';
import { isLoopback } from './address.ts';

/**
 * startupWarnings lists what the configuration allows only because the
 * administrator said so; each is logged as a warning when Postern starts.
 */
export function startupWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.SMS_PROVIDER === 'console' && isHttps(config)) {
    warnings.push('the console SMS provider writes every sign-in code to the log (SMS_CONSOLE_IN_PRODUCTION=1); anyone who reads the log can pass the second step');
  }
  if (!isLoopback(config.IMAP_HOST) && !config.IMAP_SECURE && !config.IMAP_STARTTLS) {
    warnings.push(`webmail logs in to the IMAP backend ${config.IMAP_HOST} in clear, master password included (IMAP_INSECURE_OK=1)`);
  }
  if (!isLoopback(config.SMTP_HOST) && !config.SMTP_SECURE && !config.SMTP_REQUIRE_TLS) {
    warnings.push(`sent mail reaches the SMTP relay ${config.SMTP_HOST} in clear (SMTP_INSECURE_OK=1)`);
  }
  return warnings;
}
