import type { Config } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../log.ts';
import type { AuditLog } from '../audit/log.ts';
import type { UserRepo } from '../users/repo.ts';
import { GrantRepo } from '../sharing/repo.ts';
import { Sharing } from '../sharing/service.ts';
import { grantNotice } from '../sharing/notice.ts';
import { ImapPool } from './imap.ts';
import { imapTls } from './backend-tls.ts';
import { Relay } from './smtp.ts';
import { Webmail } from './service.ts';
import { PreferenceRepo } from './prefs/repo.ts';
import { MailPreferences } from './prefs/service.ts';
import { ContactRepo } from './contacts/repo.ts';
import { Contacts } from './contacts/service.ts';
import { SignatureRepo } from './signatures/repo.ts';
import { Signatures } from './signatures/service.ts';
import { Composer } from './compose/service.ts';

/** WebmailServices are the mail side of Postern, built once at start and closed on shutdown. */
export interface WebmailServices {
  imap: ImapPool;
  relay: Relay;
  sharing: Sharing;
  webmail: Webmail;
  /** A reader's mail preferences: time zone, reading pane. */
  prefs: MailPreferences;
  /** Recipient suggestions: Postern's users and the addresses each user wrote to. */
  contacts: Contacts;
  /** Signatures per user and mailbox they send from. */
  signatures: Signatures;
  /** Writing a message: start, save to Drafts, reopen, send. */
  composer: Composer;
  /** close logs out every pooled IMAP session and closes the SMTP transport. */
  close(): Promise<void>;
}

/** createWebmail wires the IMAP pool (master user), the SMTP relay and the sharing rules. */
export function createWebmail(config: Config, log: Logger, db: Db, users: UserRepo, audit: AuditLog): WebmailServices {
  const imap = new ImapPool(
    { host: config.IMAP_HOST, port: config.IMAP_PORT, tls: imapTls(config), masterUser: config.MAIL_MASTER_USER, masterPassword: config.MAIL_MASTER_PASSWORD },
    log,
  );
  const relay = new Relay(config);
  let webmail: Webmail | undefined;
  const settingsUrl = `${(config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/$/, '')}/settings/sharing`;
  const sharing = new Sharing({
    grants: new GrantRepo(db),
    users,
    audit,
    log,
    notifyOwner: async (owner, grantee, permission, locale) =>
      webmail!.appendNotice(owner.email, await grantNotice(owner, grantee, permission, locale, config.SERVICE_NAME, settingsUrl)),
  });
  webmail = new Webmail(imap, relay, sharing, log);
  const contacts = new Contacts(new ContactRepo(db));
  const signatures = new Signatures(new SignatureRepo(db), sharing);
  return {
    imap,
    relay,
    sharing,
    webmail,
    prefs: new MailPreferences(new PreferenceRepo(db)),
    contacts,
    signatures,
    composer: new Composer(webmail, contacts, signatures, log),
    async close() {
      relay.close();
      await imap.close();
    },
  };
}
