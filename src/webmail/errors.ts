import { BackendError } from './imap.ts';

export type MailboxErrorKind = 'not_found' | 'forbidden' | 'bad_request';

/**
 * MailboxError is a refusal a reader can act on: a folder or message that
 * is not there, an action their permission does not allow, or input the
 * mail server will not take. `key` names the catalog message they see;
 * `detail` (the server's own words, say) goes only to the log.
 */
export class MailboxError extends Error {
  constructor(
    readonly kind: MailboxErrorKind,
    readonly key: string,
    readonly detail?: string,
  ) {
    super(detail ? `${key}: ${detail}` : key);
  }
}

export const noSuchFolder = (detail?: string) => new MailboxError('not_found', 'mail.no_such_folder', detail);
export const noSuchMessage = () => new MailboxError('not_found', 'mail.no_such_message');
export const notAllowed = (action: string) => new MailboxError('forbidden', `mail.forbidden.${action}`);
export const unusable = (detail?: string) => new MailboxError('bad_request', 'error.bad_request', detail);

// imapflow's codes for a value it cannot put into a command at all (a NUL, a line break).
const UNSENDABLE = new Set(['InvalidStringValue', 'InvalidTokenValue', 'InvalidTextValue', 'InvalidSequenceSet', 'InvalidSearchQuery']);
// A connection that is gone, never came, or stopped answering.
const LOST = /^(E[A-Z]+|NoConnection|EConnectionClosed|StateLogout|ClosedAfterConnect\w*|CONNECT_TIMEOUT|GREETING_TIMEOUT|UPGRADE_TIMEOUT|ETIMEOUT|LockTimeout)$/;

interface ImapFailure {
  code?: string;
  message?: string;
  responseStatus?: string;
  responseText?: string;
  serverResponseCode?: string;
}

/**
 * imapFailure turns what imapflow threw into what it means for the reader:
 * a lost or refused connection is the backend being unavailable (503), a
 * value imapflow could not send or a command the server called BAD is bad
 * input (400); refusals already classified pass through, and anything else
 * stays what it was, a fault.
 */
export function imapFailure(err: unknown): unknown {
  if (err instanceof MailboxError || err instanceof BackendError || !err || typeof err !== 'object') return err;
  const e = err as ImapFailure;
  if (e.code && UNSENDABLE.has(e.code)) return unusable(e.message);
  if (e.responseStatus === 'BAD') return unusable(e.responseText);
  if ((e.code && LOST.test(e.code)) || /connection (not available|closed)|socket|timed? ?out/i.test(e.message ?? '')) return new BackendError('unavailable', err);
  return err;
}

/** folderRefusal reads a failed SELECT/EXAMINE: the server says NO to a folder that is not there or not a folder. */
export function folderRefusal(err: unknown): unknown {
  const e = err as ImapFailure | undefined;
  if (e?.responseStatus === 'NO' || e?.serverResponseCode === 'NONEXISTENT') return noSuchFolder(e.responseText);
  return imapFailure(err);
}
