import type { Figure } from './harness.ts';

/** Target is one figure the issue-free state of Postern promises, and how to read it from a run. */
interface Target {
  what: string;
  target: string;
  /** The figure, or undefined when this run did not measure it. */
  value(find: (bench: string, metric: string) => number | undefined): number | undefined;
  met(value: number): boolean;
  unit: string;
}

const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? undefined : a / b);

const TARGETS: Target[] = [
  {
    what: 'password sign-ins ÷ argon2 verifies',
    target: '≥ 0.9',
    value: (f) => ratio(f('password sign-in', 'throughput'), f('argon2id verify', 'throughput')),
    met: (v) => v >= 0.9,
    unit: '×',
  },
  {
    what: 'first mail logins ÷ argon2 verifies',
    target: '≥ 0.9',
    value: (f) => ratio(f('mail check, first login', 'throughput'), f('argon2id verify', 'throughput')),
    met: (v) => v >= 0.9,
    unit: '×',
  },
  { what: 'repeat mail logins', target: '≥ 5,000/s', value: (f) => f('mail check, repeat login', 'throughput'), met: (v) => v >= 5000, unit: 'req/s' },
  { what: 'repeat mail logins p99, 50 connections', target: '≤ 10 ms', value: (f) => f('mail check, repeat login', 'latency p99'), met: (v) => v <= 10, unit: 'ms' },
  {
    what: 'IMAP logins via nginx + Postern ÷ direct Dovecot',
    target: '≥ 0.9',
    value: (f) => f('IMAP login', 'proxied ÷ direct'),
    met: (v) => v >= 0.9,
    unit: '×',
  },
  { what: 'Postern RSS under login load', target: '≤ 150 MB', value: (f) => f('Postern processes', 'RSS peak under login load'), met: (v) => v <= 150, unit: 'MB' },
  { what: 'reconnect storm: dropped without a reply', target: '0', value: (f) => f('reconnect storm', 'dropped without a reply'), met: (v) => v === 0, unit: '' },
  {
    what: 'reconnect storm: every client in',
    target: '≤ 60 s',
    value: (f) => {
      const out = f('reconnect storm', 'left out');
      // Clients left out never got in: the target is missed however soon the others did.
      return out === undefined ? undefined : out === 0 ? f('reconnect storm', 'all in after') : Infinity;
    }, met: (v) => v <= 60, unit: 's' },
  { what: 'INBOX page ÷ raw imapflow fetch', target: '≤ 1.5×', value: (f) => f('webmail', 'inbox page ÷ raw 50 envelopes'), met: (v) => v <= 1.5, unit: '×' },
  { what: 'open 1 MB message ÷ raw fetch of its parts', target: '≤ 2×', value: (f) => f('webmail', 'open 1 MB message ÷ raw shown parts'), met: (v) => v <= 2, unit: '×' },
  { what: 'Postern RSS, 50 users paging', target: '< 200 MB', value: (f) => f('webmail', 'Postern process RSS peak, 50 users paging'), met: (v) => v < 200, unit: 'MB' },
];

/**
 * targets turns a run's figures into one row per promised figure: its
 * value, the target and whether it is met, so a reader sees the state at a
 * glance. A figure this run did not measure says so.
 */
export function targets(figures: Figure[]): Figure[] {
  const find = (bench: string, metric: string) => {
    const v = figures.find((f) => f.bench === bench && f.metric === metric)?.value;
    return v === undefined || Number.isNaN(v) ? undefined : v;
  };
  return TARGETS.map((t) => {
    const v = t.value(find);
    const state = v === undefined ? 'not measured' : t.met(v) ? 'met' : 'NOT MET';
    return { bench: t.what, metric: `target ${t.target}`, value: v ?? Number.NaN, unit: t.unit, note: state };
  });
}
