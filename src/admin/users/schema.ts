import { z } from 'zod';
import { PASS_DEFAULT_MINUTES, PASS_MAX_MINUTES } from '../../auth/access-pass.ts';

/** listQuery: the users page's search and page number. */
export const listQuery = z.object({
  q: z.string().max(100).optional().default(''),
  page: z.coerce.number().int().min(1).max(100_000).optional().default(1),
});

/** userParams: the account an action is about. */
export const userParams = z.object({ id: z.uuid() });

/** createForm: a new account. */
export const createForm = z.object({
  email: z.string().trim().min(3).max(254),
  name: z.string().trim().max(100).optional().default(''),
  admin: z.literal('on').optional(),
});

/** reasonForm: why an administrator acts on an account (a recovery needs one; kept in the audit log). */
export const reasonForm = z.object({
  reason: z.string().trim().min(3).max(500),
});

/** passForm: a temporary access pass, its lifetime in minutes (default an hour, at most a day). */
export const passForm = reasonForm.extend({
  minutes: z.coerce.number().int().min(5).max(PASS_MAX_MINUTES).optional().default(PASS_DEFAULT_MINUTES),
});

/** The actions on one account the console offers; each posts to /admin/users/:id/<action>. */
export const USER_ACTIONS = ['disable', 'enable', 'reset-password', 'end-sessions', 'revoke-trusted', 'revoke-app-passwords', 'access-pass', 'revoke-pass', 'remove-factors'] as const;
export type UserAction = (typeof USER_ACTIONS)[number];
