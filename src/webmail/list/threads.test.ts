import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { conversations, parseThreads, threadOf } from './threads.ts';

const atom = (v: string) => ({ type: 'ATOM', value: v });

describe('parseThreads', () => {
  test('flattens each thread, branches included', () => {
    // * THREAD (2)(3 6 (4 23)(44 7 96))
    const attrs = [[atom('2')], [atom('3'), atom('6'), [atom('4'), atom('23')], [atom('44'), atom('7'), atom('96')]]];
    assert.deepEqual(parseThreads(attrs), [[2], [3, 6, 4, 23, 44, 7, 96]]);
  });

  test('skips what is not a UID and never throws on a malformed answer', () => {
    assert.deepEqual(parseThreads([[atom('x'), atom('-1'), atom('0'), atom('5')], [], [{}], [null]]), [[5]]);
    assert.deepEqual(parseThreads(undefined), []);
    assert.deepEqual(parseThreads('(1 2)'), []);
    assert.deepEqual(parseThreads([[atom('1'.repeat(40))]]), []);
  });

  test('a deeply nested answer is cut off rather than recursed without end', () => {
    let deep: unknown = [atom('9')];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.deepEqual(parseThreads([[atom('1'), deep]]), [[1]]);
  });
});

describe('conversations', () => {
  test('orders threads by their newest message, newest first, with their messages newest first', () => {
    const c = conversations([[1, 3, 4], [2, 5], [6]]);
    assert.deepEqual(
      c.map((t) => [t.newest, t.uids]),
      [
        [6, [6]],
        [5, [5, 2]],
        [4, [4, 3, 1]],
      ],
    );
    assert.deepEqual(threadOf(c, 3)?.uids, [4, 3, 1]);
    assert.equal(threadOf(c, 99), undefined);
  });
});
