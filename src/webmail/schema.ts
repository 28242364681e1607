import { z } from 'zod';

const uid = z.coerce.number().int().positive().max(2 ** 32 - 1);
// Folder paths come from the server's own LIST; this only bounds what a URL may carry.
const folder = z.string().min(1).max(500);
// A header value of message ids, like <a@b> <c@d>; anything else is dropped.
const messageIds = z
  .string()
  .max(4000)
  .optional()
  .transform((v) => (v && /^(\s*<[^<>\s]+>\s*)+$/.test(v) ? v.trim() : undefined));

/** folderParams: a folder in the URL (/mail/folder/:folder). */
export const folderParams = z.object({ folder });

/** messageParams: one message by folder and UID. */
export const messageParams = z.object({ folder, uid });

/** attachmentParams: one file of a message, by its index among the message's attachments. */
export const attachmentParams = z.object({ folder, uid, index: z.coerce.number().int().min(0).max(1000) });

/** listQuery: which page of a folder, and an optional search of sender and subject. */
export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).catch(1).default(1),
  q: z.string().trim().max(200).catch('').default(''),
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
});

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
  // Threading headers of a reply, carried from the original.
  inReplyTo: messageIds,
  references: messageIds,
  // A message whose attachments go out again (forward, or the draft kept after a failed send) ...
  srcFolder: folder.optional(),
  srcUid: uid.optional(),
  // ... and which of its attachments (indexes) to keep.
  keep: keepList,
  // The kept draft to remove once the message is sent.
  draftUid: uid.optional(),
});
