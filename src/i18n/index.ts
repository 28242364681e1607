import { en as core } from './en.ts';
import { zhCN as coreZh } from './zh-CN.ts';
import { webmailEn } from './webmail.en.ts';
import { webmailZhCN } from './webmail.zh-CN.ts';
import { totpEn } from './totp.en.ts';
import { totpZhCN } from './totp.zh-CN.ts';
import { emailEn } from './email.en.ts';
import { emailZhCN } from './email.zh-CN.ts';
import { factorsEn } from './factors.en.ts';
import { factorsZhCN } from './factors.zh-CN.ts';
import { adminEn } from './admin.en.ts';
import { adminZhCN } from './admin.zh-CN.ts';
import { hardwareEn } from './hardware.en.ts';
import { hardwareZhCN } from './hardware.zh-CN.ts';
import { noticesEn } from './notices.en.ts';
import { noticesZhCN } from './notices.zh-CN.ts';
import { reportsEn } from './reports.en.ts';
import { reportsZhCN } from './reports.zh-CN.ts';
import { webauthnEn } from './webauthn.en.ts';
import { webauthnZhCN } from './webauthn.zh-CN.ts';

const en = { ...core, ...webmailEn, ...factorsEn, ...totpEn, ...emailEn, ...adminEn, ...noticesEn, ...hardwareEn, ...reportsEn, ...webauthnEn };
const zhCN: Record<keyof typeof en, string> = { ...coreZh, ...webmailZhCN, ...factorsZhCN, ...totpZhCN, ...emailZhCN, ...adminZhCN, ...noticesZhCN, ...hardwareZhCN, ...reportsZhCN, ...webauthnZhCN };

/** catalog is one locale's whole catalog (for the catalog tests). */
export function catalog(locale: 'en' | 'zh-CN'): Record<string, string> {
  return locale === 'en' ? en : zhCN;
}

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export type MessageKey = keyof typeof en;
export type Params = Record<string, string | number>;

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

/** isLocale narrows a string to a supported locale. */
export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (LOCALES as readonly string[]).includes(v);
}

const pluralRules: Record<Locale, Intl.PluralRules> = { en: new Intl.PluralRules('en'), 'zh-CN': new Intl.PluralRules('zh-CN') };

/**
 * translate looks a key up in a locale's catalog and fills {name} placeholders.
 * A numeric `count` picks the plural form the language uses for it: `key.one`
 * or `key.other` (Chinese has only `other`), falling back to `key` itself.
 */
export function translate(locale: Locale, key: string, params: Params = {}): string {
  const own = catalogs[locale] as Record<string, string>;
  const fallback = catalogs.en as Record<string, string>;
  const form = typeof params.count === 'number' ? `${key}.${pluralRules[locale].select(params.count)}` : undefined;
  const text = (form && (own[form] ?? own[`${key}.other`])) ?? own[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** negotiate picks zh-CN for any Chinese preference in Accept-Language, English otherwise. */
export function negotiate(acceptLanguage: string | undefined): Locale {
  if (!acceptLanguage) return 'en';
  const ranked = acceptLanguage
    .split(',')
    .map((part) => {
      const [tag, q] = part.trim().split(';q=');
      return { tag: (tag ?? '').toLowerCase(), q: q ? Number(q) : 1 };
    })
    .filter((x) => x.tag && !Number.isNaN(x.q))
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    if (tag.startsWith('zh')) return 'zh-CN';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

export function catalogKeys(locale: Locale): string[] {
  return Object.keys(catalogs[locale]).sort();
}
