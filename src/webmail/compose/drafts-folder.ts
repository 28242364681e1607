import type { ImapFlow } from 'imapflow';
import type { ParsedMail } from 'mailparser';
import { DEFAULT_NAMES } from '../folders.ts';
import { addressesOf, formatAddresses, type Draft } from '../compose.ts';
import type { AttachmentInfo } from '../service.ts';
import { sanitizeComposed } from './html.ts';

/**
 * findDrafts names the mailbox's Drafts folder (by its special use, else by
 * the well-known name) without creating one: opening a draft is a read,
 * and a mailbox with no Drafts folder simply has no draft to open.
 */
export async function findDrafts(client: ImapFlow): Promise<string | undefined> {
  const boxes = await client.list();
  const found = boxes.find((b) => b.specialUse === '\\Drafts') ?? boxes.find((b) => b.path.toLowerCase() === DEFAULT_NAMES['\\Drafts'].toLowerCase());
  return found?.path;
}

/** draftAttachments lists a draft's files by their index among the parsed attachments (the index `keep` names). */
export function draftAttachments(parsed: ParsedMail): AttachmentInfo[] {
  return parsed.attachments
    .map((a, index) => ({ index, filename: a.filename || `attachment-${index + 1}`, contentType: a.contentType || 'application/octet-stream', size: a.size ?? a.content.length, related: a.related }))
    .filter((a) => !a.related)
    .map(({ related: _related, ...a }) => a);
}

/** editable writes an address header back as it was typed, entries still without an address ("ali") included. */
function editable(field: ParsedMail['to']): string {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  const parts: string[] = [];
  for (const obj of list) {
    for (const a of obj.value) {
      if (a.group) parts.push(formatAddresses(addressesOf({ value: a.group, html: '', text: '' })));
      else if (a.address) parts.push(formatAddresses([{ name: a.name ?? '', address: a.address }]));
      else if (a.name) parts.push(a.name);
    }
  }
  return parts.filter(Boolean).join(', ');
}

/**
 * draftFromMessage reads a stored draft back into the compose form: the
 * recipients as a person edits them, the subject, the text, the markup
 * (sanitized as anything composed is; the draft may come from another
 * program) and the threading headers.
 */
export function draftFromMessage(parsed: ParsedMail): Draft {
  const ids = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(' ') : (v ?? ''));
  const html = parsed.html ? sanitizeComposed(parsed.html) : '';
  return {
    to: editable(parsed.to),
    cc: editable(parsed.cc),
    bcc: editable(parsed.bcc),
    subject: parsed.subject ?? '',
    body: (parsed.text ?? '').replace(/\r\n/g, '\n').trimEnd(),
    ...(html ? { html } : {}),
    inReplyTo: parsed.inReplyTo ?? '',
    references: ids(parsed.references),
  };
}
