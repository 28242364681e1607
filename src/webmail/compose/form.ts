import type { Request } from 'express';
import type { z } from 'zod';
import type { Draft, OutgoingAttachment } from '../compose.ts';
import type { AttachmentSource } from '../service.ts';
import type { composeForm } from '../schema.ts';
import { sanitizeComposed } from './html.ts';

type ComposeForm = z.infer<typeof composeForm>;

/**
 * draftOf reads the compose form into a draft. Markup from the editor is
 * sanitized at once: it is shown again in the editor when the form comes
 * back, and only the allow-list may ever reach a page, a recipient or Drafts.
 */
export function draftOf(f: ComposeForm): Draft {
  const html = f.html ? sanitizeComposed(f.html) : '';
  return { to: f.to, cc: f.cc, bcc: f.bcc, subject: f.subject, body: f.body, ...(html ? { html } : {}), inReplyTo: f.inReplyTo, references: f.references };
}

/** uploadsOf lists the files the form brought (written to temp files by the upload middleware). */
export function uploadsOf(req: Request): OutgoingAttachment[] {
  const files = ((req.files as Express.Multer.File[] | undefined) ?? []).filter((file) => file.size > 0 || file.originalname);
  return files.map((file) => ({ filename: file.originalname || 'attachment', contentType: file.mimetype || 'application/octet-stream', content: { path: file.path }, size: file.size }));
}

/** sourceOf names the earlier message whose files the form keeps, if any. */
export function sourceOf(f: ComposeForm): AttachmentSource | undefined {
  return f.srcFolder && f.srcUid ? { folder: f.srcFolder, uid: f.srcUid, keep: f.keep } : undefined;
}
