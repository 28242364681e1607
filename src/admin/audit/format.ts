import UAParser from 'ua-parser-js';

/** Longest value shown per detail; the CSV export has them whole. */
const VALUE_MAX = 200;
const AGENT_MAX = 60;

/**
 * detailLines writes an event's details as "key: value" lines, in the
 * order recorded; nested values as JSON, long ones cut. The page escapes
 * them like any other text.
 */
export function detailLines(details: Record<string, unknown> | null | undefined): string[] {
  if (!details || typeof details !== 'object') return [];
  return Object.entries(details).map(([key, value]) => {
    const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
    return `${key}: ${text.length > VALUE_MAX ? `${text.slice(0, VALUE_MAX)}…` : text}`;
  });
}

/**
 * shortAgent names the client of an event briefly: "Chrome 126 · Windows"
 * for a browser, the protocol for a mail login ("IMAP"), else the start of
 * what the client sent.
 */
export function shortAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return '';
  if (userAgent === 'imap' || userAgent === 'smtp' || userAgent === 'pop3') return userAgent.toUpperCase();
  const ua = new UAParser(userAgent.slice(0, 512)).getResult();
  if (ua.browser.name) {
    const browser = ua.browser.major ? `${ua.browser.name} ${ua.browser.major}` : ua.browser.name;
    return ua.os.name ? `${browser} · ${ua.os.name}` : browser;
  }
  return userAgent.length > AGENT_MAX ? `${userAgent.slice(0, AGENT_MAX)}…` : userAgent;
}

/** timeText writes an event's time as the console shows it, in UTC to the second. */
export function timeText(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')}`;
}
