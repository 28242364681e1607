import { z } from 'zod';
import { FACTOR_KINDS } from '../twofactor/factor.ts';

/** loginForm: the password step. */
export const loginForm = z.object({
  // The mailbox address; compared case-insensitively.
  email: z.string().trim().min(1).max(254),
  // The main password; long inputs are refused rather than hashed.
  password: z.string().min(1).max(1024),
  // Where to go after signing in; only local paths are honoured.
  next: z.string().max(300).optional(),
});

/** codeForm: the second step at login. */
export const codeForm = z.object({
  // Six digits; spaces are ignored.
  code: z.string().max(20).transform((v) => v.replace(/\s+/g, '')),
  // "Trust this device" checkbox.
  trust: z.literal('on').optional(),
});

/** passwordChangeForm: a new main password, typed twice. */
export const passwordChangeForm = z.object({
  password: z.string().max(1024),
  confirm: z.string().max(1024),
  // "Keep my other sessions signed in" checkbox; unticked, every other session ends.
  keepOthers: z.literal('on').optional(),
});

/** methodForm: "use another way" at the second step, or on the verify page. */
export const methodForm = z.object({
  // One of the user's factor kinds.
  factor: z.enum(FACTOR_KINDS),
});

/** passForm: an administrator's temporary access pass at the second step. */
export const passForm = z.object({
  code: z.string().min(1).max(64),
});
