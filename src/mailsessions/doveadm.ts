import type { Logger } from '../log.ts';

/** Kick names the IMAP/submission sessions to end: a user's, or only those from some addresses. */
export interface Kick {
  user: string;
  /** Client addresses; absent: every session of the user. */
  ips?: string[];
}

/**
 * Doveadm talks to Dovecot's doveadm HTTP API (`doveadm_api_key`, an
 * `inet_listener http` of `service doveadm`). Dovecot itself ends the
 * sessions: `kick <user> [<ip>]` finds them in anvil and signals their
 * processes, and clients get BYE or a closed socket.
 */
export class Doveadm {
  private readonly endpoint: string;
  private readonly auth: string;

  constructor(
    url: string,
    apiKey: string,
    private readonly log: Logger,
    private readonly timeoutMs = 3000,
  ) {
    this.endpoint = new URL('/doveadm/v1', url).toString();
    this.auth = `X-Dovecot-API ${Buffer.from(apiKey).toString('base64')}`;
  }

  /**
   * kick ends the sessions named, in one request. It says whether Dovecot
   * took every command; "nobody matched" (exit code 68) counts as done.
   */
  async kick(k: Kick): Promise<boolean> {
    const masks = k.ips?.length ? k.ips.map((ip) => [k.user, ip]) : [[k.user]];
    const body = masks.map((mask, i) => ['kick', { mask, force: true }, `k${i}`]);
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { Authorization: this.auth, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) throw new Error(`doveadm answered HTTP ${res.status}`);
      const answers = (await res.json()) as unknown[];
      const failed = answers.filter((a) => Array.isArray(a) && a[0] === 'error' && !isNoMatch(a[1]));
      if (failed.length) throw new Error(`doveadm kick failed: ${JSON.stringify(failed).slice(0, 200)}`);
      return true;
    } catch (err) {
      this.log.warn('could not end mail sessions through doveadm', { user: k.user, error: (err as Error)?.message });
      return false;
    }
  }
}

// sysexits EX_NOUSER: no session matched the mask.
function isNoMatch(detail: unknown): boolean {
  return typeof detail === 'object' && detail !== null && (detail as { exitCode?: number }).exitCode === 68;
}
