import { canonicalZone, serverTimeZone } from '../dates.ts';
import type { PreferenceRepo } from './repo.ts';

/** Preferences are a reader's mail choices, with the defaults filled in. */
export interface Preferences {
  /** The IANA zone dates are shown in: the browser's as it reported it, else the server's. */
  timeZone: string;
  /** Whether the browser has reported a zone yet (the page asks it to when not, or when it changed). */
  zoneReported: boolean;
  /** Desktop: the list on the left, the open message on the right. */
  readingPane: boolean;
  /** Group the list by conversation (References / In-Reply-To, as the server threads them). */
  conversations: boolean;
}

/** MailPreferences reads and changes a reader's mail preferences. */
export class MailPreferences {
  constructor(private readonly repo: PreferenceRepo) {}

  /** load gives a user's preferences, defaults included; a zone that stopped being valid falls back to the server's. */
  async load(userId: string): Promise<Preferences> {
    const row = await this.repo.load(userId);
    const zone = canonicalZone(row?.timeZone);
    return { timeZone: zone ?? serverTimeZone(), zoneReported: !!zone, readingPane: row?.readingPane ?? false, conversations: row?.conversations ?? false };
  }

  /**
   * setTimeZone stores the zone the browser reported, in Intl's spelling;
   * false (and nothing stored) when it is no zone Intl knows. Writes only
   * when it changed.
   */
  async setTimeZone(userId: string, reported: string): Promise<boolean> {
    const zone = canonicalZone(reported);
    if (!zone) return false;
    const row = await this.repo.load(userId);
    if (row?.timeZone !== zone) await this.repo.update(userId, { timeZone: zone });
    return true;
  }

  /** setConversations turns grouping by conversation on or off. */
  async setConversations(userId: string, on: boolean): Promise<void> {
    await this.repo.update(userId, { conversations: on });
  }

  /** setReadingPane turns the reading pane on or off. */
  async setReadingPane(userId: string, on: boolean): Promise<void> {
    await this.repo.update(userId, { readingPane: on });
  }
}
