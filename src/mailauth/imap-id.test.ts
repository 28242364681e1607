import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanClientField, mailClientOf, parseImapId } from './imap-id.ts';

const fields = (args: string) => {
  const parsed = parseImapId(args);
  return parsed && Object.fromEntries(parsed);
};

describe('parseImapId reads the argument of IMAP ID (RFC 2971)', () => {
  test('a parenthesised list of field-value pairs, as Dovecot logs it in cmd_args', () => {
    assert.deepEqual(fields('("name" "Thunderbird" "version" "115.3" "os" "Linux")'), { name: 'Thunderbird', version: '115.3', os: 'Linux' });
  });

  test('the bare pairs of Dovecot’s %{client_id}, without parentheses', () => {
    assert.deepEqual(fields('"name" "Thunderbird" "version" "115.3"'), { name: 'Thunderbird', version: '115.3' });
  });

  test('NIL as the whole list, and NIL values', () => {
    assert.deepEqual(fields('NIL'), {});
    assert.deepEqual(fields('nil'), {});
    assert.deepEqual(fields('()'), {});
    assert.deepEqual(fields('("name" "Mail" "version" NIL)'), { name: 'Mail', version: null });
  });

  test('quoted strings with escaped quotes and backslashes', () => {
    assert.deepEqual(fields('("name" "Thunder\\"bird\\\\x")'), { name: 'Thunder"bird\\x' });
  });

  test('literals, synchronising or not, and with line breaks inside', () => {
    assert.deepEqual(fields('("name" {5}\r\nLinux "version" {3+}\r\n1.0)'), { name: 'Linux', version: '1.0' });
    assert.deepEqual(fields('("name" {4}\r\na\r\nb)'), { name: 'a\r\nb' });
    // A literal counts octets: three for each of these characters.
    assert.deepEqual(fields('("name" {6}\r\n邮件 "version" "2")'), { name: '邮件', version: '2' });
  });

  test('multi-line values Dovecot re-quoted in cmd_args', () => {
    assert.deepEqual(fields('("name" "ab\r\n\\"c\\\\d" "version" "")'), { name: 'ab\r\n"c\\d', version: '' });
  });

  test('field names are case-insensitive, and the first of a repeated field counts', () => {
    assert.deepEqual(fields('("NAME" "a" "name" "b" "Version" "1")'), { name: 'a', version: '1' });
  });

  test('atoms are read as strings, as Dovecot accepts them', () => {
    assert.deepEqual(fields('("name" Outlook "version" 16)'), { name: 'Outlook', version: '16' });
  });

  test('a field without a value, and a NIL field name, are left out', () => {
    assert.deepEqual(fields('("name" "a" "version")'), { name: 'a' });
    assert.deepEqual(fields('(NIL "x" "name" "a")'), { name: 'a' });
  });

  test('a value cut short at the end (Dovecot truncates %{client_id}) keeps what arrived', () => {
    assert.deepEqual(fields('"name" "Thunderb'), { name: 'Thunderb' });
  });

  test('refuses nested lists, unbalanced parentheses, stray text and broken literals', () => {
    for (const bad of [
      '("name" ("nested" "list"))',
      '(("name" "a"))',
      '("name" "a"))',
      ')',
      '("name" "a") trailing',
      '("name" {99}\r\nshort)',
      '("name" {x}\r\nabc)',
      '("name" {99999999999999}\r\nabc)',
      '("name" {3}abc)',
      '',
      '   ',
    ]) {
      assert.equal(parseImapId(bad), undefined, JSON.stringify(bad));
    }
  });

  test('reads at most thirty pairs, and keeps each value to 1024 characters', () => {
    const many = Array.from({ length: 40 }, (_, i) => `"f${i}" "v${i}"`).join(' ');
    const parsed = parseImapId(`(${many})`)!;
    assert.equal(parsed.size, 30);
    assert.equal(parsed.get('f29'), 'v29');
    assert.equal(parsed.get('f30'), undefined);
    assert.equal(parseImapId(`("name" "${'x'.repeat(5000)}")`)!.get('name')!.length, 1024);
  });

  test('thousands of nested parentheses or escapes answer at once', () => {
    const started = performance.now();
    assert.equal(parseImapId('('.repeat(100_000) + ')'.repeat(100_000)), undefined);
    const escaped = parseImapId(`("name" "${'\\"'.repeat(100_000)}")`);
    assert.equal(escaped?.get('name'), '"'.repeat(1024));
    assert.equal(parseImapId(`("name" "${'\\'.repeat(100_001)}`)?.get('name')?.length, 1024);
    assert.ok(performance.now() - started < 500);
  });
});

describe('mailClientOf names the mail app', () => {
  test('name and version, when the app gives them', () => {
    assert.deepEqual(mailClientOf('("name" "Thunderbird" "version" "115.3" "os" "Linux")'), { name: 'Thunderbird', version: '115.3' });
    assert.deepEqual(mailClientOf('("name" "iPhone Mail")'), { name: 'iPhone Mail', version: null });
    assert.deepEqual(mailClientOf('("name" "iPhone Mail" "version" NIL)'), { name: 'iPhone Mail', version: null });
  });

  test('nothing without a usable name', () => {
    for (const args of ['NIL', '("version" "1.0")', '("name" NIL)', '("name" "\u0000\u0007")', '("name" "   ")', '((', 'garbage(']) {
      assert.equal(mailClientOf(args), undefined, args);
    }
  });

  test('names are kept printable and at most 64 characters', () => {
    const client = mailClientOf(`("name" "Evil\r\n<script>\u202e${'x'.repeat(200)}" "version" "1.0\u0000\u0001")`)!;
    assert.deepEqual(client, { name: `Evil <script>${'x'.repeat(51)}`, version: '1.0' });
  });
});

describe('cleanClientField', () => {
  test('turns control characters and odd spaces into one space and drops invisible ones', () => {
    assert.equal(cleanClientField('  Fox\tmail\r\n 7.2 '), 'Fox mail 7.2');
    assert.equal(cleanClientField('a\u00a0\u2028b'), 'a b');
    assert.equal(cleanClientField('ab\u200b\u202ec\u{e000}'), 'abc');
    assert.equal(cleanClientField('\ud800x'), 'x');
  });

  test('cuts at 64 characters, never inside one', () => {
    assert.equal(cleanClientField('邮'.repeat(100)), '邮'.repeat(64));
    assert.equal([...cleanClientField('😀'.repeat(100))].length, 64);
    assert.equal(cleanClientField(`${'a'.repeat(63)} b`), 'a'.repeat(63));
  });
});
