import { z } from 'zod';
import { TOKEN_STATUSES } from '../../twofactor/hardware/repo.ts';

/** listQuery: the inventory's filters and page; a value that does not fit is ignored rather than refused. */
export const listQuery = z.object({
  // One of the four statuses; anything else lists every token.
  status: z.enum(TOKEN_STATUSES).optional().catch(undefined),
  // A piece of a serial number or of an owner's address.
  q: z.string().trim().max(100).optional().default('').catch(''),
  page: z.coerce.number().int().min(1).max(100_000).optional().default(1).catch(1),
});

/** tokenParams: the token an action is about. */
export const tokenParams = z.object({ id: z.uuid() });

/** revokeForm: why the token is withdrawn (kept in the audit log). */
export const revokeForm = z.object({
  reason: z.string().trim().min(1).max(500),
});
