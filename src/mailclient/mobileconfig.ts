import { randomUUID } from 'node:crypto';
import type { ClientSettings } from './settings.ts';
import { xmlEscape } from './settings.ts';

/**
 * mobileconfig builds an Apple configuration profile that sets up one mail
 * account with its client-specific password embedded, so an iPhone user taps
 * it instead of typing server settings.
 */
export function mobileconfig(opts: { settings: ClientSettings; email: string; displayName: string; password: string; serviceName: string; identifier: string }): string {
  const { settings: s } = opts;
  const str = (v: string) => `<string>${xmlEscape(v)}</string>`;
  const int = (v: number) => `<integer>${v}</integer>`;
  const bool = (v: boolean) => (v ? '<true/>' : '<false/>');
  const dict = (entries: Array<[string, string]>) => `<dict>\n${entries.map(([k, v]) => `  <key>${k}</key>${v}`).join('\n')}\n</dict>`;
  const account = dict([
    ['EmailAccountDescription', str(`${opts.serviceName} (${opts.email})`)],
    ['EmailAccountName', str(opts.displayName)],
    ['EmailAccountType', str('EmailTypeIMAP')],
    ['EmailAddress', str(opts.email)],
    ['IncomingMailServerAuthentication', str('EmailAuthPassword')],
    ['IncomingMailServerHostName', str(s.host)],
    ['IncomingMailServerPortNumber', int(s.imapPort)],
    ['IncomingMailServerUseSSL', bool(s.imapSecurity !== 'plain')],
    ['IncomingMailServerUsername', str(opts.email)],
    ['IncomingPassword', str(opts.password)],
    ['OutgoingMailServerAuthentication', str('EmailAuthPassword')],
    ['OutgoingMailServerHostName', str(s.host)],
    ['OutgoingMailServerPortNumber', int(s.smtpPort)],
    ['OutgoingMailServerUseSSL', bool(s.smtpSecurity !== 'plain')],
    ['OutgoingMailServerUsername', str(opts.email)],
    ['OutgoingPasswordSameAsIncomingPassword', bool(true)],
    ['PayloadDisplayName', str(`${opts.serviceName} mail`)],
    ['PayloadIdentifier', str(`${opts.identifier}.mail`)],
    ['PayloadType', str('com.apple.mail.managed')],
    ['PayloadUUID', str(randomUUID().toUpperCase())],
    ['PayloadVersion', int(1)],
  ]);
  const profile = dict([
    ['PayloadContent', `<array>\n${account}\n</array>`],
    ['PayloadDisplayName', str(`${opts.serviceName}: ${opts.email}`)],
    ['PayloadIdentifier', str(opts.identifier)],
    ['PayloadRemovalDisallowed', bool(false)],
    ['PayloadType', str('Configuration')],
    ['PayloadUUID', str(randomUUID().toUpperCase())],
    ['PayloadVersion', int(1)],
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
${profile}
</plist>
`;
}
