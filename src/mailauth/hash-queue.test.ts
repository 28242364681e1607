import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HashQueue, type Ticket } from './hash-queue.ts';

describe('HashQueue', () => {
  test('admits logins while the expected wait stays within the budget, then turns the next away at once', () => {
    // 50 ms per verification, 2 at a time, 1 s budget: 40 fit ((40 × 50) / 2 = 1000 ms).
    const q = new HashQueue(1000, 2, 50);
    const tickets: Ticket[] = [];
    for (;;) {
      const r = q.enter(0);
      if (!r.ok) {
        assert.ok(r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= 30, String(r.retryAfterSeconds));
        break;
      }
      tickets.push(r.ticket);
    }
    assert.equal(tickets.length, 40);
    assert.equal(q.waiting, 40);
    // Once the work ahead drains, logins are admitted again.
    for (const t of tickets.splice(0, 20)) q.leave(t, false);
    assert.equal(q.enter(0).ok, true);
  });

  test('the first login is always admitted, however slow the machine looked', () => {
    const q = new HashQueue(100, 1, 5000);
    assert.equal(q.enter(0).ok, true);
    assert.equal(q.enter(0).ok, false);
  });

  test('the wait it asks for grows with the queue and never exceeds 30 s', () => {
    const q = new HashQueue(1000, 2, 50);
    while (q.enter(0).ok);
    const short = q.enter(0);
    const big = new HashQueue(100_000, 1, 1000);
    while (big.enter(0).ok);
    const long = big.enter(0);
    assert.ok(!short.ok && !long.ok);
    assert.ok(short.retryAfterSeconds <= 3, String(short.retryAfterSeconds));
    assert.equal(long.retryAfterSeconds, 30);
  });

  test('learns the time of one verification, sharing out the time spent waiting behind others', () => {
    const q = new HashQueue(3000, 2, 50);
    // Ten logins arrive together; each finishes in turn, 100 ms of work per pair.
    const tickets = Array.from({ length: 10 }, () => {
      const r = q.enter(0);
      assert.ok(r.ok);
      return r.ticket;
    });
    tickets.forEach((t, i) => q.leave(t, true, Math.ceil((i + 1) / 2) * 100));
    // Each verification took 100 ms; the estimate moves from 50 towards it, not towards the 500 ms the last one waited.
    assert.ok(q.averageMs > 60 && q.averageMs < 140, String(q.averageMs));
  });

  test('logins answered without a hash do not move the estimate', () => {
    const q = new HashQueue(3000, 2, 50);
    const r = q.enter(0);
    assert.ok(r.ok);
    q.leave(r.ticket, false, 10_000);
    assert.equal(q.averageMs, 50);
  });
});
