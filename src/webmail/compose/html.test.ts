import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { htmlToPlain, sanitizeComposed, textToHtml } from './html.ts';

describe('sanitizeComposed', () => {
  test('keeps text formatting, lists, quotes and web or mail links', () => {
    const html = '<p>Hi <b>there</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u></p><ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote><div><span>x</span></div><a href="https://example.org/a">w</a><a href="mailto:a@example.org">m</a>';
    assert.equal(sanitizeComposed(html), html);
  });

  test('drops scripts, styles, frames, handlers, images and every other link scheme', () => {
    const out = sanitizeComposed(
      '<script>alert(1)</script><style>p{color:red}</style><iframe src="https://e.example/">fallback</iframe>' +
        '<img src="data:image/png;base64,AAAA" onerror="alert(1)"><p onclick="x()" style="color:red" class="c" id="i">ok</p>' +
        '<a href="javascript:alert(1)">j</a><a href=" JaVaScRiPt:alert(1)">k</a><a href="data:text/html,x">d</a><a href="//evil.example/">p</a><a href="/relative">r</a>' +
        '<svg><circle onload="x()"/></svg><form action="https://e.example/"><input name="p"></form><object data="x"></object>',
    );
    assert.equal(out, '<p>ok</p><a>j</a><a>k</a><a>d</a><a>p</a><a>r</a>');
  });
});

describe('htmlToPlain', () => {
  test('writes lists as "* item", links as "text [url]" and quotes with "> "', () => {
    const text = htmlToPlain('<p>Hello <b>all</b>,</p><ul><li>first</li><li>second</li></ul><p>See <a href="https://example.org/x">the page</a>.</p><blockquote><p>earlier</p><p>words</p></blockquote>');
    assert.equal(text, 'Hello all,\n\n* first\n* second\n\nSee the page [https://example.org/x].\n\n> earlier\n>\n> words');
  });

  test('keeps the signature line "-- " and at most one blank line in a row', () => {
    assert.equal(htmlToPlain('<div>one</div><div><br></div><div><br></div><div>two</div><div>-- <br>Ann</div>'), 'one\n\ntwo\n-- \nAnn');
  });

  test('keeps Chinese text and line breaks', () => {
    assert.equal(htmlToPlain('<div>你好<br>世界</div>'), '你好\n世界');
  });
});

describe('textToHtml', () => {
  test('escapes markup and keeps line breaks', () => {
    assert.equal(textToHtml('a <b> & "c"\r\nnext'), 'a &lt;b&gt; &amp; &quot;c&quot;<br>next');
  });
});
