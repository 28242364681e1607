import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findPart, showFetched, type Fetched } from './reader.ts';
import { planRead } from './structure.ts';
import type { MessageStructureObject } from 'imapflow';

const related: MessageStructureObject = {
  type: 'multipart/mixed',
  childNodes: [
    {
      part: '1',
      type: 'multipart/related',
      childNodes: [
        { part: '1.1', type: 'text/html', parameters: { charset: 'gb2312' }, encoding: 'quoted-printable', size: 60 },
        { part: '1.2', type: 'image/png', id: '<logo@x>', encoding: 'base64', size: 12 },
        { part: '1.3', type: 'image/gif', id: '<unused@x>', encoding: 'base64', size: 12 },
        { part: '1.4', type: 'image/svg+xml', id: '<svg@x>', encoding: 'base64', size: 12 },
      ],
    },
    { part: '2', type: 'application/pdf', disposition: 'attachment', dispositionParameters: { filename: 'a.pdf' }, encoding: 'base64', size: 78 },
  ],
};

function fetched(structure: MessageStructureObject, parts: Record<string, string>, extra: Partial<Fetched> = {}): Fetched {
  return {
    uid: 7,
    envelope: { subject: 'S', from: [{ name: 'Ann', address: 'ann@x.org' }], sender: [{ name: 'Ann', address: 'ANN@x.org' }], to: [{ address: 'bob@x.org' }], date: '2026-01-02T03:04:05Z', messageId: '<m@x>' },
    seen: false,
    plan: planRead(structure),
    parts: new Map(Object.entries(parts).map(([k, v]) => [k, Buffer.from(v, 'latin1')])),
    cut: new Set(),
    ...extra,
  };
}

describe('showFetched', () => {
  test('decodes the HTML, embeds pictures it names, lists the rest; sender only when someone else sent it', () => {
    const html = '<p>=C4=E3=BA=C3 <img src=3D"cid:logo@x"> <img src=3D"cid:svg@x"></p>';
    const m = showFetched(fetched(related, { '1.1': html, '1.2': 'iVBO\r\nRw==', '1.3': 'R0lG', '1.4': 'PHN2' }));
    assert.equal(m.html, '<p>你好 <img src="data:image/png;base64,iVBORw=="> <img src="cid:svg@x"></p>');
    assert.deepEqual(
      m.attachments.map((a) => a.part),
      ['2', '1.3', '1.4'],
    );
    assert.equal(m.from, 'Ann <ann@x.org>');
    assert.equal(m.sender, '');
    assert.equal(m.to, 'bob@x.org');
    assert.equal(m.date?.toISOString(), '2026-01-02T03:04:05.000Z');
    assert.equal(m.messageId, '<m@x>');
  });

  test('a plain part next to HTML is escaped into the HTML; a cut part is offered whole as a file', () => {
    const s: MessageStructureObject = { type: 'multipart/mixed', childNodes: [{ part: '1', type: 'text/html', size: 10 }, { part: '2', type: 'text/plain', size: 5_000_000 }] };
    const m = showFetched(fetched(s, { '1': '<p>a</p>', '2': '<script>x</script>' }, { cut: new Set(['2']), envelope: { sender: [{ address: 'sec@x.org' }], from: [{ address: 'boss@x.org' }] } }));
    assert.equal(m.html, '<p>a</p>\n<hr>\n<pre>&#60;script&#62;x&#60;/script&#62;</pre>');
    assert.deepEqual(m.attachments, [{ part: '2', filename: 'message-2.txt', contentType: 'text/plain', size: 5_000_000 }]);
    assert.equal(m.sender, 'sec@x.org');
  });

  test('plain text: flowed lines are joined; a bad date is no date', () => {
    const m = showFetched(fetched({ type: 'text/plain', parameters: { format: 'flowed' }, size: 20 }, { '1': 'one \r\ntwo\r\n' }, { envelope: { date: 'not a date' } }));
    assert.equal(m.html, null);
    assert.equal(m.text, 'one two\n');
    assert.equal(m.date, undefined);
  });
});

describe('findPart', () => {
  test('finds files, pictures and text parts by number; never a container', () => {
    const plan = planRead(related);
    assert.equal(findPart(plan, '2')?.filename, 'a.pdf');
    assert.equal(findPart(plan, '1.2')?.contentType, 'image/png');
    assert.equal(findPart(plan, '1.1')?.filename, 'message-1.1.html');
    for (const none of ['1', '3', '1.5', '2.1', '']) assert.equal(findPart(plan, none), undefined, none);
  });
});
