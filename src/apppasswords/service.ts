import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import argon2 from 'argon2';
import type { AuditLog, Origin } from '../audit/log.ts';
import { ARGON2_OPTIONS } from '../auth/password.ts';
import type { User } from '../users/repo.ts';
import type { MailClient } from '../mailauth/imap-id.ts';
import type { AppPassword, AppPasswordRepo, Scope } from './repo.ts';
import { generateSecret, looksLikeAppPassword, normalizeSecret, selectorOf } from './secret.ts';

export const MAX_PER_USER = 20;
const LAST_USED_EVERY_MS = 60_000;
/** How long a client's proven password spares it the hash when it reconnects from the same address. */
export const VERIFIER_TTL_MS = 24 * 3600_000;
/** How long after a password's last use an IMAP ID from the same user and address is credited to it (see noteClientFrom). */
export const CLIENT_MATCH_MS = 5 * 60_000;
/** A use is written in the background: an ID that finds none yet looks again once, this much later. */
const CLIENT_RETRY_MS = 1000;

export class AppPasswordError extends Error {
  constructor(readonly key: 'apppasswords.limit' | 'apppasswords.name_required' | 'apppasswords.scope_required') {
    super(key);
  }
}

export interface NewAppPassword {
  name: string;
  scopes: Scope[];
  expiresAt?: Date;
}

/**
 * AppPasswords creates, lists, checks and revokes client-specific passwords.
 * A secret exists in clear only in the answer to create(); afterwards only its
 * argon2id hash and selector remain.
 */
export class AppPasswords {
  private readonly lastNoted = new Map<string, { at: number; ip: string; protocol: string; client?: string }>();

  /**
   * `verifierKey` keys the stored verifiers (see remember); without one,
   * every login that misses the memory cache is hashed.
   */
  constructor(
    private readonly repo: AppPasswordRepo,
    private readonly audit: AuditLog,
    private readonly verifierKey?: Buffer,
  ) {}

  async create(user: User, input: NewAppPassword, origin: Origin): Promise<{ secret: string; row: AppPassword }> {
    const name = input.name.trim();
    if (!name) throw new AppPasswordError('apppasswords.name_required');
    if (!input.scopes.length) throw new AppPasswordError('apppasswords.scope_required');
    if ((await this.repo.count(user.id)) >= MAX_PER_USER) throw new AppPasswordError('apppasswords.limit');
    let secret = generateSecret();
    // A selector clash within one user would hide a password from lookup; draw again.
    while (await this.repo.loadBySelector(user.id, selectorOf(secret))) secret = generateSecret();
    const row = await this.repo.save({
      userId: user.id,
      name: name.slice(0, 60),
      selector: selectorOf(secret),
      hash: await argon2.hash(secret, ARGON2_OPTIONS),
      scopes: [...new Set(input.scopes)].sort(),
      expiresAt: input.expiresAt ?? null,
    });
    await this.audit.record({
      event: 'apppassword.created',
      userId: user.id,
      account: user.email,
      origin,
      details: { name: row.name, scopes: row.scopes, expires: row.expiresAt?.toISOString() ?? null },
    });
    return { secret, row };
  }

  /**
   * find returns the user's client-specific password matching `secret`, at the
   * cost of one argon2 verification at most, or undefined.
   */
  async find(userId: string, secret: string): Promise<AppPassword | undefined> {
    const normalized = normalizeSecret(secret);
    if (!looksLikeAppPassword(normalized)) return undefined;
    const row = await this.repo.loadBySelector(userId, selectorOf(normalized));
    if (!row) return undefined;
    return (await argon2.verify(row.hash, normalized).catch(() => false)) ? row : undefined;
  }

  /**
   * noteUse records when, from where and over which protocol a password was
   * last used, and the mail app when the login named it: in the background,
   * and at most once a minute for the same address, protocol and app.
   */
  noteUse(id: string, ip: string, protocol: string, client?: MailClient, now = new Date()): void {
    const last = this.lastNoted.get(id);
    const named = client && `${client.name}\0${client.version ?? ''}`;
    const same = last && last.ip === ip && last.protocol === protocol && (!named || named === last.client);
    if (same && now.getTime() - last.at < LAST_USED_EVERY_MS) return;
    if (this.lastNoted.size > 10_000) this.lastNoted.clear();
    this.lastNoted.set(id, { at: now.getTime(), ip, protocol, client: named ?? last?.client });
    this.repo.updateLastUsed(id, now, ip, protocol, client).catch(() => this.lastNoted.delete(id));
  }

  /**
   * noteClientFrom credits the mail app an IMAP session named with ID to the
   * client-specific password its user last used from the session's address,
   * within the last five minutes, and says whether it found one.
   *
   * Behind the nginx proxy that is the only link there is: nginx logs in to
   * Dovecot with the master user once Postern admitted the client, so the
   * session Dovecot reports (user, client address from the PROXY header,
   * the ID) carries no trace of the password. Postern, though, noted moments
   * earlier which password admitted that user from that address (noteUse),
   * and clients send ID right after logging in.
   *
   * What it cannot tell apart: two passwords of one user used from one
   * address within the window (two apps on one computer, or devices behind
   * one NAT): the name goes to the one used last, which may be the other's.
   * A session opened with the main password, or by the webmail from
   * Postern's own address, is credited to a password used from the same
   * address meanwhile. And a client calls itself what it likes: the name is
   * a hint for the owner, never a proof.
   */
  async noteClientFrom(account: string, ip: string, client: MailClient, now = new Date()): Promise<boolean> {
    const since = new Date(now.getTime() - CLIENT_MATCH_MS);
    let row = await this.repo.loadLastUsedFrom(account, ip, since);
    if (!row) {
      // The login's use may still be on its way to the database.
      await sleep(CLIENT_RETRY_MS);
      row = await this.repo.loadLastUsedFrom(account, ip, since);
    }
    if (!row) return false;
    if (row.clientName !== client.name || row.clientVersion !== client.version) await this.repo.updateClient(row.id, client);
    return true;
  }

  /**
   * recall finds the password a client proved lately from the same address
   * (see remember), with one indexed query and no hash. The row and its
   * owner are read afresh, so a revoked password (its verifiers go with it)
   * or a disabled owner is never recalled.
   */
  async recall(account: string, secret: string, ip: string, now = new Date()): Promise<{ row: AppPassword; user: User } | undefined> {
    const key = this.verifierOf(account, secret, ip);
    return key ? this.repo.loadByVerifier(key, now) : undefined;
  }

  /**
   * remember stores a verifier for a password that was just verified with
   * its hash: an HMAC of account, password and client address under a key
   * the database does not hold. It lets any node admit the same client again
   * without the hash for a day, e.g. when hundreds reconnect after a restart.
   * It is written before the login is answered, so the client's next
   * connection finds it on whichever node it reaches; a failed write only
   * costs that connection a hash.
   */
  async remember(account: string, secret: string, ip: string, appPasswordId: string, now = new Date()): Promise<void> {
    const key = this.verifierOf(account, secret, ip);
    if (!key) return;
    await this.repo.saveVerifier(key, appPasswordId, new Date(now.getTime() + VERIFIER_TTL_MS)).catch(() => {});
  }

  private verifierOf(account: string, secret: string, ip: string): string | undefined {
    const normalized = normalizeSecret(secret);
    if (!this.verifierKey || !looksLikeAppPassword(normalized) || ip === 'unknown') return undefined;
    return createHmac('sha256', this.verifierKey).update(`${account}\0${normalized}\0${ip}`).digest('base64url');
  }

  list(userId: string) {
    return this.repo.list(userId);
  }

  loadWithUser(id: string) {
    return this.repo.loadWithUser(id);
  }

  async revoke(user: User, id: string, origin?: Origin): Promise<AppPassword | undefined> {
    const row = await this.repo.delete(user.id, id);
    if (row) await this.audit.record({ event: 'apppassword.revoked', userId: user.id, account: user.email, origin, details: { name: row.name, credential: row.id } });
    return row;
  }

  async revokeAll(user: User, origin?: Origin, reason = 'user'): Promise<number> {
    const n = await this.repo.deleteAll(user.id);
    if (n) await this.audit.record({ event: 'apppassword.revoked_all', userId: user.id, account: user.email, origin, details: { count: n, reason } });
    return n;
  }
}
