// Bar charts as inline SVG, drawn from the numbers (no chart library). Each chart is a figure
// with a caption, an SVG that screen readers get as one image with a summary, and the same
// numbers as a table under a disclosure: the table is the accessible form of the chart.

import { h, s } from './dom.js';

const WIDTH = 640;
const HEIGHT = 220;
const MARGIN = { top: 12, right: 8, bottom: 30, left: 48 };

/**
 * A bar chart over `labels` (one group per label). `series` is `[{name, values, cls}]`; grouped
 * side by side, or stacked with `stacked: true`. `format` writes a value for the table and axis.
 */
export function barChart({ id, title, summary, labels, series, stacked = false, format = String }) {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const totals = labels.map((_, i) => (stacked
    ? series.reduce((sum, one) => sum + (one.values[i] || 0), 0)
    : Math.max(0, ...series.map((one) => one.values[i] || 0))));
  // At least 4, so counts get whole-number grid lines (0, 1, 2, 3, 4).
  const top = niceMax(Math.max(4, ...totals));
  const y = (value) => MARGIN.top + plotH - (value / top) * plotH;
  const band = plotW / Math.max(1, labels.length);
  const gap = Math.min(8, band * 0.2);
  const barW = stacked ? band - gap : (band - gap) / series.length;

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const value = top * f;
    return s('g', { class: 'grid' },
      s('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      s('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, format(round(value))));
  });
  // At most ~10 axis labels, so a month of days stays readable on a phone.
  const every = Math.max(1, Math.ceil(labels.length / 10));
  const bars = labels.map((label, i) => {
    const x0 = MARGIN.left + i * band + gap / 2;
    let base = 0;
    const rects = series.map((one, k) => {
      const value = one.values[i] || 0;
      const x = stacked ? x0 : x0 + k * barW;
      const from = stacked ? base : 0;
      base += stacked ? value : 0;
      const height = Math.max(0, y(from) - y(from + value));
      return s('rect', { class: `bar ${one.cls}`, x, y: y(from + value), width: Math.max(1, barW - 1), height },
        s('title', {}, `${label}: ${one.name} ${format(value)}`));
    });
    const text = i % every === 0
      ? s('text', { class: 'axis', x: x0 + (band - gap) / 2, y: HEIGHT - 8, 'text-anchor': 'middle' }, shortLabel(label))
      : null;
    return s('g', {}, rects, text);
  });
  const svg = s('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`,
    class: 'chart', preserveAspectRatio: 'xMidYMid meet',
  },
  s('title', { id: `${id}-title` }, title),
  s('desc', { id: `${id}-desc` }, summary),
  grid,
  s('line', { class: 'axis-line', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }),
  bars);
  return h('figure', { class: 'chart-figure', id },
    h('figcaption', {}, title),
    svg,
    legend(series),
    h('details', {}, h('summary', {}, `${title}: the numbers`),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'),
          series.map((one) => h('th', { scope: 'col' }, one.name)))),
        h('tbody', {}, labels.map((label, i) => h('tr', {}, h('th', { scope: 'row' }, label),
          series.map((one) => h('td', { class: 'num' }, format(one.values[i] || 0))))))))));
}

/** Horizontal bars for a few named values (first-response percentiles). */
export function rangeChart({ id, title, summary, items, format }) {
  const width = 640;
  const rowH = 34;
  const left = 120;
  const height = items.length * rowH + 8;
  const max = niceMax(Math.max(0, ...items.map((item) => item.value || 0)));
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`, class: 'chart',
  },
  s('title', { id: `${id}-title` }, title),
  s('desc', { id: `${id}-desc` }, summary),
  items.map((item, i) => {
    const w = item.value === null ? 0 : ((width - left - 90) * item.value) / max;
    const yy = 4 + i * rowH;
    return s('g', {},
      s('text', { x: left - 8, y: yy + 20, 'text-anchor': 'end', class: 'axis' }, item.label),
      s('rect', { class: `bar ${item.cls}`, x: left, y: yy + 4, width: Math.max(item.value ? 2 : 0, w), height: rowH - 12 }),
      s('text', { x: left + w + 6, y: yy + 20, class: 'value' }, item.value === null ? 'no data' : format(item.value)));
  }));
  return h('figure', { class: 'chart-figure', id }, h('figcaption', {}, title), svg);
}

function legend(series) {
  return h('ul', { class: 'legend' }, series.map((one) => h('li', {},
    h('span', { class: `swatch ${one.cls}`, 'aria-hidden': 'true' }), one.name)));
}

/** A round number at or above `value`, so the axis reads 0, 25, 50, 75, 100. */
function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const steps = [1, 2, 4, 5, 10];
  const step = steps.find((n) => n * magnitude >= value) || 10;
  return step * magnitude;
}

function round(value) {
  return Math.abs(value - Math.round(value)) < 1e-9 ? Math.round(value) : Number(value.toFixed(1));
}

/** `2026-11-25` → `11-25`. */
function shortLabel(label) {
  return /^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label;
}
