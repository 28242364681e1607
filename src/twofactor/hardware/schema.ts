import { z } from 'zod';

/** bindForm: the token to bind and the code it shows. */
export const bindForm = z.object({
  // As printed on the token; spaces are dropped when it is looked up. Anything longer is no serial number.
  serial: z.string().max(100),
  // The six digits the token shows; spaces allowed, the match reads them. Anything longer is no code.
  code: z.string().max(20),
});

/** idParams: the token to remove. */
export const idParams = z.object({ id: z.uuid() });
