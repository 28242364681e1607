import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserCsv, USER_CSV_MAX_ROWS } from './csv.ts';

describe('user import files', () => {
  test('reads quoted fields, a byte-order mark, CRLF, header case and blank lines', () => {
    const r = parseUserCsv('\ufeffEMAIL, Name ,admin\r\n"ann@x.edu","Li, Ann",yes\r\n\r\nBen@X.edu,,\r\n');
    assert.deepEqual(r, { ok: true, users: [{ email: 'ann@x.edu', name: 'Li, Ann', admin: true }, { email: 'ben@x.edu', name: '', admin: false }] });
  });

  test('lists every bad line with its number, and a wrong header once', () => {
    const r = parseUserCsv('email,name,admin\nbad,One,no\nok@x.edu,Two,maybe\nok@x.edu,Three,no\n' + `long@x.edu,${'n'.repeat(101)},no\n`);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => [e.line, e.problem]), [[2, 'csv.user.email'], [3, 'csv.user.admin'], [4, 'csv.user.duplicate'], [5, 'csv.user.name']]);
    const header = parseUserCsv('mail,name,admin\na@x.edu,A,no\n');
    assert.deepEqual(!header.ok && header.errors, [{ line: 1, problem: 'csv.header', params: { columns: 'email,name,admin' } }]);
  });

  test('refuses empty files, broken quoting, oversized fields and too many rows', () => {
    for (const text of ['', 'email,name,admin\n', 'email,name,admin\n"a@x.edu,A,no\n', `email,name,admin\na@x.edu,${'x'.repeat(300)},no\n`]) {
      assert.equal(parseUserCsv(text).ok, false, JSON.stringify(text.slice(0, 40)));
    }
    const many = 'email,name,admin\n' + Array.from({ length: USER_CSV_MAX_ROWS + 1 }, (_, i) => `u${i}@x.edu,U,no`).join('\n');
    const r = parseUserCsv(many);
    assert.equal(!r.ok && r.errors[0]!.problem, 'csv.too_many');
  });
});
