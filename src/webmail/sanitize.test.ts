import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeMail } from './sanitize.ts';

/** both sanitizes html with and without remote images, which must not change anything but images. */
function both(html: string): string[] {
  return [sanitizeMail(html, false).html, sanitizeMail(html, true).html];
}

describe('sanitizeMail', () => {
  test('drops scripts with their text, and every event handler', () => {
    for (const html of both('<p>hi<script>alert(1)</script>there</p><img src="data:image/png;base64,AAAA" onerror="alert(2)" onload="alert(3)"><div onmouseover="alert(4)">x</div>')) {
      assert.doesNotMatch(html, /script|alert|\bon[a-z]+=/i);
      assert.match(html, /<p>hithere<\/p>/);
    }
    for (const html of both('<scr<script>ipt>alert(1)</script><svg><script>alert(1)</script></svg><template><script>alert(1)</script></template>')) {
      assert.doesNotMatch(html, /<script|<svg|<template/i);
    }
  });

  test('keeps web and mail links, opened elsewhere without a referrer or a handle on this page', () => {
    const [html] = both('<a href="https://shop.example/order?id=1" target="_self" rel="opener" onclick="steal()">order</a><a href="mailto:a@example.test">m</a><a href="tel:+15550100">t</a>');
    assert.equal(
      html,
      '<a href="https://shop.example/order?id=1" target="_blank" rel="noopener noreferrer nofollow">order</a>' +
        '<a href="mailto:a@example.test" target="_blank" rel="noopener noreferrer nofollow">m</a>' +
        '<a href="tel:+15550100" target="_blank" rel="noopener noreferrer nofollow">t</a>',
    );
  });

  test('strips javascript:, data: and other schemes from links, however they are spelt', () => {
    const hrefs = ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'java&#x09;script:alert(1)', '&#106;avascript:alert(1)', 'jav&#x0A;ascript:alert(1)', 'vbscript:msgbox(1)', 'data:text/html,<script>alert(1)</script>', '//evil.example/'];
    for (const href of hrefs) {
      for (const html of both(`<a href="${href}">x</a>`)) assert.equal(html, '<a target="_blank" rel="noopener noreferrer nofollow">x</a>', href);
    }
    for (const html of both('<svg><a xlink:href="javascript:alert(1)">x</a></svg>')) assert.doesNotMatch(html, /javascript|xlink/i);
  });

  test('holds back remote images behind a placeholder until the reader asks, and counts them', () => {
    const mail = '<img src="https://tracker.example/open.gif?u=1" alt="Logo" width="1"><img src="HTTP://tracker.example/b.png"><p>text</p>';
    const held = sanitizeMail(mail, false);
    assert.equal(held.blockedImages, 2);
    assert.doesNotMatch(held.html, /tracker|<img/i);
    assert.equal(held.html, '<span class="mail-blocked-image" title="Logo">[Logo]</span><span class="mail-blocked-image">▨</span><p>text</p>');
    const shown = sanitizeMail(mail, true);
    assert.equal(shown.blockedImages, 0);
    assert.equal(shown.html, '<img src="https://tracker.example/open.gif?u=1" alt="Logo" width="1" /><img src="HTTP://tracker.example/b.png" /><p>text</p>');
  });

  test('never loads images from protocol-relative, srcset, backgrounds or conditional comments', () => {
    for (const remoteImages of [false, true]) {
      const { html } = sanitizeMail(
        '<img src="//tracker.example/a.gif"><img srcset="https://tracker.example/b.gif 1x" src="data:image/gif;base64,R0lG">' +
          '<body background="https://tracker.example/c.gif"><table background="https://tracker.example/d.gif"><tr><td background="https://tracker.example/e.gif" bgcolor="#ffffff">c</td></tr></table>' +
          '<!--[if mso]><img src="https://tracker.example/f.gif"><![endif]--><link rel="stylesheet" href="https://tracker.example/g.css">',
        remoteImages,
      );
      assert.doesNotMatch(html, /tracker|srcset|background=|<link/i, `remoteImages=${remoteImages}`);
      assert.match(html, /<td bgcolor="#ffffff">c<\/td>/);
    }
  });

  test('shows embedded raster images but not SVG or other data: content', () => {
    for (const html of both('<img src="data:image/png;base64,iVBORw0KGgo=" alt="chart">')) assert.equal(html, '<img src="data:image/png;base64,iVBORw0KGgo=" alt="chart" />');
    for (const src of ['data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=', 'data:text/html,<script>alert(1)</script>', 'cid:part1@example.test', 'x']) {
      const { html, blockedImages } = sanitizeMail(`<img src="${src}">`, true);
      assert.equal(html, '<span class="mail-blocked-image">▨</span>', src);
      assert.equal(blockedImages, 0);
    }
  });

  test('escapes the alt text it shows in a placeholder', () => {
    const { html } = sanitizeMail('<img src="https://t.example/x" alt="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">', false);
    assert.doesNotMatch(html, /<script/);
    assert.match(html, /\[&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;\]|\["&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;\]/);
  });

  test('drops styles, classes and ids, so a message cannot restyle or overlay the page', () => {
    for (const html of both(
      '<style>body{display:none}</style><div style="position:fixed;top:0;left:0;width:100%;height:100%;background:url(https://t.example/x.png)" class="flash error" id="login-form">fake sign-in</div>' +
        '<span class="mail-blocked-image button">s</span><p class="notice">p</p>',
    )) {
      assert.equal(html, '<div>fake sign-in</div><span class="mail-blocked-image">s</span><p>p</p>');
    }
  });

  test('drops forms, frames, embeds, meta refresh and base', () => {
    const mail =
      '<form action="https://evil.example/"><input name="password" type="password"><button>Sign in</button></form>' +
      '<iframe src="https://evil.example/"></iframe><frame src="https://evil.example/"><object data="x.swf"></object><embed src="x.swf">' +
      '<meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/"><textarea>t</textarea><title>T</title>';
    for (const html of both(mail)) assert.equal(html, 'Sign in');
  });

  test('keeps the presentational markup mail relies on', () => {
    const mail = '<center><font color="#336699" size="2" face="Arial">Hi</font></center><table width="600" cellpadding="4" align="center"><tr><td colspan="2" valign="top">a</td></tr></table><p dir="rtl" lang="ar">b</p>';
    for (const html of both(mail)) assert.equal(html, mail);
  });
});
