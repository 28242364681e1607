import { timingSafeEqual } from 'node:crypto';
import { HOTP, Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

// What every authenticator app understands without asking: RFC 6238's defaults.
const ALGORITHM = 'SHA1';
const DIGITS = 6;
const SECRET_BYTES = 20;

export const TOTP_PERIOD = 30;
const WINDOW = 1;

/** newTotpSecret returns a fresh 160-bit secret as base32 (no padding, upper case). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/**
 * otpauthUri builds the otpauth://totp/<issuer>:<account>?… link an
 * authenticator app reads from a QR code. Colons are dropped from both names:
 * apps split the label at the first one, so "Mail: Staff" would show up as
 * the account " Staff:ana@…".
 */
export function otpauthUri(opts: { issuer: string; account: string; secret: string }): string {
  return new TOTP({
    issuer: opts.issuer.replace(/:/g, ''),
    label: opts.account.replace(/:/g, ''),
    secret: Secret.fromBase32(opts.secret),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: TOTP_PERIOD,
  }).toString();
}

/** keyGroups splits a base32 key into groups of four for typing by hand: "ABCD EFGH …". */
export function keyGroups(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(' ');
}

/** totpCode computes the code for a time (for tests and the hardware-token import later). */
export function totpCode(secret: string, at: Date, period = TOTP_PERIOD): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, period, timestamp: at.getTime() });
}

/**
 * matchTotp checks a typed code against the secret: accepts the current step
 * or `window` steps either side, never a step <= lastStep (replay). Returns
 * the matched step (unix seconds / period, an integer) or null.
 *
 * Spaces inside the code are ignored; anything else that is not exactly six
 * digits is refused before any work. Every candidate step is computed and
 * compared in constant time, without stopping at the first match, so the
 * time taken does not tell which step matched.
 */
export function matchTotp(opts: {
  secret: string;
  code: string;
  lastStep: number | null;
  now?: Date;
  period?: number;
  window?: number;
}): number | null {
  const { secret, lastStep, now = new Date(), period = TOTP_PERIOD, window = WINDOW } = opts;
  if (!Number.isInteger(period) || period <= 0) throw new RangeError(`TOTP period must be a positive integer, not ${period}`);
  if (!Number.isInteger(window) || window < 0) throw new RangeError(`TOTP window must be a non-negative integer, not ${window}`);
  const code = typedCode(opts.code);
  if (code === null) return null;

  const key = Secret.fromBase32(secret);
  const typed = Buffer.from(code, 'latin1');
  const current = Math.floor(now.getTime() / 1000 / period);
  let matched: number | null = null;
  // Earliest first: if two steps ever gave the same code, the later one stays usable.
  for (let step = current - window; step <= current + window; step++) {
    const expected = Buffer.from(HOTP.generate({ secret: key, algorithm: ALGORITHM, digits: DIGITS, counter: step }), 'latin1');
    const same = timingSafeEqual(typed, expected);
    if (same && matched === null && (lastStep === null || step > lastStep)) matched = step;
  }
  return matched;
}

/** typedCode drops the spaces people type or paste inside a code, and returns null unless six ASCII digits remain. */
function typedCode(input: string): string | null {
  // Longer than any spacing of six digits a person would type: refused without looking further.
  if (typeof input !== 'string' || input.length > 32) return null;
  const code = input.replace(/\s/g, '');
  return /^[0-9]{6}$/.test(code) ? code : null;
}

/** qrSvg renders a QR code for text as an SVG string, drawn here: the secret never goes to a remote service. */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
