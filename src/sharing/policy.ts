/**
 * The permission levels of a shared mailbox (seed 003 §四) and what each
 * may do. This table is the one place the rules live; every mailbox request
 * is checked against it on the server.
 */
export const PERMISSIONS = ['read', 'send_on_behalf', 'send_as'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** A user's standing in a mailbox: its owner, or a delegate at one permission. */
export type Level = 'owner' | Permission;

export type Action = 'view' | 'flag' | 'delete' | 'move' | 'send';

const ALLOWED: Record<Action, readonly Level[]> = {
  view: ['owner', 'read', 'send_on_behalf', 'send_as'],
  flag: ['owner', 'send_as'],
  delete: ['owner', 'send_as'],
  move: ['owner', 'send_as'],
  send: ['owner', 'send_on_behalf', 'send_as'],
};

/** allows tells whether a level may take an action. */
export function allows(level: Level, action: Action): boolean {
  return ALLOWED[action].includes(level);
}

/** isPermission narrows form input to a permission level. */
export function isPermission(v: unknown): v is Permission {
  return typeof v === 'string' && (PERMISSIONS as readonly string[]).includes(v);
}

/**
 * marksRead tells whether opening a message sets \Seen: only for the owner.
 * A delegate's view never changes the owner's unread mail, whatever the
 * level; a send-as delegate may still mark it read or unread on purpose
 * (the 'flag' action).
 */
export function marksRead(level: Level): boolean {
  return level === 'owner';
}
