/**
 * Small bar charts drawn on the server as inline SVG: no script, no remote
 * load, nothing the page's content security policy forbids (presentation
 * attributes only, no style attributes). The drawing scales to its
 * container through its viewBox, so it reads on a phone as on a desktop.
 */

/** ChartSeries is one stacked layer: a name for the legend and one value per bar. */
export interface ChartSeries {
  name: string;
  values: readonly number[];
}

export interface BarChart {
  /** The chart's accessible name, also its tooltip. */
  title: string;
  /** One label per bar, left to right. */
  labels: readonly string[];
  /** Stacked bottom first; a single series needs no legend. */
  series: readonly ChartSeries[];
  /** Said in the middle of the chart when every value is zero. */
  empty: string;
  /** Show every n-th bar's label; by default as many as fit. */
  labelEvery?: number;
}

/** Scale is the y axis: its top value and the ticks drawn, from 0 up. */
export interface Scale {
  max: number;
  ticks: number[];
}

/** The drawing's size in viewBox units (the legend adds a line below); it is scaled to the page's width. */
export const CHART_WIDTH = 400;
export const CHART_HEIGHT = 180;
const LEFT = 34;
const RIGHT = 6;
const TOP = 8;
const BOTTOM = 22;
const LEGEND = 18;
/** Room one x label needs, in viewBox units, at the 10-unit font. */
const LABEL_ROOM = 34;
const PALETTE = ['#1f5fbf', '#d97706', '#a4262c', '#17663a', '#6b3fa0', '#667085'];

/**
 * scale picks a y axis for the largest value: four or five steps of 1, 2 or
 * 5 times a power of ten, whole numbers only (the charts count things).
 */
export function scale(largest: number): Scale {
  const top = Number.isFinite(largest) && largest > 0 ? largest : 0;
  if (top === 0) return { max: 1, ticks: [0, 1] };
  const rough = top / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power);
  const max = Math.ceil(top / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= max; v += step) ticks.push(v);
  return { max, ticks };
}

/** tickLabel writes an axis value short: 950, 12k, 1.5M. */
export function tickLabel(v: number): string {
  if (v >= 1_000_000) return `${trim(v / 1_000_000)}M`;
  if (v >= 10_000) return `${trim(v / 1000)}k`;
  return String(v);
}

function trim(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** escapeXml makes text safe inside SVG elements and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A drawn value: finite and not negative, else 0. */
function clean(v: number | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * barChart draws stacked bars, one per label, with a y axis, the labels
 * that fit on the x axis, a legend when there are several series, and a
 * tooltip (an SVG title) per bar segment with its exact figure. All text
 * is escaped.
 */
export function barChart(c: BarChart): string {
  const n = c.labels.length;
  const totals = c.labels.map((_, i) => c.series.reduce((sum, s) => sum + clean(s.values[i]), 0));
  const { max, ticks } = scale(Math.max(0, ...totals));
  const legend = c.series.length > 1;
  const height = CHART_HEIGHT + (legend ? LEGEND : 0);
  const plotW = CHART_WIDTH - LEFT - RIGHT;
  const plotH = CHART_HEIGHT - TOP - BOTTOM;
  const base = TOP + plotH;
  const y = (v: number) => base - (v / max) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CHART_WIDTH} ${height}" width="100%" role="img" aria-label="${escapeXml(c.title)}" font-size="10" class="chart">`,
    `<title>${escapeXml(c.title)}</title>`,
  );
  for (const t of ticks) {
    const ty = round(y(t));
    out.push(`<line x1="${LEFT}" x2="${CHART_WIDTH - RIGHT}" y1="${ty}" y2="${ty}" stroke="${t === 0 ? '#98a2b3' : '#e3e7ee'}" stroke-width="1"/>`);
    out.push(`<text x="${LEFT - 4}" y="${round(ty + 3.5)}" text-anchor="end" fill="#667085">${tickLabel(t)}</text>`);
  }
  const slot = n ? plotW / n : plotW;
  const barW = Math.max(1, slot * 0.72);
  const every = Math.max(1, Math.floor(c.labelEvery ?? Math.ceil(LABEL_ROOM / slot)));
  for (let i = 0; i < n; i++) {
    const x = LEFT + i * slot + (slot - barW) / 2;
    let stacked = 0;
    c.series.forEach((s, k) => {
      const v = clean(s.values[i]);
      if (!v) return;
      const top = y(stacked + v);
      const h = y(stacked) - top;
      stacked += v;
      const tip = `${c.labels[i]}${c.series.length > 1 ? ` · ${s.name}` : ''}: ${v}`;
      out.push(`<rect x="${round(x)}" y="${round(top)}" width="${round(barW)}" height="${round(Math.max(h, 0.5))}" fill="${PALETTE[k % PALETTE.length]}"><title>${escapeXml(tip)}</title></rect>`);
    });
    if (i % every === 0) {
      out.push(`<text x="${round(LEFT + i * slot + slot / 2)}" y="${base + 14}" text-anchor="middle" fill="#667085">${escapeXml(c.labels[i] ?? '')}</text>`);
    }
  }
  if (totals.every((v) => v === 0)) {
    out.push(`<text x="${round(LEFT + plotW / 2)}" y="${round(TOP + plotH / 2)}" text-anchor="middle" fill="#667085" font-size="12">${escapeXml(c.empty)}</text>`);
  }
  if (legend) {
    let lx = LEFT;
    const ly = CHART_HEIGHT + 6;
    c.series.forEach((s, k) => {
      out.push(`<rect x="${round(lx)}" y="${ly}" width="9" height="9" fill="${PALETTE[k % PALETTE.length]}"/>`);
      out.push(`<text x="${round(lx + 13)}" y="${ly + 8}" fill="#1d2330">${escapeXml(s.name)}</text>`);
      lx += 13 + Math.min(140, textWidth(s.name) + 14);
    });
  }
  out.push('</svg>');
  return out.join('');
}

/** textWidth guesses how wide a label draws at the 10-unit font: CJK characters are about twice as wide as Latin ones. */
function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += ch.codePointAt(0)! >= 0x2e80 ? 10 : 6;
  return w;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
