import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, escapeXml, scale, tickLabel } from './chart.ts';

const bars = (svg: string) => [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="([^"]+)"><title>([^<]*)<\/title>/g)].map((m) => ({ y: Number(m[1]), h: Number(m[2]), fill: m[3], tip: m[4] }));
const labels = (svg: string) => [...svg.matchAll(/text-anchor="middle" fill="#667085">([^<]*)</g)].map((m) => m[1]);

describe('chart scales', () => {
  test('the axis tops the largest value with a round step of 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual(scale(7), { max: 8, ticks: [0, 2, 4, 6, 8] });
    assert.deepEqual(scale(10), { max: 10, ticks: [0, 5, 10] });
    assert.deepEqual(scale(95), { max: 100, ticks: [0, 50, 100] });
    assert.deepEqual(scale(4999), { max: 6000, ticks: [0, 2000, 4000, 6000] });
    assert.equal(scale(1).max, 1);
  });

  test('counts never get fractional ticks, and no data still gives an axis', () => {
    assert.deepEqual(scale(2).ticks, [0, 1, 2]);
    assert.deepEqual(scale(0), { max: 1, ticks: [0, 1] });
    assert.deepEqual(scale(Number.NaN), { max: 1, ticks: [0, 1] });
    assert.deepEqual(scale(-5), { max: 1, ticks: [0, 1] });
  });

  test('large tick values are written short', () => {
    assert.equal(tickLabel(950), '950');
    assert.equal(tickLabel(12_000), '12k');
    assert.equal(tickLabel(1_500_000), '1.5M');
  });
});

describe('bar charts', () => {
  test('scales to its container: a viewBox and a width of 100%, no fixed height, no style attribute', () => {
    const svg = barChart({ title: 'Texts', labels: ['a', 'b'], series: [{ name: 'sent', values: [1, 2] }], empty: 'none' });
    assert.match(svg, /^<svg [^>]*viewBox="0 0 400 180"[^>]*width="100%"/);
    assert.doesNotMatch(svg, /<svg [^>]*height=/);
    assert.doesNotMatch(svg, /style=/);
    assert.match(svg, /role="img" aria-label="Texts"/);
  });

  test('bar heights follow the values against the axis top', () => {
    const svg = barChart({ title: 't', labels: ['a', 'b', 'c'], series: [{ name: 's', values: [8, 4, 0] }], empty: 'none' });
    const drawn = bars(svg);
    assert.equal(drawn.length, 2, 'a zero draws no bar');
    assert.equal(drawn[0]!.h, 150, 'the largest value fills the plot (axis top 8)');
    assert.equal(drawn[1]!.h, 75);
    assert.deepEqual(drawn.map((b) => b.tip), ['a: 8', 'b: 4']);
  });

  test('series stack on each other, each in its colour, with a legend', () => {
    const svg = barChart({ title: 't', labels: ['10:00'], series: [{ name: 'IMAP', values: [6] }, { name: 'SMTP', values: [2] }], empty: 'none' });
    const [imap, smtp] = bars(svg);
    assert.notEqual(imap!.fill, smtp!.fill);
    assert.equal(Math.round(smtp!.y + smtp!.h), Math.round(imap!.y), 'SMTP sits on top of IMAP');
    assert.equal(imap!.tip, '10:00 · IMAP: 6');
    assert.match(svg, /viewBox="0 0 400 198"/, 'room for the legend');
    assert.match(svg, />IMAP<\/text>.*>SMTP<\/text>/);
  });

  test('only the x labels that fit are written', () => {
    const days = Array.from({ length: 30 }, (_, i) => `d${i}`);
    const svg = barChart({ title: 't', labels: days, series: [{ name: 's', values: days.map(() => 1) }], empty: 'none' });
    const shown = labels(svg);
    assert.ok(shown.length >= 5 && shown.length <= 10, `${shown.length} labels`);
    assert.equal(shown[0], 'd0');
    assert.deepEqual(labels(barChart({ title: 't', labels: days, series: [{ name: 's', values: [] }], empty: 'none', labelEvery: 10 })).slice(0, 3), ['d0', 'd10', 'd20']);
  });

  test('no data: an empty axis and the message, no bars', () => {
    const svg = barChart({ title: 't', labels: ['a', 'b'], series: [{ name: 's', values: [0, 0] }], empty: 'No texts yet' });
    assert.equal(bars(svg).length, 0);
    assert.match(svg, />No texts yet<\/text>/);
    const none = barChart({ title: 't', labels: [], series: [], empty: 'Nothing' });
    assert.match(none, />Nothing<\/text>/);
    assert.match(none, /<\/svg>$/);
  });

  test('negative, missing and non-numeric values draw as zero', () => {
    const svg = barChart({ title: 't', labels: ['a', 'b', 'c'], series: [{ name: 's', values: [-3, Number.NaN, 2] }], empty: 'none' });
    assert.deepEqual(bars(svg).map((b) => b.tip), ['c: 2']);
  });

  test('every text is escaped: title, labels, series names and the empty message', () => {
    const evil = '<script>alert("x")</script>&\'';
    const svg = barChart({ title: evil, labels: [evil], series: [{ name: evil, values: [1] }, { name: 'b', values: [0] }], empty: evil });
    assert.doesNotMatch(svg, /<script/);
    assert.doesNotMatch(svg, /"x"/);
    assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&amp;&#39;/);
    assert.equal(escapeXml(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&#39;');
  });
});
