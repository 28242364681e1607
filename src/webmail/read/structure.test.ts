import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageStructureObject } from 'imapflow';
import { MAX_BODY_PARTS, planRead } from './structure.ts';

type Node = MessageStructureObject;
const text = (part: string, extra: Partial<Node> = {}): Node => ({ part, type: 'text/plain', parameters: { charset: 'utf-8' }, encoding: '7bit', size: 100, ...extra });
const html = (part: string, extra: Partial<Node> = {}): Node => ({ part, type: 'text/html', parameters: { charset: 'utf-8' }, encoding: 'quoted-printable', size: 300, ...extra });
const file = (part: string, type: string, filename?: string, extra: Partial<Node> = {}): Node => ({
  part,
  type,
  encoding: 'base64',
  size: 780,
  disposition: 'attachment',
  ...(filename ? { dispositionParameters: { filename } } : {}),
  ...extra,
});
const multi = (type: string, childNodes: Node[], part?: string, extra: Partial<Node> = {}): Node => ({ ...(part ? { part } : {}), type: `multipart/${type}`, childNodes, ...extra });

describe('planRead', () => {
  test('a single-part plain message is part 1, shown as text', () => {
    const plan = planRead({ type: 'text/plain', parameters: { charset: 'ISO-8859-1', format: 'flowed', delsp: 'yes' }, encoding: 'quoted-printable', size: 42 });
    assert.deepEqual(plan.body, [{ part: '1', html: false, charset: 'iso-8859-1', encoding: 'quoted-printable', flowed: true, delSp: true, size: 42 }]);
    assert.deepEqual(plan.attachments, []);
  });

  test('multipart/mixed with an alternative shows the HTML and lists the files', () => {
    const plan = planRead(multi('mixed', [multi('alternative', [text('1.1'), html('1.2')], '1'), file('2', 'application/pdf', 'report.pdf'), file('3', 'text/csv', 'data.csv', { encoding: '7bit', size: 20 })]));
    assert.deepEqual(
      plan.body.map((b) => [b.part, b.html]),
      [['1.2', true]],
    );
    assert.deepEqual(plan.attachments, [
      { part: '2', filename: 'report.pdf', contentType: 'application/pdf', size: 570 },
      { part: '3', filename: 'data.csv', contentType: 'text/csv', size: 20 },
    ]);
  });

  test('an alternative without HTML shows the last plain text; HTML inside related counts as HTML', () => {
    assert.deepEqual(
      planRead(multi('alternative', [text('1'), text('2')])).body.map((b) => b.part),
      ['2'],
    );
    const plan = planRead(multi('alternative', [text('1'), multi('related', [html('2.1'), file('2.2', 'image/png', 'logo.png', { id: '<logo@x>', disposition: 'inline' })], '2')]));
    assert.deepEqual(
      plan.body.map((b) => b.part),
      ['2.1'],
    );
    assert.deepEqual(plan.inline, [{ part: '2.2', cid: 'logo@x', contentType: 'image/png', encoding: 'base64', size: 780, filename: 'logo.png' }]);
    assert.deepEqual(plan.attachments, []);
  });

  test('related: the start parameter names the root; parts without a Content-ID or not pictures are files', () => {
    const plan = planRead(
      multi('related', [file('1', 'image/gif', 'a.gif', { id: '<a@x>', disposition: undefined }), html('2', { id: '<root@x>' }), file('3', 'application/pdf', undefined, { disposition: undefined })], undefined, {
        parameters: { start: '<root@x>', type: 'text/html' },
      }),
    );
    assert.deepEqual(
      plan.body.map((b) => b.part),
      ['2'],
    );
    assert.deepEqual(
      plan.inline.map((i) => [i.part, i.cid]),
      [['1', 'a@x']],
    );
    assert.deepEqual(
      plan.attachments.map((a) => [a.part, a.filename]),
      [['3', 'attachment-3.pdf']],
    );
  });

  test('an attached message is one file named by its subject; its text is not shown as the body', () => {
    const inner: Node = { part: '2', type: 'message/rfc822', encoding: '7bit', size: 5000, envelope: { subject: 'Q3 / budget: "final"' }, childNodes: [multi('alternative', [text('2.1'), html('2.2')], '2')] };
    const plan = planRead(multi('mixed', [text('1'), inner, { ...inner, part: '3', envelope: {} }]));
    assert.deepEqual(
      plan.body.map((b) => b.part),
      ['1'],
    );
    assert.deepEqual(plan.attachments, [
      { part: '2', filename: 'Q3 _ budget_ _final_.eml', contentType: 'message/rfc822', size: 5000 },
      { part: '3', filename: 'attachment-3.eml', contentType: 'message/rfc822', size: 5000 },
    ]);
  });

  test('files without a name get one from their part and type', () => {
    const plan = planRead(multi('mixed', [text('1'), file('2', 'application/octet-stream'), file('3', 'image/jpeg', undefined, { disposition: undefined })]));
    assert.deepEqual(
      plan.attachments.map((a) => a.filename),
      ['attachment-2.bin', 'attachment-3.jpg'],
    );
  });

  test('inline vs attachment: text with a name or an attachment disposition is a file; inline text without one is shown', () => {
    const plan = planRead(
      multi('mixed', [
        text('1'),
        text('2', { disposition: 'inline' }),
        text('3', { disposition: 'attachment' }),
        html('4', { disposition: 'inline', dispositionParameters: { filename: 'page.html' } }),
        file('5', 'image/png', 'photo.png', { disposition: 'inline', id: '<p@x>' }),
      ]),
    );
    assert.deepEqual(
      plan.body.map((b) => b.part),
      ['1', '2'],
    );
    assert.deepEqual(
      plan.attachments.map((a) => [a.part, a.filename]),
      [
        ['3', 'attachment-3.txt'],
        ['4', 'page.html'],
        ['5', 'photo.png'],
      ],
    );
    assert.deepEqual(plan.inline, [], 'a picture outside multipart/related is a file');
  });

  test('file names lose directories and control characters', () => {
    const plan = planRead(multi('mixed', [text('1'), file('2', 'application/pdf', '../../etc/pass\r\nwd.pdf'), file('3', 'application/pdf', 'C:\\Users\\x\\a.pdf')]));
    assert.deepEqual(
      plan.attachments.map((a) => a.filename),
      ['passwd.pdf', 'a.pdf'],
    );
  });

  test('a message that is only a file shows no body and lists the file', () => {
    const plan = planRead({ type: 'application/pdf', parameters: { name: 'scan.pdf' }, encoding: 'base64', size: 78 });
    assert.deepEqual(plan.body, []);
    assert.deepEqual(plan.attachments, [{ part: '1', filename: 'scan.pdf', contentType: 'application/pdf', size: 57 }]);
  });

  test('crafted structures stay bounded: deep nesting stops, extra text parts become files', () => {
    let deep: Node = text('x');
    for (let i = 0; i < 200; i++) deep = multi('mixed', [deep], String(i + 1));
    assert.doesNotThrow(() => planRead(deep));
    const many = planRead(multi('mixed', Array.from({ length: 30 }, (_, i) => text(String(i + 1)))));
    assert.equal(many.body.length, MAX_BODY_PARTS);
    assert.equal(many.attachments.length, 30 - MAX_BODY_PARTS);
    assert.doesNotThrow(() => planRead({ type: '' } as Node));
    assert.deepEqual(planRead(multi('mixed', [])), { body: [], inline: [], attachments: [] });
  });
});
