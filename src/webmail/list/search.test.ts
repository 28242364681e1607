import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { criteria, isSearching, queryString } from './search.ts';

describe('search criteria', () => {
  test('no text and no dates searches nothing: the whole folder is listed', () => {
    assert.equal(criteria({ q: '', field: 'all' }), undefined);
    assert.equal(isSearching({ q: '', field: 'body' }), false);
  });

  test('"all" looks in sender, recipients, subject and body', () => {
    assert.deepEqual(criteria({ q: 'budget', field: 'all' }), { or: [{ from: 'budget' }, { to: 'budget' }, { cc: 'budget' }, { subject: 'budget' }, { body: 'budget' }] });
  });

  test('one field at a time, recipients being To or Cc', () => {
    assert.deepEqual(criteria({ q: 'x', field: 'from' }), { from: 'x' });
    assert.deepEqual(criteria({ q: 'x', field: 'to' }), { or: [{ to: 'x' }, { cc: 'x' }] });
    assert.deepEqual(criteria({ q: 'x', field: 'subject' }), { subject: 'x' });
    assert.deepEqual(criteria({ q: 'x', field: 'body' }), { body: 'x' });
  });

  test('the date range includes both days asked for', () => {
    const c = criteria({ q: '', field: 'all', since: '2026-11-01', before: '2026-11-30' });
    assert.deepEqual(c, { sentSince: new Date('2026-11-01T00:00:00Z'), sentBefore: new Date('2026-12-01T00:00:00Z') });
  });

  test('the query string carries the search for paging, and leaves defaults out', () => {
    assert.equal(queryString({ q: '', field: 'all' }), '');
    assert.equal(queryString({ q: '', field: 'all' }, 2), '?page=2');
    assert.equal(queryString({ q: 'a&b 李', field: 'body', since: '2026-01-01' }, 3), '?page=3&q=a%26b+%E6%9D%8E&field=body&since=2026-01-01');
  });
});
