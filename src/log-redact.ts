// drizzle wraps every database failure as "Failed query: <sql>\nparams: <values>",
// and the values are session ids, hashes, addresses: nothing a log should keep.
const PARAMS = /\nparams:[\s\S]*$/;
// PostgreSQL quotes the offending value at the end of some messages:
// invalid input syntax for type uuid: "…", invalid input value for enum …: "…".
// Cut from the first ': "' by hand: a pattern like /: "[\s\S]*"$/ would rescan
// the rest of the message from every ': "' in it, minutes on a long crafted value.
function withoutQuotedValue(message: string): string {
  const at = message.indexOf(': "');
  return at >= 0 && message.length > at + 3 && message.endsWith('"') ? `${message.slice(0, at)}: "…"` : message;
}
const MAX_SQL = 500;

interface QueryFailure {
  query: string;
}

function isQueryFailure(e: unknown): e is Error & QueryFailure {
  return e instanceof Error && typeof (e as Partial<QueryFailure>).query === 'string' && e.message.startsWith('Failed query:');
}

/** causesOf lists an error and the causes under it, outermost first. */
function causesOf(err: unknown): unknown[] {
  const chain: unknown[] = [err];
  let e = err;
  while (e instanceof Error && e.cause !== undefined && chain.length < 10) {
    e = e.cause;
    chain.push(e);
  }
  return chain;
}

function describeOne(e: unknown, isRoot: boolean): string {
  if (!(e instanceof Error)) return String(e).replace(PARAMS, '');
  let message = e.message.replace(PARAMS, '');
  if (isRoot) message = withoutQuotedValue(message);
  // TypeError, AggregateError… say something; pg names its errors "error".
  const label = e.name && e.name !== 'Error' && e.name !== 'error' ? `${e.name}: ` : '';
  const text = message ? `${label}${message}` : '';
  const code = (e as { code?: unknown }).code;
  if (code === undefined || code === null || code === '') return text || e.name;
  return text ? `${text} (${String(code)})` : String(code);
}

/**
 * describeError says what went wrong for the log: the messages down to the
 * root cause with its code, and for a failed query its SQL text, but never
 * the query's parameters, nor a value PostgreSQL quotes back, nor fields like
 * `detail` that repeat them ("Key (sid)=(…) already exists").
 */
export function describeError(err: unknown): string {
  const chain = causesOf(err);
  const query = chain.find(isQueryFailure)?.query;
  const parts = chain.map((e, i) => (isQueryFailure(e) ? '' : describeOne(e, i === chain.length - 1))).filter(Boolean);
  const text = parts.join(': ') || 'failed query';
  if (query === undefined) return text;
  const sql = query.length > MAX_SQL ? `${query.slice(0, MAX_SQL)}…` : query;
  return `${text} [query: ${sql}]`;
}

/** stackFrames keeps the "at …" lines of an error's stack: where it happened, without its message. */
export function stackFrames(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.stack) return undefined;
  const frames = err.stack.split('\n').filter((l) => /^\s+at /.test(l));
  return frames.length ? frames.map((l) => l.trim()).join('\n') : undefined;
}
