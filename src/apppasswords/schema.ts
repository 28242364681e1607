import { z } from 'zod';

/** createForm: a new client-specific password. */
export const createForm = z.object({
  // A name to recognise it by, e.g. "iPhone" or "Foxmail at the office".
  name: z.string().trim().min(1).max(60),
  // Checkboxes: which protocols it may open. Both are ticked by default.
  imap: z.literal('on').optional(),
  smtp: z.literal('on').optional(),
  // Days until it stops working; "never" or empty for no expiry.
  expires: z.enum(['never', '30', '90', '365']).default('never'),
});

/** profileForm: download the Apple profile for a password just shown. */
export const profileForm = z.object({
  id: z.uuid(),
  password: z.string().min(16).max(40),
});

export const idParams = z.object({ id: z.uuid() });
