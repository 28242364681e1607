import type { ImapFlow } from 'imapflow';
import { summary, type Summary } from './summary.ts';

/** A thread as the list shows it: its newest message stands for it, with how many it holds. */
export interface Conversation {
  newest: number;
  uids: number[];
}

/** Most threads read from one answer: a folder larger than this lists its newest ones. */
const MAX_MESSAGES = 200_000;

interface Token {
  type?: string;
  value?: unknown;
}

/**
 * parseThreads reads the attributes of an untagged THREAD answer (RFC 5256):
 * one parenthesized list per thread, branches as nested lists. Only the
 * membership matters here, so each thread is flattened to its UIDs.
 * Anything that is not a number is skipped; a malformed answer gives fewer
 * threads, never a failure.
 */
export function parseThreads(attributes: unknown): number[][] {
  if (!Array.isArray(attributes)) return [];
  const threads: number[][] = [];
  let budget = MAX_MESSAGES;
  const walk = (node: unknown, into: number[], depth: number) => {
    if (budget <= 0 || depth > 64) return;
    if (Array.isArray(node)) {
      for (const child of node) walk(child, into, depth + 1);
      return;
    }
    const value = (node as Token | null)?.value;
    const n = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (Number.isSafeInteger(n) && n > 0) {
      into.push(n);
      budget -= 1;
    }
  };
  for (const top of attributes) {
    const uids: number[] = [];
    walk(top, uids, 0);
    if (uids.length) threads.push(uids);
  }
  return threads;
}

/**
 * conversations orders threads by their newest message (the highest UID:
 * UIDs grow as mail arrives), newest first, the way a list sorted by
 * arrival reads.
 */
export function conversations(threads: number[][]): Conversation[] {
  return threads
    .map((uids) => ({ newest: Math.max(...uids), uids: [...uids].sort((a, b) => b - a) }))
    .sort((a, b) => b.newest - a.newest);
}

/** offersThreads tells whether the server can group a folder by References (Dovecot does). */
export function offersThreads(c: ImapFlow): boolean {
  return !!c.capabilities?.has('THREAD=REFERENCES');
}

/**
 * threadsOf asks the server to group the open folder by References and
 * In-Reply-To (UID THREAD REFERENCES). imapflow has no call for THREAD, so
 * this sends the command through its command queue.
 */
export async function threadsOf(c: ImapFlow): Promise<Conversation[]> {
  const answers: unknown[] = [];
  const exec = (c as unknown as { exec: (cmd: string, attrs: unknown[], opts: unknown) => Promise<{ next: () => void }> }).exec.bind(c);
  const response = await exec('UID THREAD', [{ type: 'ATOM', value: 'REFERENCES' }, { type: 'ATOM', value: 'UTF-8' }, { type: 'ATOM', value: 'ALL' }], {
    untagged: {
      THREAD: async (untagged: { attributes?: unknown } | undefined) => {
        if (untagged?.attributes) answers.push(untagged.attributes);
      },
    },
  });
  // The connection's queue moves on only once the answer is taken (as imapflow's own commands do).
  response.next();
  return conversations(answers.flatMap((a) => parseThreads(a)));
}

/** MAX_SHOWN bounds the messages a message page lists of its conversation (the newest). */
export const MAX_SHOWN = 50;

/**
 * conversationAround lists the conversation a message of the open folder
 * belongs to, oldest first (at most the MAX_SHOWN newest), or nothing when
 * it stands alone or the server cannot thread.
 */
export async function conversationAround(c: ImapFlow, uid: number): Promise<Summary[]> {
  if (!offersThreads(c)) return [];
  const thread = threadOf(await threadsOf(c), uid);
  if (!thread || thread.uids.length < 2) return [];
  const uids = thread.uids.slice(0, MAX_SHOWN);
  const rows = await c.fetchAll(uids.join(','), { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true }, { uid: true });
  return rows.map(summary).sort((a, b) => a.uid - b.uid);
}

/** threadOf finds the conversation a message belongs to. */
export function threadOf(all: Conversation[], uid: number): Conversation | undefined {
  return all.find((t) => t.uids.includes(uid));
}
