import { z } from 'zod';

/** contactsQuery: what was typed in a recipient field (GET /mail/contacts?q=…). */
export const contactsQuery = z.object({
  // The entry being typed, 1–100 characters; % and _ are matched as themselves.
  q: z.string().trim().min(1).max(100),
});
