import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageStructureObject } from 'imapflow';
import { previewText, textPart, type TextPart } from './preview.ts';

const node = (o: Partial<MessageStructureObject>): MessageStructureObject => ({ type: 'text/plain', ...o }) as MessageStructureObject;
const plain = (o: Partial<TextPart> = {}): TextPart => ({ key: '1', html: false, encoding: '7bit', charset: 'utf-8', bytes: 600, ...o });

describe('list previews', () => {
  test('a single-part message is read from part 1', () => {
    assert.deepEqual(textPart(node({ type: 'text/plain', encoding: 'base64', parameters: { charset: 'GBK' } })), { key: '1', html: false, encoding: 'base64', charset: 'gbk', bytes: 600 });
  });

  test('the plain text of an alternative inside a mixed message, not the attachment', () => {
    const root = node({
      type: 'multipart/mixed',
      childNodes: [
        node({ type: 'multipart/alternative', part: '1', childNodes: [node({ type: 'text/plain', part: '1.1' }), node({ type: 'text/html', part: '1.2' })] }),
        node({ type: 'text/plain', part: '2', disposition: 'attachment' }),
      ],
    });
    assert.equal(textPart(root)?.key, '1.1');
  });

  test('HTML when there is no plain text; nothing when there is no text at all', () => {
    const htmlOnly = node({ type: 'multipart/related', childNodes: [node({ type: 'text/html', part: '1' }), node({ type: 'image/png', part: '2' })] });
    assert.deepEqual(textPart(htmlOnly), { key: '1', html: true, encoding: '7bit', charset: 'utf-8', bytes: 3000 });
    assert.equal(textPart(node({ type: 'multipart/mixed', childNodes: [node({ type: 'image/png', part: '1' })] })), undefined);
    assert.equal(textPart(undefined), undefined);
  });

  test('base64 and quoted-printable cut off mid-way decode without debris', () => {
    const b64 = Buffer.from(Buffer.from('各位好，下周三下午两点开组会').toString('base64').slice(0, 21));
    assert.equal(previewText(b64, plain({ encoding: 'base64' })), '各位好，下');
    const qp = Buffer.from('Caf=C3=A9 au lait, tr=C3=A8s =\r\nbon =C3');
    assert.equal(previewText(qp, plain({ encoding: 'quoted-printable' })), 'Café au lait, très bon');
  });

  test('other charsets are decoded; lines are joined into one', () => {
    const gbk = Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0x0d, 0x0a, 0xca, 0xc0, 0xbd, 0xe7]);
    assert.equal(previewText(gbk, plain({ charset: 'gbk' })), '你好 世界');
    assert.equal(previewText(Buffer.from('caf\xe9', 'latin1'), plain({ charset: 'no-such-charset' })), 'caf');
  });

  test('HTML gives its text: no style, script or tags', () => {
    const html = Buffer.from('<html><head><title>T</title><style>p{color:red}</style></head><body><p>Twelve&nbsp;new <b>titles</b>, &amp; more</p><script>x()</script><p>Visit &#x4e66;</p><img src="a');
    assert.equal(previewText(html, plain({ html: true })), 'Twelve new titles, & more Visit 书');
  });

  test('long text is cut to one line with an ellipsis', () => {
    const text = previewText(Buffer.from('word '.repeat(100)), plain());
    assert.ok(text.length <= 161);
    assert.ok(text.endsWith('…'));
  });
});
