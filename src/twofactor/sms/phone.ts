import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

/**
 * normalizePhone turns what a user typed into E.164, or null when it is not a
 * valid mobile-capable number. Numbers without a country code are read in the
 * default region.
 */
export function normalizePhone(input: string, defaultRegion: string, allowedCountries: string[] = []): string | null {
  const trimmed = input.trim();
  if (trimmed.length === 0 || trimmed.length > 32) return null;
  const parsed = parsePhoneNumberFromString(trimmed, defaultRegion as CountryCode);
  if (!parsed || !parsed.isValid()) return null;
  const type = parsed.getType();
  if (type && !['MOBILE', 'FIXED_LINE_OR_MOBILE'].includes(type)) return null;
  if (allowedCountries.length && (!parsed.country || !allowedCountries.includes(parsed.country))) return null;
  return parsed.number;
}

/** maskPhone shows enough of a number to recognise it: +86 138****5678. */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164.slice(0, 3) + '****' + e164.slice(-4);
  const national = parsed.nationalNumber;
  return `+${parsed.countryCallingCode} ${national.slice(0, 3)}****${national.slice(-4)}`;
}
