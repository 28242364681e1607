import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalZone, dateWriter, serverTimeZone } from './dates.ts';

describe('dates in the reader’s time zone', () => {
  const now = new Date('2026-12-03T06:02:00Z'); // 14:02 in Shanghai

  test('today shows the time of day in the reader’s zone, not UTC', () => {
    assert.equal(dateWriter('en', 'Asia/Shanghai', now).short(new Date('2026-12-03T06:02:00Z')), '14:02');
    assert.equal(dateWriter('en', 'UTC', now).short(new Date('2026-12-03T06:02:00Z')), '06:02');
    assert.equal(dateWriter('zh-CN', 'America/New_York', now).short(new Date('2026-12-03T06:02:00Z')), '01:02');
  });

  test('"today" ends at the reader’s midnight: 23:30 UTC is tomorrow in Shanghai', () => {
    const late = new Date('2026-12-02T23:30:00Z'); // 07:30 on 3 December in Shanghai
    assert.equal(dateWriter('en', 'Asia/Shanghai', now).short(late), '07:30');
    assert.equal(dateWriter('en', 'UTC', now).short(late), '2 Dec');
    // Shortly after midnight in Shanghai, a message of 15:00 UTC the day before is yesterday there.
    const justAfterMidnight = new Date('2026-12-02T16:30:00Z'); // 00:30 on 3 Dec in Shanghai
    const evening = new Date('2026-12-02T15:00:00Z'); // 23:00 on 2 Dec in Shanghai
    assert.equal(dateWriter('en', 'Asia/Shanghai', justAfterMidnight).short(evening), '2 Dec');
    assert.equal(dateWriter('en', 'UTC', justAfterMidnight).short(evening), '15:00');
  });

  test('this year shows the day and month in the reader’s language; earlier years the full date', () => {
    const march = new Date('2026-03-09T10:00:00Z');
    assert.equal(dateWriter('en', 'Asia/Shanghai', now).short(march), '9 Mar');
    assert.equal(dateWriter('zh-CN', 'Asia/Shanghai', now).short(march), '3月9日');
    const older = new Date('2025-11-30T10:00:00Z');
    assert.equal(dateWriter('en', 'Asia/Shanghai', now).short(older), '2025-11-30');
    assert.equal(dateWriter('zh-CN', 'Asia/Shanghai', now).short(older), '2025-11-30');
    // New Year's Eve in UTC is already the next year in Shanghai.
    const eve = new Date('2025-12-31T20:00:00Z');
    assert.equal(dateWriter('en', 'Asia/Shanghai', now).short(eve), '1 Jan');
    assert.equal(dateWriter('en', 'UTC', now).short(eve), '2025-12-31');
  });

  test('the full form names the zone', () => {
    const full = dateWriter('en', 'Asia/Shanghai', now).full(now);
    assert.match(full, /3 Dec 2026/);
    assert.match(full, /14:02/);
    assert.match(full, /GMT\+8 \(Asia\/Shanghai\)$/);
    assert.match(dateWriter('zh-CN', 'Asia/Shanghai', now).full(now), /2026年12月3日.*14:02/);
    assert.match(dateWriter('en', 'UTC', now).full(now), /06:02 GMT\+0 \(UTC\)$/);
  });

  test('an invalid date writes nothing rather than "Invalid Date"', () => {
    assert.equal(dateWriter('en', 'UTC', now).short(new Date('nope')), '');
    assert.equal(dateWriter('en', 'UTC', now).full(new Date('nope')), '');
  });

  test('only real IANA zones of bounded length are accepted, in their canonical spelling', () => {
    assert.equal(canonicalZone('Asia/Shanghai'), 'Asia/Shanghai');
    assert.equal(canonicalZone('asia/shanghai'), 'Asia/Shanghai');
    assert.equal(canonicalZone('UTC'), 'UTC');
    for (const bad of ['Mars/Olympus_Mons', '', ' Asia/Shanghai', '+08:00', 'Asia/Shanghai\n', 'A'.repeat(65), '../../etc/passwd', 42, null, undefined]) {
      assert.equal(canonicalZone(bad), undefined, String(bad));
    }
    assert.equal(dateWriter('en', 'Mars/Olympus_Mons', now).short(now), '06:02');
  });

  test('the server’s zone comes from TZ when it is valid', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Europe/Paris';
      assert.equal(serverTimeZone(), 'Europe/Paris');
      process.env.TZ = 'Nowhere/Land';
      assert.ok(canonicalZone(serverTimeZone()));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
