import { z } from 'zod';
import { FACTOR_KINDS } from './factor.ts';

/** phoneForm: the number to bind, as the user typed it. */
export const phoneForm = z.object({
  phone: z.string().max(40),
});

/** codeOnlyForm: a six-digit code; spaces are ignored. */
export const codeOnlyForm = z.object({
  code: z.string().max(20).transform((v) => v.replace(/\s+/g, '')),
});

/** stepUpForm: a code from the chosen factor, or the password where that is enough. */
export const stepUpForm = z.object({
  // The factor the code is from; absent: the password.
  factor: z.enum(FACTOR_KINDS).optional(),
  code: z.string().max(20).optional(),
  password: z.string().max(1024).optional(),
  // Where to return to; only local paths are honoured.
  next: z.string().max(300).optional(),
  need: z.enum(['factors', 'sensitive']).optional(),
});

/** verifyQuery: the verify page's address, naming where to return and what the action needs. */
export const verifyQuery = z.object({
  next: z.string().max(300).optional(),
  need: z.enum(['factors', 'sensitive']).optional(),
  factor: z.enum(FACTOR_KINDS).optional(),
});

/** protectionForm: the two scope switches (unticked boxes are not sent). */
export const protectionForm = z.object({
  login: z.literal('on').optional(),
  operation: z.literal('on').optional(),
});

/** preferredForm: the factor to ask for first at sign-in. */
export const preferredForm = z.object({
  factor: z.enum(FACTOR_KINDS),
});

/** deviceParams: the device to cancel trust for. */
export const deviceParams = z.object({
  id: z.uuid(),
});
