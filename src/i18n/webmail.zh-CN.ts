import type { webmailEn } from './webmail.en.ts';

/** 邮件页面与共享邮箱的中文文本。 */
export const webmailZhCN: Record<keyof typeof webmailEn, string> = {};
