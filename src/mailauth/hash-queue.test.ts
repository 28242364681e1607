import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HashQueue, type Ticket } from './hash-queue.ts';

/** fill admits logins until the queue turns one away; returns the admitted tickets and that refusal. */
function fill(q: HashQueue): { tickets: Ticket[]; refusal: { retryAfterSeconds: number } } {
  const tickets: Ticket[] = [];
  for (;;) {
    const r = q.enter(0);
    if (!r.ok) return { tickets, refusal: r };
    tickets.push(r.ticket);
  }
}

describe('HashQueue', () => {
  test('admits logins while the expected wait stays within the budget, then turns the next away at once', () => {
    // 50 ms a login, 2 slots, 1 s budget: 40 fit (20 rounds of 2 × 50 ms).
    const q = new HashQueue(1000, 2, 50);
    const { tickets, refusal } = fill(q);
    assert.ok(refusal.retryAfterSeconds >= 1 && refusal.retryAfterSeconds <= 30, String(refusal.retryAfterSeconds));
    assert.equal(tickets.length, 40);
    assert.equal(q.waiting, 40);
    // Once the work ahead drains, logins are admitted again.
    for (const t of tickets.slice(0, 20)) q.leave(t, false);
    assert.equal(q.enter(0).ok, true);
  });

  test('runs only as many at once as it has slots; the rest take their turn in order', async () => {
    const q = new HashQueue(60_000, 2, 50);
    const { tickets } = fill(q);
    const order: number[] = [];
    const turns = tickets.map((t, i) => q.turn(t).then(() => order.push(i)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [0, 1], 'two slots');
    q.leave(tickets[1]!, false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [0, 1, 2]);
    for (const t of tickets) q.leave(t, false);
    await Promise.all(turns.slice(0, 40));
    assert.deepEqual(order.slice(0, 6), [0, 1, 2, 3, 4, 5]);
  });

  test('the first login is always admitted, however slow the machine looked', () => {
    const q = new HashQueue(100, 1, 5000);
    assert.equal(q.enter(0).ok, true);
    assert.equal(q.enter(0).ok, false);
  });

  test('the wait it asks for grows with the queue and never exceeds 30 s', () => {
    const short = fill(new HashQueue(1000, 2, 50)).refusal;
    const long = fill(new HashQueue(100_000, 1, 1000)).refusal;
    assert.ok(short.retryAfterSeconds <= 3, String(short.retryAfterSeconds));
    assert.equal(long.retryAfterSeconds, 30);
  });

  test('learns the time a login holds its slot, not the time it waited in line', async () => {
    const q = new HashQueue(60_000, 2, 50);
    const tickets = Array.from({ length: 10 }, () => {
      const r = q.enter(0);
      assert.ok(r.ok);
      return r.ticket;
    });
    // Each pair runs 100 ms after the one before: the last waited 400 ms in line, but held its slot 100 ms.
    for (let pair = 0; pair < 5; pair++) {
      const [a, b] = [tickets[2 * pair]!, tickets[2 * pair + 1]!];
      a.startedAt = b.startedAt = pair * 100;
      q.leave(a, true, pair * 100 + 100);
      q.leave(b, true, pair * 100 + 100);
    }
    assert.ok(q.averageMs > 85 && q.averageMs <= 100, String(q.averageMs));
  });

  test('logins answered without a hash do not move the estimate', () => {
    const q = new HashQueue(3000, 2, 50);
    const r = q.enter(0);
    assert.ok(r.ok);
    q.leave(r.ticket, false, 10_000);
    assert.equal(q.averageMs, 50);
  });
});
