// Network failures and PostgreSQL's connection-exception (08…) and
// shutdown (57P0…) states, plus what pg and PGlite say when their
// connection is gone: the database is away, the request itself is fine.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const SQLSTATE_OUTAGE = /^(08|57P0[1-3]$|53300$)/;
const GONE = /PGlite is closed|Connection terminated|not queryable|timeout exceeded when trying to connect/;

/**
 * databaseOutage tells whether an error means the database cannot be
 * reached right now, and if so says why in a few words for the log; it
 * returns undefined for every other failure.
 */
export function databaseOutage(err: unknown): string | undefined {
  let e = err;
  for (let depth = 0; depth < 10 && e; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE_OUTAGE.test(code))) return `${e.message || code} (${code})`;
      if (GONE.test(e.message)) return e.message.replace(/\n?params:[\s\S]*$/, '');
      for (const inner of (e as { errors?: unknown[] }).errors ?? []) {
        const found = databaseOutage(inner);
        if (found) return found;
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
