import { isIP } from 'node:net';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AppPasswords } from '../apppasswords/service.ts';
import { mailClientOf } from './imap-id.ts';

/** Longest event body taken (Dovecot's JSON for one ID command is under 1 KB; the front reads 8 KB at most too). */
export const EVENT_BODY_MAX = 8 * 1024;

/**
 * dovecotEvent is what Postern reads of an event Dovecot's event exporter
 * posts (format = json, exporter_include = name fields), as
 * deploy/dovecot/conf.d/15-postern-client-id.conf sets it up for IMAP ID.
 * Other fields are ignored.
 */
const dovecotEvent = z.object({
  // The event's name: imap_command_finished.
  event: z.string().max(100),
  fields: z.object({
    // The command: ID (the metric's filter sends no other, but the endpoint does not rely on it).
    cmd_name: z.string().max(100),
    // The logged-in user: the canonical address Postern answered the login with.
    user: z.string().max(320),
    // The client's address; behind nginx with `haproxy = yes`, the client's own.
    remote_ip: z.string().max(64),
    // The command's argument as sent (literals re-quoted as strings).
    cmd_args: z.string().max(EVENT_BODY_MAX).optional(),
    // The same with non-ASCII bytes as "?": read only when cmd_args is missing.
    cmd_human_args: z.string().max(EVENT_BODY_MAX).optional(),
    // OK when the command succeeded.
    tagged_reply_state: z.string().max(20).optional(),
  }),
});

/**
 * dovecotEventAnswer takes one event Dovecot posted and answers its HTTP
 * status: 400 when the body is not such an event, 503 when the database
 * failed, else 204, whether the event named a client that was recorded,
 * named none, or matched no password. Recording is best-effort and never
 * touches a login: the event comes after it, from Dovecot's stats process.
 */
export async function dovecotEventAnswer(appPasswords: Pick<AppPasswords, 'noteClientFrom'>, body: string): Promise<number> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 400;
  }
  const parsed = dovecotEvent.safeParse(json);
  if (!parsed.success) return 400;
  const { event, fields: f } = parsed.data;
  if (event !== 'imap_command_finished' || f.cmd_name.toUpperCase() !== 'ID') return 204;
  if (f.tagged_reply_state !== undefined && f.tagged_reply_state !== 'OK') return 204;
  const client = mailClientOf(f.cmd_args ?? f.cmd_human_args ?? '');
  if (!client || !isIP(f.remote_ip) || !f.user.trim()) return 204;
  try {
    await appPasswords.noteClientFrom(f.user, f.remote_ip, client);
  } catch {
    return 503;
  }
  return 204;
}

/** dovecotEventsHandler answers Dovecot's event exporter (the body arrives as text, at most EVENT_BODY_MAX). */
export function dovecotEventsHandler(appPasswords: Pick<AppPasswords, 'noteClientFrom'>) {
  return async (req: Request, res: Response) => {
    const status = await dovecotEventAnswer(appPasswords, typeof req.body === 'string' ? req.body : '');
    res.status(status).end();
  };
}
