import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCharset, decodeQuotedPrintable, decodeTransfer, unflow } from './decode.ts';

describe('decodeTransfer', () => {
  test('base64 with line breaks, and broken base64 as far as it goes', () => {
    const data = Buffer.from('héllo wörld, a longer line to wrap over several base64 lines '.repeat(3));
    const wrapped = data.toString('base64').replace(/.{76}/g, '$&\r\n');
    assert.deepEqual(decodeTransfer(Buffer.from(wrapped), 'BASE64'), data);
    assert.equal(decodeTransfer(Buffer.from('aGVsbG8=!!!'), 'base64').toString(), 'hello');
  });

  test('quoted-printable: escapes, soft breaks, stray equals signs', () => {
    assert.equal(decodeQuotedPrintable(Buffer.from('caf=C3=A9 =\r\nau lait=\nnoir =  \r\nfin')).toString(), 'café au laitnoir fin');
    assert.equal(decodeQuotedPrintable(Buffer.from('1+1=2 and =ZZ and =4')).toString(), '1+1=2 and =ZZ and =4');
    assert.equal(decodeQuotedPrintable(Buffer.from('end=')).toString(), 'end');
    assert.equal(decodeTransfer(Buffer.from('a=3Db'), 'Quoted-Printable').toString(), 'a=b');
  });

  test('7bit, 8bit, binary and unknown encodings pass through', () => {
    for (const enc of ['7bit', '8bit', 'binary', 'x-uuencode', '']) assert.equal(decodeTransfer(Buffer.from('plain'), enc).toString(), 'plain');
  });

  test('a megabyte of equals signs decodes in linear time', () => {
    const t0 = performance.now();
    decodeQuotedPrintable(Buffer.alloc(1024 * 1024, '='));
    assert.ok(performance.now() - t0 < 1000);
  });
});

describe('decodeCharset', () => {
  test('reads the charsets Chinese and European mail uses', () => {
    assert.equal(decodeCharset(Buffer.from([0xc4, 0xe3, 0xba, 0xc3]), 'GB2312'), '你好');
    assert.equal(decodeCharset(Buffer.from([0x95, 0x5c]), 'gb2312'), '昞', 'GBK characters in mail labelled GB2312');
    assert.equal(decodeCharset(Buffer.from([0xa7, 0x41, 0xa6, 0x6e]), 'big5'), '你好');
    assert.equal(decodeCharset(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'iso-8859-1'), 'café');
    assert.equal(decodeCharset(Buffer.from('héllo'), '"UTF-8"'), 'héllo');
  });

  test('an unknown or broken charset still shows text', () => {
    assert.equal(decodeCharset(Buffer.from('hello'), 'x-no-such-charset'), 'hello');
    assert.equal(decodeCharset(Buffer.from('hello'), ''), 'hello');
    assert.equal(decodeCharset(Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x21]), 'utf-8'), 'hi\ufffd\ufffd!');
  });
});

describe('unflow', () => {
  test('joins soft line breaks, keeps hard ones, quotes and the signature line', () => {
    assert.equal(unflow('This is a \r\nflowed line.\r\nHard break.\r\n', false), 'This is a flowed line.\nHard break.\n');
    assert.equal(unflow('> quoted \r\n> more\r\nnot quoted', false), '> quoted more\nnot quoted');
    assert.equal(unflow('-- \r\nSig', false), '-- \nSig');
    assert.equal(unflow(' From space-stuffed', false), 'From space-stuffed');
    assert.equal(unflow('del \r\nsp', true), 'delsp');
  });
});
