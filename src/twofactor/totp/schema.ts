import { z } from 'zod';

/** DEFAULT_NAME is what an authenticator is called when its owner gives it no name. */
export const DEFAULT_NAME = 'Authenticator';

/** addForm: the code from the app just set up, and what to call it. */
export const addForm = z.object({
  // A name to tell several phones apart ("iPhone", "Work phone"); blank or missing means DEFAULT_NAME.
  name: z
    .string()
    .trim()
    .max(40)
    .optional()
    .transform((v) => v || DEFAULT_NAME),
  // The six digits the app shows; spaces allowed, matchTotp reads them. Anything longer is no code.
  code: z.string().max(20),
});

/** idParams: the authenticator to remove. */
export const idParams = z.object({ id: z.uuid() });
