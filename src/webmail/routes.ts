import express from 'express';
import type { Services } from '../services.ts';

/** webmailRoutes serve the mailbox pages: reading, sending and shared mailboxes. */
export function webmailRoutes(_s: Services): express.Router {
  return express.Router();
}
