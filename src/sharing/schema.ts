import { z } from 'zod';
import { PERMISSIONS } from './policy.ts';

/** grantForm: share my mailbox with another Postern user. */
export const grantForm = z.object({
  // The other user's address, as they sign in with it; control characters (NUL) never belong in one.
  email: z
    .string()
    .trim()
    .toLowerCase()
    .min(3)
    .max(254)
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v)),
  // read | send_on_behalf | send_as
  permission: z.enum(PERMISSIONS),
});

/** changeForm: a new permission for an existing grant. */
export const changeForm = z.object({ permission: z.enum(PERMISSIONS) });

export const grantParams = z.object({ id: z.uuid() });
