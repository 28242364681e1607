/**
 * Dates on the mail pages, always in the reader's own time zone: the list
 * shows the shortest useful form (a time today, a day this year, a full
 * date before), and the full date-time with its zone goes into tooltips
 * and the message header. Never bare UTC.
 */

/** MAX_ZONE_LENGTH bounds a stored zone name; the longest IANA names are about 30 characters. */
export const MAX_ZONE_LENGTH = 64;

// The characters of IANA zone names (Area/Location, Etc/GMT+8, UTC); one class, so no backtracking.
const ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/**
 * canonicalZone returns the IANA name Intl knows `v` by (Asia/Shanghai for
 * asia/shanghai), or undefined when it is no time zone Intl knows.
 */
export function canonicalZone(v: unknown): string | undefined {
  if (typeof v !== 'string' || !v || v.length > MAX_ZONE_LENGTH || !ZONE_SHAPE.test(v)) return undefined;
  // Building a formatter costs more than the rest of a list page's dates: the answer is kept per name.
  const known = zones.get(v);
  if (known !== undefined) return known || undefined;
  let zone = '';
  try {
    zone = new Intl.DateTimeFormat('en', { timeZone: v }).resolvedOptions().timeZone;
  } catch {
    // Not a zone: remembered as such.
  }
  if (zones.size >= MAX_CACHED) zones.clear();
  zones.set(v, zone);
  return zone || undefined;
}

// Zone names (as given) to their canonical name, '' for none; formatters per language and zone.
// Both are bounded: a stray flood of names empties them rather than growing them.
const MAX_CACHED = 1000;
const zones = new Map<string, string>();
const formatters = new Map<string, Formatters>();

interface Formatters {
  day: Intl.DateTimeFormat;
  time: Intl.DateTimeFormat;
  monthDay: Intl.DateTimeFormat;
  full: Intl.DateTimeFormat;
}

function formattersFor(lang: 'zh-CN' | 'en-GB', zone: string): Formatters {
  const key = `${lang} ${zone}`;
  let f = formatters.get(key);
  if (!f) {
    f = {
      day: new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }),
      time: new Intl.DateTimeFormat(lang, { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
      monthDay: new Intl.DateTimeFormat(lang, { timeZone: zone, month: lang === 'zh-CN' ? 'long' : 'short', day: 'numeric' }),
      full: new Intl.DateTimeFormat(lang, {
        timeZone: zone,
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'shortOffset',
      }),
    };
    if (formatters.size >= MAX_CACHED) formatters.clear();
    formatters.set(key, f);
  }
  return f;
}

let serverZone: { tz: string | undefined; zone: string } | undefined;

/** serverTimeZone is the zone for readers whose browser has not reported one: TZ, else the system's, else UTC. */
export function serverTimeZone(): string {
  const tz = process.env.TZ;
  if (serverZone?.tz !== tz || !serverZone) {
    serverZone = { tz, zone: canonicalZone(tz) ?? canonicalZone(Intl.DateTimeFormat().resolvedOptions().timeZone) ?? 'UTC' };
  }
  return serverZone.zone;
}

/** DateWriter writes dates for one reader: their language and time zone, "today" as of one moment. */
export interface DateWriter {
  /** short: "14:02" today, "3 Dec" / "12月3日" this year, "2025-11-30" before. */
  short(d: Date): string;
  /** full: weekday, date, time and zone, e.g. "Thu, 3 Dec 2026, 14:02 GMT+8 (Asia/Shanghai)". */
  full(d: Date): string;
}

/**
 * dateWriter makes the date formats of one page. `now` decides what counts
 * as today and this year, by the calendar of the reader's zone, not UTC's.
 */
export function dateWriter(locale: string, timeZone: string, now: Date = new Date()): DateWriter {
  const zone = canonicalZone(timeZone) ?? 'UTC';
  const lang = locale === 'zh-CN' ? 'zh-CN' : 'en-GB';
  const { day, time, monthDay, full } = formattersFor(lang, zone);
  // en-CA writes the calendar day as YYYY-MM-DD.
  const today = day.format(now);
  return {
    short(d) {
      if (!valid(d)) return '';
      const ymd = day.format(d);
      if (ymd === today) return time.format(d);
      if (ymd.slice(0, 4) === today.slice(0, 4)) return monthDay.format(d);
      return ymd;
    },
    full(d) {
      if (!valid(d)) return '';
      return `${full.format(d)} (${zone})`;
    },
  };
}

function valid(d: Date): boolean {
  return d instanceof Date && !Number.isNaN(d.getTime());
}
