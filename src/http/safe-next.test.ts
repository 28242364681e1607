import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { safeNext } from './context.ts';

const SITE = 'https://postern.example';

/** landsOn says where a browser goes when a page of the site redirects to location (tabs and line breaks are dropped as browsers do). */
function landsOn(location: string): string {
  return new URL(location, `${SITE}/login`).origin;
}

describe('safeNext', () => {
  test('keeps a local path with its query and fragment', () => {
    assert.equal(safeNext('/mail/folder/INBOX?page=2#m3'), '/mail/folder/INBOX?page=2#m3');
    assert.equal(safeNext('/settings/sharing#add', '/x'), '/settings/sharing#add');
    assert.equal(safeNext('/'), '/');
  });

  test('falls back on anything that is not a string', () => {
    for (const odd of [undefined, null, 5, ['/mail'], { next: '/mail' }]) assert.equal(safeNext(odd, '/home'), '/home', JSON.stringify(odd));
    assert.equal(safeNext(undefined), '/');
    assert.equal(safeNext('', ''), '');
  });

  test('never sends the browser to another site', () => {
    const attempts = [
      '//evil.example',
      '///evil.example',
      '//evil.example/mail',
      '/\\evil.example',
      '/\\/evil.example',
      '\\\\evil.example',
      '\\/evil.example',
      'https://evil.example',
      'HTTPS://evil.example',
      'http:evil.example',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'evil.example',
      ' //evil.example',
      '\t//evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      '/\r\n/evil.example',
      '/\r/evil.example',
      '/\t\\evil.example',
      '/%2F%2Fevil.example',
      '/%2F/evil.example',
      '/%5Cevil.example',
      '/%09/evil.example',
      '/.//evil.example',
      '/..//evil.example',
    ];
    for (const attempt of attempts) {
      const location = safeNext(attempt, '/home');
      assert.equal(landsOn(location), SITE, `${JSON.stringify(attempt)} became ${JSON.stringify(location)}`);
      assert.ok(location.startsWith('/') && !location.startsWith('//'), JSON.stringify(location));
    }
  });

  test('refuses control characters, which browsers drop from a location', () => {
    for (const attempt of ['/\t/evil.example', '/mail\n', '/a\u0000b', '/a\u007fb', '/\u001b[31m']) assert.equal(safeNext(attempt, '/home'), '/home', JSON.stringify(attempt));
  });

  test('cuts an over-long path to 300 characters, still local', () => {
    const location = safeNext('/' + 'a'.repeat(5000));
    assert.equal(location.length, 300);
    assert.equal(location, '/' + 'a'.repeat(299));
    assert.equal(landsOn(safeNext('/' + '/'.repeat(5000), '/home')), SITE);
  });
});
