import { z } from 'zod';

/**
 * ADDRESS is the plain shape of a mailbox: a local part of the characters
 * RFC 5322 allows unquoted, an "@", and a domain of at least two labels.
 * Quoted local parts, comments and several addresses ("a@x, b@y") do not
 * match, so what is checked is exactly the one mailbox the code goes to.
 * Linear: neither part's class holds the character that ends it.
 */
const ADDRESS = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+$/;

/** addressForm: the recovery address to send a code to. */
export const addressForm = z.object({
  // Compared and stored lower-cased: the same mailbox is one address. 254 is SMTP's limit for a path.
  address: z.string().trim().toLowerCase().max(254, { abort: true }).regex(ADDRESS),
});

/** emailCodeForm: the six-digit code from the email; spaces are ignored. */
export const emailCodeForm = z.object({
  code: z
    .string()
    .max(20)
    .transform((v) => v.replace(/\s+/g, '')),
});
