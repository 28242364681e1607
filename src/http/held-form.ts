import type { Request } from 'express';

/** A form posted before a step-up, offered again once the user has verified. */
export interface HeldForm {
  /** Where it was posted. */
  action: string;
  /** The page the user returns to after verifying. */
  page: string;
  fields: Array<[string, string]>;
  at: number;
}

/** Fields never kept in the session store: the CSRF token (a new one is issued) and anything holding a password. */
const DROPPED = /^_csrf$|password|confirm/i;
const MAX_FIELDS = 20;
const MAX_BYTES = 4096;
const HELD_MS = 15 * 60_000;

/**
 * holdForm keeps a small urlencoded form (its string fields, at most 4 KB)
 * in the session while its poster verifies. Passwords are never kept: those
 * pages ask for the step-up before showing the form.
 */
export function holdForm(req: Request, page: string): void {
  const body = req.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || !req.is('application/x-www-form-urlencoded')) return;
  const fields: Array<[string, string]> = [];
  let bytes = 0;
  for (const [name, value] of Object.entries(body)) {
    if (DROPPED.test(name) || typeof value !== 'string') continue;
    bytes += name.length + value.length;
    if (fields.length >= MAX_FIELDS || bytes > MAX_BYTES) return;
    fields.push([name, value]);
  }
  req.session.held = { action: req.path, page, fields, at: Date.now() };
}

/** takeHeld returns the held form for `page` (and forgets it), if one is waiting and recent. */
export function takeHeld(req: Request, page: string): HeldForm | undefined {
  const held = req.session.held;
  if (!held) return undefined;
  delete req.session.held;
  return held.page === page && Date.now() - held.at < HELD_MS ? held : undefined;
}

/** heldFor tells, without taking it, whether a form waits for `page`. */
export function heldFor(req: Request, page: string): boolean {
  const held = req.session.held;
  return !!held && held.page === page && Date.now() - held.at < HELD_MS;
}

declare module 'express-session' {
  interface SessionData {
    held?: HeldForm;
  }
}
