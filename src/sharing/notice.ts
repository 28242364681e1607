import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { translate, type Locale } from '../i18n/index.ts';
import type { User } from '../users/repo.ts';
import type { Permission } from './policy.ts';

/**
 * grantNotice is the short message put in an owner's inbox when their
 * mailbox is shared, in the owner's language: if someone else shared it
 * (a stolen session), the owner reads about it where they read mail.
 */
export async function grantNotice(owner: User, grantee: User, permission: Permission, locale: Locale, service: string, settingsUrl: string): Promise<Buffer> {
  const t = (key: string, params: Record<string, string> = {}) => translate(locale, key, params);
  const domain = owner.email.split('@')[1] ?? 'localhost';
  const level = t(`sharing.permission.${permission}`);
  const text = [
    t('sharing.notice.body', { delegate: grantee.email, permission: level, mailbox: owner.email }),
    '',
    t('sharing.notice.manage', { url: settingsUrl }),
    '',
    `— ${service}`,
  ].join('\n');
  return new MailComposer({
    from: { name: service, address: `postmaster@${domain}` },
    to: { name: owner.displayName, address: owner.email },
    subject: t('sharing.notice.subject', { delegate: grantee.email }),
    text,
    date: new Date(),
  })
    .compile()
    .build();
}
