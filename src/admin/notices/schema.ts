import { z } from 'zod';

/** noticeParams: the notice an administrator retries, by its row id (a positive whole number, as typed in the URL). */
export const noticeParams = z.object({
  // ReDoS: a fixed prefix and one bounded digit class.
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/)
    .transform(Number),
});
