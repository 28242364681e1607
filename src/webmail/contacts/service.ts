import type { User } from '../../users/repo.ts';
import type { ContactRepo, Suggestion } from './repo.ts';

/** At most this many suggestions answer one keystroke. */
export const SUGGESTIONS = 10;
/** A user's own address book keeps this many addresses, the most recently used. */
export const CONTACTS_KEPT = 2000;

/**
 * Contacts suggests recipients while a person types: the addresses they
 * wrote to before (most used first), then Postern's own users. Each user's
 * list is theirs alone; nobody sees whom another user writes to.
 */
export class Contacts {
  constructor(private readonly repo: ContactRepo) {}

  /** suggest answers what `user` typed with up to SUGGESTIONS people, each address once. */
  async suggest(user: User, typed: string): Promise<Suggestion[]> {
    const [own, directory] = await Promise.all([this.repo.load(user.id, typed, SUGGESTIONS), this.repo.loadUsers(typed, SUGGESTIONS)]);
    const seen = new Set<string>();
    const out: Suggestion[] = [];
    for (const p of [...own, ...directory]) {
      const key = p.address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ name: p.name, address: p.address });
      if (out.length === SUGGESTIONS) break;
    }
    return out;
  }

  /** record notes the people a message of `user` just went to. */
  async record(user: User, people: Suggestion[]): Promise<void> {
    const byAddress = new Map<string, Suggestion>();
    for (const p of people) byAddress.set(p.address.toLowerCase(), { name: p.name.slice(0, 200), address: p.address.toLowerCase().slice(0, 254) });
    await this.repo.save(user.id, [...byAddress.values()], CONTACTS_KEPT);
  }
}
