import { z } from 'zod';

const uid = z.coerce.number().int().positive().max(2 ** 32 - 1);
// Control characters (NUL, line breaks, DEL) belong in no folder name, address or search, and IMAP cannot carry them.
const plain = (v: string) => !/[\u0000-\u001f\u007f]/.test(v);
// Folder paths come from the server's own LIST; this only bounds what a URL may carry.
const folder = z.string().min(1).max(500).refine(plain);
// A header value of message ids, like <a@b> <c@d>; anything else is dropped.
const messageIds = z
  .string()
  .max(4000)
  .optional()
  .transform((v) => (v && isMessageIdList(v) ? v.trim() : undefined));

/**
 * isMessageIdList tells whether v holds only <id> items, with or without
 * whitespace between them. Checked piece by piece in one pass: a pattern
 * with a repeated group would backtrack exponentially on crafted input and
 * freeze the whole process.
 */
function isMessageIdList(v: string): boolean {
  return v
    .trim()
    .split(/\s+/)
    .every((word) => word.startsWith('<') && word.endsWith('>') && word.slice(1, -1).split('><').every((id) => id !== '' && !id.includes('<') && !id.includes('>')));
}

/** folderParams: a folder in the URL (/mail/folder/:folder). */
export const folderParams = z.object({ folder });

/** messageParams: one message by folder and UID. */
export const messageParams = z.object({ folder, uid });

/**
 * isPartNumber tells whether v is an IMAP body part number (1, 2.1, 3.1.2):
 * dot-separated numbers, checked piece by piece so nothing else (a path, a
 * section name like HEADER) reaches the server.
 */
function isPartNumber(v: string): boolean {
  const pieces = v.split('.');
  return pieces.length <= 10 && pieces.every((p) => /^[1-9][0-9]{0,3}$/.test(p));
}

/** attachmentParams: one file of a message, by its IMAP part number (/attachments/2.1). */
export const attachmentParams = z.object({ folder, uid, part: z.string().max(60).refine(isPartNumber) });

/** ownerParams: the mailbox shared with the reader, by its owner's address (/mail/shared/:owner). */
export const ownerParams = z.object({ owner: z.string().min(3).max(254).refine(plain).refine((v) => v.includes('@')) });

/** listQuery: which page of a folder, and an optional search of sender and subject. */
export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).catch(1).default(1),
  // Plain text only: a line break or NUL cannot go into an IMAP SEARCH.
  q: z.string().trim().max(200).refine(plain).default(''),
});

/** seenForm: mark read (1) or unread (0). */
export const seenForm = z.object({ seen: z.enum(['0', '1']) });

/** moveForm: the folder to move a message to. */
export const moveForm = z.object({ to: folder });

/** composeQuery: reply to, reply to all, or forward a message. */
export const composeQuery = z.object({
  mode: z.enum(['reply', 'all', 'forward']).optional(),
  folder: folder.optional(),
  uid: uid.optional(),
  // A mailto-style recipient to start with.
  to: z.string().refine(plain).optional().transform((v) => v?.slice(0, 300)),
  // A message of the Drafts folder to open and go on writing (only Drafts is looked in).
  draft: uid.optional(),
});

// A hidden field the page always renders, empty until the compose has something to put there.
const blankless = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);

const index = z.string().regex(/^\d{1,4}$/).transform(Number);
const keepList = z
  .union([index, z.array(index).max(50)])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

/** composeForm: a message to send (multipart, with files in `attachments`). */
export const composeForm = z.object({
  // Comma- or semicolon-separated addresses; checked one by one when sending.
  to: z.string().max(4000).default(''),
  cc: z.string().max(4000).default(''),
  bcc: z.string().max(4000).default(''),
  subject: z.string().max(998).default(''),
  body: z.string().max(1_000_000).default(''),
  // The body as markup, from the rich editor (absent without JavaScript or in plain mode); sanitized before use.
  html: z.string().max(1_000_000).optional(),
  // Threading headers of a reply, carried from the original.
  inReplyTo: messageIds,
  references: messageIds,
  // A message whose attachments go out again (forward, or the draft kept after a failed send) ...
  srcFolder: blankless(folder.optional()),
  srcUid: blankless(uid.optional()),
  // ... and which of its attachments (indexes) to keep.
  keep: keepList,
  // The kept draft to remove once the message is sent; honoured only if this session kept it (see drafts.ts).
  draftUid: blankless(uid.optional()),
});

// Characters no folder name may hold: control characters (C0, DEL, C1), the IMAP LIST wildcards * and %,
// and / and \ (a path on many servers, and never needed in a name). One character class: no backtracking.
const FOLDER_NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f*%/\\]/;

/**
 * folderName: a new folder's name as a person types it. Each refusal's
 * message is the catalog key the page shows. The server's own hierarchy
 * delimiter is refused by the service, which knows it; a subfolder is made
 * by choosing its parent, never by typing a path.
 */
export const folderName = z
  .string()
  .trim()
  .min(1, { message: 'mail.folders.name_empty' })
  .max(200, { message: 'mail.folders.name_long' })
  .refine((v) => !FOLDER_NAME_FORBIDDEN.test(v), { message: 'mail.folders.name_chars' })
  .refine((v) => v.toUpperCase() !== 'INBOX', { message: 'mail.folders.name_inbox' })
  .refine((v) => [...v].some((ch) => ch !== '.'), { message: 'mail.folders.name_dots' });

/** createFolderForm: a folder to create, at the top level or inside an existing folder. */
export const createFolderForm = z.object({
  name: folderName,
  // The parent's path as the folder list gave it; empty for the top level.
  parent: z
    .union([z.literal(''), folder])
    .optional()
    .transform((v) => v || undefined),
});

/** renameFolderForm: a folder (by path) and its new name, in the same place. */
export const renameFolderForm = z.object({ folder, name: folderName });

/** folderQuery: the folder a confirmation page is about (/mail/folders/delete?folder=…). */
export const folderQuery = z.object({ folder });

/** folderActionForm: delete or empty a folder; `confirm` is set only by the confirmation page's button. */
export const folderActionForm = z.object({ folder, confirm: z.literal('yes').optional() });
