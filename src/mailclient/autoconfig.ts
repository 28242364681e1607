import type { ClientSettings } from './settings.ts';
import { xmlEscape } from './settings.ts';

/**
 * autoconfigXml is Thunderbird's autoconfig document (config-v1.1.xml), which
 * many other clients read too. The user name is the full address.
 */
export function autoconfigXml(s: ClientSettings, domain: string, serviceName: string): string {
  const sock = (v: ClientSettings['imapSecurity']) => (v === 'plain' ? 'plain' : v);
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${xmlEscape(domain)}">
    <domain>${xmlEscape(domain)}</domain>
    <displayName>${xmlEscape(serviceName)}</displayName>
    <displayShortName>${xmlEscape(serviceName)}</displayShortName>
    <incomingServer type="imap">
      <hostname>${xmlEscape(s.host)}</hostname>
      <port>${s.imapPort}</port>
      <socketType>${sock(s.imapSecurity)}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>${xmlEscape(s.host)}</hostname>
      <port>${s.smtpPort}</port>
      <socketType>${sock(s.smtpSecurity)}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`;
}
