/** English texts of the mail pages and shared mailboxes. */
export const webmailEn = {} as const;
