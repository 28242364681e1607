import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BACKUP_ALPHABET, BACKUP_CODE_COUNT, hashBackupCode, looksLikeBackupCode, newBackupCodes, normalizeBackupCode } from './codes.ts';

const SHAPE = /^[a-kmnp-z2-9]{4}-[a-kmnp-z2-9]{4}-[a-kmnp-z2-9]{4}-[a-kmnp-z2-9]$/;

describe('backup codes', () => {
  test('come ten at a time, formatted xxxx-xxxx-xxxx-x from the alphabet, all different', () => {
    assert.equal(BACKUP_CODE_COUNT, 10);
    for (let round = 0; round < 50; round++) {
      const codes = newBackupCodes();
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const code of codes) assert.match(code, SHAPE);
    }
  });

  test('use 32 characters without look-alikes, so each carries 5 bits and a code at least 64', () => {
    assert.equal(BACKUP_ALPHABET.length, 32);
    assert.equal(new Set(BACKUP_ALPHABET).size, 32);
    for (const ch of '01lo') assert.ok(!BACKUP_ALPHABET.includes(ch), `no look-alike ${ch}`);
    assert.equal(BACKUP_ALPHABET, BACKUP_ALPHABET.toLowerCase());
    const length = normalizeBackupCode(newBackupCodes()[0]!)!.length;
    assert.equal(length, 13);
    assert.ok(length * Math.log2(BACKUP_ALPHABET.length) >= 64);
  });

  test('draw every character of the alphabet about equally often, in every position', () => {
    const counts = new Map<string, number>();
    const byPosition = Array.from({ length: 13 }, () => new Set<string>());
    for (let i = 0; i < 200; i++) {
      for (const code of newBackupCodes()) {
        [...normalizeBackupCode(code)!].forEach((ch, pos) => {
          counts.set(ch, (counts.get(ch) ?? 0) + 1);
          byPosition[pos]!.add(ch);
        });
      }
    }
    // 26,000 draws: about 812 each, with a standard deviation near 28; these bounds are over 8 of them away.
    assert.equal(counts.size, 32);
    for (const [ch, n] of counts) assert.ok(n > 580 && n < 1050, `${ch} drawn ${n} times`);
    for (const seen of byPosition) assert.equal(seen.size, 32);
    // Never anything else.
    assert.deepEqual([...counts.keys()].filter((ch) => !BACKUP_ALPHABET.includes(ch)), []);
  });
});

describe('normalizeBackupCode', () => {
  test('drops dashes and spaces and lower-cases what was typed', () => {
    const expected = 'abcd2345wxyzk';
    for (const typed of ['abcd-2345-wxyz-k', 'ABCD-2345-WXYZ-K', 'abcd 2345 wxyz k', '  AbCd2345WxYzK  ', 'abcd--2345 - wxyz-k', 'abcd\t2345\u00a0wxyz\u2013k', 'abcd2345wxyzk']) {
      assert.equal(normalizeBackupCode(typed), expected, JSON.stringify(typed));
    }
  });

  test('accepts every code it made', () => {
    for (const code of newBackupCodes()) assert.equal(normalizeBackupCode(code), code.replace(/-/g, ''));
  });

  test('accepts exactly the alphabet, in either case, and nothing else of the first 592 code points', () => {
    for (let c = 0; c < 0x250; c++) {
      const ch = String.fromCharCode(c);
      if (ch === ' ' || ch === '\t' || ch === '-' || ch === '\u00a0') continue;
      const ok = normalizeBackupCode(`abcd-2345-wxyz-${ch}`) !== null;
      const expected = BACKUP_ALPHABET.includes(ch) || (ch >= 'A' && ch <= 'Z' && BACKUP_ALPHABET.includes(ch.toLowerCase()));
      assert.equal(ok, expected, `U+${c.toString(16)} ${ch}`);
    }
  });

  test('refuses look-alike characters, whatever their case', () => {
    for (const ch of ['0', '1', 'l', 'o', 'L', 'O']) assert.equal(normalizeBackupCode(`abcd-2345-wxyz-${ch}`), null, ch);
  });

  test('refuses other characters, including ones that lower-case into the alphabet', () => {
    for (const typed of ['abcd_2345_wxyz_k', 'abcd.2345.wxyz.k', 'abcd-2345-wxyz-\u212a', 'abcd-2345-wxyz-ｋ', 'abcd-2345-wxyz-k\u0000', 'abcd-2345-wxyz-é', 'abcd-2345-wxyz-😀']) {
      assert.equal(normalizeBackupCode(typed), null, JSON.stringify(typed));
    }
  });

  test('refuses a wrong length', () => {
    for (const typed of ['', 'abcd-2345-wxyz', 'abcd-2345-wxyz-', 'abcd-2345-wxyz-kk', 'abcd2345wxyzk2', '123456', ' - - ']) {
      assert.equal(normalizeBackupCode(typed), null, JSON.stringify(typed));
    }
  });

  test('returns null at once for a 1 MB input', () => {
    for (const huge of ['a'.repeat(1_000_000), ' '.repeat(1_000_000) + 'abcd2345wxyzk', '-'.repeat(1_000_000)]) {
      const started = performance.now();
      assert.equal(normalizeBackupCode(huge), null);
      assert.ok(performance.now() - started < 20, `${performance.now() - started} ms`);
    }
  });
});

describe('hashBackupCode', () => {
  test('is stable for a key and code, base64url of 32 bytes', () => {
    const key = randomBytes(32);
    const h = hashBackupCode(key, 'abcd2345wxyzk');
    assert.equal(hashBackupCode(key, 'abcd2345wxyzk'), h);
    assert.match(h, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(h, 'base64url').length, 32);
    assert.ok(!h.includes('abcd2345wxyzk'));
  });

  test('is HMAC-SHA256 of the normalized code', () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert.equal(
      Buffer.from(hashBackupCode(Buffer.from('Jefe'), 'what do ya want for nothing?'), 'base64url').toString('hex'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  test('differs with the key and with the code', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    assert.notEqual(hashBackupCode(a, 'abcd2345wxyzk'), hashBackupCode(b, 'abcd2345wxyzk'));
    assert.notEqual(hashBackupCode(a, 'abcd2345wxyzk'), hashBackupCode(a, 'abcd2345wxyzm'));
  });
});

describe('looksLikeBackupCode', () => {
  test('tells backup codes, however typed, from six-digit codes', () => {
    for (const code of newBackupCodes()) {
      assert.equal(looksLikeBackupCode(code), true);
      assert.equal(looksLikeBackupCode(code.toUpperCase().replace(/-/g, ' ')), true);
    }
    for (const typed of ['123456', '123 456', '', 'abcd-2345', 'x'.repeat(1_000_000)]) assert.equal(looksLikeBackupCode(typed), false, typed.slice(0, 20));
  });
});
