import { z } from 'zod';

/** phoneForm: the number to bind, as the user typed it. */
export const phoneForm = z.object({
  phone: z.string().max(40),
});

/** codeOnlyForm: a six-digit code; spaces are ignored. */
export const codeOnlyForm = z.object({
  code: z.string().max(20).transform((v) => v.replace(/\s+/g, '')),
});

/** stepUpForm: a code, or the password for users without a second factor. */
export const stepUpForm = z.object({
  code: z.string().max(20).optional(),
  password: z.string().max(1024).optional(),
  next: z.string().max(300).optional(),
});

/** deviceParams: the device to cancel trust for. */
export const deviceParams = z.object({
  id: z.uuid(),
});
