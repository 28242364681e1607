import { catalog, translate, type Locale, type Params } from '../i18n/index.ts';
import { deviceName } from '../twofactor/trusted.ts';

/**
 * NOTICE_KINDS are the audit events a user is told of by email: every
 * change to how the account signs in, what it shares, or whether it works.
 */
export const NOTICE_KINDS = [
  'apppassword.created',
  'phone.bound',
  'phone.changed',
  'phone.unbound',
  'factor.added',
  'factor.removed',
  'twofactor.disabled',
  'device.trusted',
  'backup_code.used',
  'backup_codes.issued',
  'password.changed',
  'password.reset',
  'share.granted',
  'access_pass.issued',
  'user.disabled',
  'token.bound',
  'token.revoked',
  'factors.reset',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** isNoticeKind tells whether an audit event is one users are told of. */
export function isNoticeKind(v: unknown): v is NoticeKind {
  return typeof v === 'string' && (NOTICE_KINDS as readonly string[]).includes(v);
}

/** RECOVERY_KINDS concern getting back into the account: their notice also goes to the recovery address. */
export const RECOVERY_KINDS: ReadonlySet<NoticeKind> = new Set(['access_pass.issued', 'password.reset', 'factors.reset']);

/**
 * Only an administrator does these to an account; the mail says so instead
 * of where the administrator was. Other kinds are theirs when the event
 * names an administrator (a reset of the factors; not the one a sign-in
 * with an access pass makes).
 */
const ONLY_BY_ADMIN: ReadonlySet<NoticeKind> = new Set(['password.reset', 'access_pass.issued', 'user.disabled', 'token.revoked']);

/**
 * NoticeDetails is all a notice keeps: the account, when and where, and the
 * one detail that identifies the change. It is built from a list of fields
 * known to be safe, so a code, password, secret or token given in an audit
 * event's details never reaches a notice, its row or its mail.
 */
export interface NoticeDetails {
  account: string;
  /** When it happened (ISO 8601). */
  at: string;
  ip?: string;
  /** "Browser on System", read from the user agent. */
  device?: string;
  /** An app password's or authenticator's name, a trusted browser's "Browser on System". */
  name?: string;
  /** A phone number, masked as recorded. */
  phone?: string;
  /** Done by an administrator. */
  byAdmin?: boolean;
  /** A factor kind and what identifies it (masked phone or address, name, serial). */
  factor?: string;
  detail?: string;
  delegate?: string;
  permission?: string;
  serial?: string;
  left?: number;
  count?: number;
}

const MAX_FIELD = 100;

/** clean makes one value safe to write into a mail line: text or a number, no control or line-break characters, bounded. */
function clean(v: unknown, max = MAX_FIELD): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  // ReDoS: one character class, each character looked at once.
  const text = String(v).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
  return text ? text.slice(0, max) : undefined;
}

/** count reads a small non-negative whole number. */
function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1_000_000 ? v : undefined;
}

/**
 * noticeDetails picks, from an audit event, what its notice may say. Only
 * the fields named here are read; everything else in the event's details is
 * left behind.
 */
export function noticeDetails(
  kind: NoticeKind,
  event: { account: string; at: Date; ip?: string | null; userAgent?: string | null; details?: Record<string, unknown> | null },
): NoticeDetails {
  const d = event.details ?? {};
  const out: NoticeDetails = { account: clean(event.account, 254) ?? '', at: event.at.toISOString() };
  const ip = clean(event.ip, 64);
  if (ip) out.ip = ip;
  const device = event.userAgent ? clean(deviceName(event.userAgent)) : undefined;
  if (device) out.device = device;
  if (ONLY_BY_ADMIN.has(kind) || typeof d.admin === 'string') out.byAdmin = true;
  const set = <K extends keyof NoticeDetails>(key: K, value: NoticeDetails[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  switch (kind) {
    case 'apppassword.created':
      set('name', clean(d.name, 60));
      break;
    case 'phone.bound':
    case 'phone.changed':
    case 'phone.unbound':
      set('phone', clean(d.phone, 40));
      break;
    case 'factor.added':
    case 'factor.removed':
      set('factor', clean(d.factor, 20));
      set('detail', clean(d.phone, 40) ?? clean(d.to) ?? clean(d.address) ?? clean(d.name, 60) ?? clean(d.serial, 60));
      break;
    case 'device.trusted':
      set('name', clean(d.device));
      break;
    case 'backup_code.used':
      set('left', count(d.left));
      break;
    case 'backup_codes.issued':
      set('count', count(d.count));
      break;
    case 'share.granted':
      set('delegate', clean(d.delegate, 254));
      set('permission', clean(d.permission, 20));
      break;
    case 'token.bound':
    case 'token.revoked':
      set('serial', clean(d.serial, 60));
      break;
  }
  return out;
}

/** NoticeMail is what goes out: a one-line subject and a plain-text body. */
export interface NoticeMail {
  subject: string;
  text: string;
}

export interface RenderOptions {
  /** The service's name (SERVICE_NAME). */
  service: string;
  /** PUBLIC_URL, when set: the mail links to the security settings there. */
  publicUrl?: string;
}

/** formatUtc writes a time as "2026-12-03 14:02 UTC", the same in every language. */
export function formatUtc(iso: unknown): string | undefined {
  if (typeof iso !== 'string') return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return undefined;
  const s = d.toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)} UTC`;
}

/** localDevice renders a stored "Browser on System" in the reader's language. */
function localDevice(locale: Locale, name: string): string {
  const at = name.lastIndexOf(' on ');
  return at > 0 ? translate(locale, 'device.on', { browser: name.slice(0, at), os: name.slice(at + 4) }) : name;
}

/** label looks a key up when the catalog has it, else shows the raw value. */
function label(locale: Locale, key: string, raw: string): string {
  return key in catalog(locale) ? translate(locale, key) : raw;
}

/**
 * renderNotice writes the mail for a notice in the user's language: what
 * happened and the detail that identifies it, when (UTC), from which address
 * and browser (or "an administrator"), and what to do if it was not them.
 * It reads only the fields of NoticeDetails, each cleaned again here, so a
 * row written by an older version cannot bring anything else in.
 */
export function renderNotice(kind: NoticeKind, locale: Locale, details: Record<string, unknown>, opts: RenderOptions): NoticeMail {
  const unknown = translate(locale, 'notice.unknown');
  const service = clean(opts.service, 40) ?? 'Postern';
  const factorKind = clean(details.factor, 20);
  const factorName = factorKind ? label(locale, `factor.name.${factorKind}`, factorKind) : unknown;
  const detail = clean(details.detail);
  const permission = clean(details.permission, 20);
  const name = clean(details.name, 100);
  const origin = clean(details.device);
  const originDevice = origin ? localDevice(locale, origin) : unknown;
  const params: Params = {
    service,
    account: clean(details.account, 254) ?? unknown,
    time: formatUtc(details.at) ?? unknown,
    ip: clean(details.ip, 64) ?? unknown,
    // The browser the action came from; for a trusted browser, the one trusted.
    device: kind === 'device.trusted' ? (name ? localDevice(locale, name) : unknown) : originDevice,
    name: name ?? unknown,
    phone: clean(details.phone, 40) ?? unknown,
    factor: detail ? translate(locale, 'notice.factor_detail', { factor: factorName, detail }) : factorName,
    delegate: clean(details.delegate, 254) ?? unknown,
    permission: permission ? label(locale, `sharing.permission.${permission}`, permission) : unknown,
    serial: clean(details.serial, 60) ?? unknown,
    left: count(details.left) ?? unknown,
    count: count(details.count) ?? unknown,
  };
  const title = translate(locale, `notice.${kind}.title`, params);
  // A subject is a header: nothing in it may end the line.
  const subject = translate(locale, 'notice.subject', { service, title }).replace(/[\r\n]+/g, ' ');
  const byAdmin = ONLY_BY_ADMIN.has(kind) || details.byAdmin === true;
  const lines = [
    translate(locale, kind === 'factors.reset' && !byAdmin ? 'notice.factors.reset.text_pass' : `notice.${kind}.text`, params),
    '',
    translate(locale, 'notice.account', params),
    translate(locale, 'notice.time', params),
    byAdmin ? translate(locale, 'notice.by_admin') : translate(locale, 'notice.from', { ...params, device: originDevice }),
    '',
    translate(locale, kind === 'user.disabled' ? 'notice.advice_disabled' : byAdmin ? 'notice.advice_admin' : 'notice.advice'),
  ];
  const url = securityUrl(opts.publicUrl);
  if (url && kind !== 'user.disabled') lines.push(translate(locale, 'notice.review', { url }));
  lines.push('', '-- ', translate(locale, 'notice.footer', { service }));
  return { subject, text: lines.join('\n') + '\n' };
}

/** securityUrl is the security settings page under PUBLIC_URL. */
function securityUrl(publicUrl: string | undefined): string | undefined {
  if (!publicUrl) return undefined;
  try {
    const url = new URL(publicUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    let base = url.pathname;
    while (base.endsWith('/')) base = base.slice(0, -1);
    url.pathname = `${base}/settings/security`;
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return undefined;
  }
}
