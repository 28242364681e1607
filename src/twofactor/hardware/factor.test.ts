import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { totpCode } from '../totp/totp.ts';
import { matchToken, MAX_DRIFT_STEPS } from './factor.ts';

const KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
// The start of a 60-second step, so it is also the start of a 30-second one.
const NOW = new Date(Date.UTC(2026, 2, 2, 10, 0, 0));

/** codeAt is the code a token shows `steps` steps from NOW. */
const codeAt = (steps: number, period = 30) => totpCode(KEY, new Date(NOW.getTime() + steps * period * 1000), period);
const stepOf = (period: number) => Math.floor(NOW.getTime() / 1000 / period);

describe('matching a hardware token’s code', () => {
  test('accepts the step expected and one either side, and reports the drift it shows', () => {
    for (const period of [30, 60]) {
      const current = stepOf(period);
      for (const off of [-1, 0, 1]) {
        assert.deepEqual(matchToken({ secret: KEY, code: codeAt(off, period), period, driftSteps: 0, lastStep: null, now: NOW }), { step: current + off, driftSteps: off }, `${period}s, ${off}`);
      }
      for (const off of [-2, 2]) assert.equal(matchToken({ secret: KEY, code: codeAt(off, period), period, driftSteps: 0, lastStep: null, now: NOW }), null, `${period}s, ${off}`);
    }
  });

  test('a 30-second code is no 60-second code', () => {
    assert.equal(matchToken({ secret: KEY, code: codeAt(0, 30), period: 60, driftSteps: 0, lastStep: null, now: new Date(NOW.getTime() + 45_000) }), null);
  });

  test('follows a remembered drift: a token two steps fast works once it was seen one step fast', () => {
    const current = stepOf(30);
    assert.equal(matchToken({ secret: KEY, code: codeAt(2), period: 30, driftSteps: 0, lastStep: null, now: NOW }), null);
    assert.deepEqual(matchToken({ secret: KEY, code: codeAt(2), period: 30, driftSteps: 1, lastStep: null, now: NOW }), { step: current + 2, driftSteps: 2 });
    // And the window moved: the step now behind it is no longer accepted.
    assert.equal(matchToken({ secret: KEY, code: codeAt(-1), period: 30, driftSteps: 1, lastStep: null, now: NOW }), null);
  });

  test('never accepts a step at or before the last one used', () => {
    const current = stepOf(30);
    assert.equal(matchToken({ secret: KEY, code: codeAt(0), period: 30, driftSteps: 0, lastStep: current, now: NOW }), null);
    assert.equal(matchToken({ secret: KEY, code: codeAt(-1), period: 30, driftSteps: 0, lastStep: current - 1, now: NOW }), null);
    assert.deepEqual(matchToken({ secret: KEY, code: codeAt(1), period: 30, driftSteps: 0, lastStep: current, now: NOW })?.step, current + 1);
  });

  test(`does not follow a clock more than ${MAX_DRIFT_STEPS} steps off`, () => {
    const current = stepOf(30);
    assert.deepEqual(matchToken({ secret: KEY, code: codeAt(MAX_DRIFT_STEPS), period: 30, driftSteps: MAX_DRIFT_STEPS, lastStep: null, now: NOW }), { step: current + MAX_DRIFT_STEPS, driftSteps: MAX_DRIFT_STEPS });
    assert.equal(matchToken({ secret: KEY, code: codeAt(MAX_DRIFT_STEPS + 1), period: 30, driftSteps: MAX_DRIFT_STEPS, lastStep: null, now: NOW }), null);
  });

  test('refuses anything but six digits before computing', () => {
    for (const code of ['', '12345', '1234567', 'abcdef', '１２３４５６', '1'.repeat(10_000)]) {
      assert.equal(matchToken({ secret: KEY, code, period: 30, driftSteps: 0, lastStep: null, now: NOW }), null, code.slice(0, 10));
    }
    assert.ok(matchToken({ secret: KEY, code: ` ${codeAt(0).slice(0, 3)} ${codeAt(0).slice(3)} `, period: 30, driftSteps: 0, lastStep: null, now: NOW }));
  });
});
