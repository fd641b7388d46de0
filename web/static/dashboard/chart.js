// chart.js: logins per hour (success and failure, stacked) as an SVG drawn with DOM calls, and
// the same numbers in words and in a table for those who do not see the chart.
import { fill, h, table } from '../common/dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 220;
const LEFT = 40;
const RIGHT = 8;
const TOP = 12;
const BOTTOM = 30;

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// A round, even top for the y axis (its middle line is then a whole number too): 2, 4, 6, 8
// or 10 × 10^n, at or above most.
function niceTop(most) {
  if (most <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(most));
  for (const step of [2, 4, 6, 8]) if (step * power >= most) return step * power;
  return 10 * power;
}

function hourText(date, week) {
  return week
    ? date.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })
    : date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

// The totals and the busiest hour of stats' buckets.
export function summarize(buckets) {
  let success = 0;
  let failure = 0;
  let busiest = null;
  for (const b of buckets) {
    success += b.success || 0;
    failure += b.failure || 0;
    const all = (b.success || 0) + (b.failure || 0);
    if (all && (!busiest || all > busiest.all)) busiest = { start: b.start, all };
  }
  return { success, failure, busiest };
}

// stats: {range, bucket_seconds, buckets: [{start, success, failure}]} → a figure.
export function loginsChart(stats) {
  const buckets = Array.isArray(stats.buckets) ? stats.buckets : [];
  const week = stats.range === 'week';
  const span = week ? 'the last 7 days' : 'the last 24 hours';
  const { success, failure, busiest } = summarize(buckets);
  const words = `Logins per hour over ${span}: ${success} successful and ${failure} failed.`
    + (busiest ? ` The busiest hour began ${hourText(new Date(busiest.start), true)}, with ${busiest.all}.` : '');
  const top = niceTop(Math.max(0, ...buckets.map((b) => (b.success || 0) + (b.failure || 0))));
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const slot = buckets.length ? plotW / buckets.length : plotW;
  const bar = Math.max(1, slot * (week ? 0.8 : 0.7));
  const y = (n) => TOP + plotH - (n / top) * plotH;
  const titleId = `chart-title-${stats.range}`;
  const descId = `chart-desc-${stats.range}`;
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    class: 'chart', 'data-testid': 'chart-svg' },
  s('title', { id: titleId }, `Logins per hour, ${span}`), s('desc', { id: descId }, words));
  for (const value of [0, top / 2, top]) {
    svg.append(s('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value), class: 'chart-grid' }),
      s('text', { x: LEFT - 6, y: y(value) + 4, class: 'chart-label', 'text-anchor': 'end' },
        value));
  }
  buckets.forEach((b, i) => {
    const start = new Date(b.start);
    const x = LEFT + i * slot + (slot - bar) / 2;
    const ok = b.success || 0;
    const bad = b.failure || 0;
    const group = s('g', { 'data-testid': 'chart-bucket', 'data-success': ok, 'data-failure': bad },
      s('title', {}, `${hourText(start, week)}: ${ok} successful, ${bad} failed`));
    if (ok) group.append(s('rect', { x, y: y(ok), width: bar, height: y(0) - y(ok), class: 'chart-success' }));
    if (bad) group.append(s('rect', { x, y: y(ok + bad), width: bar, height: y(ok) - y(ok + bad), class: 'chart-failure' }));
    svg.append(group);
    // A label every 3 hours over a day, at each midnight over a week.
    const labelled = week ? start.getHours() === 0 : start.getHours() % 3 === 0;
    if (labelled) {
      const text = week ? start.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' })
        : start.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      svg.append(s('line', { x1: x + bar / 2, x2: x + bar / 2, y1: y(0), y2: y(0) + 4, class: 'chart-axis' }),
        s('text', { x: x + bar / 2, y: HEIGHT - 10, class: 'chart-label', 'text-anchor': 'middle' }, text));
    }
  });
  svg.append(s('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(0), y2: y(0), class: 'chart-axis' }));
  const rows = buckets.filter((b) => (b.success || 0) + (b.failure || 0) > 0)
    .map((b) => [hourText(new Date(b.start), week), String(b.success || 0), String(b.failure || 0)]);
  return h('figure', { class: 'chart-figure', testid: 'chart' },
    svg,
    h('figcaption', {},
      h('p', { class: 'chart-legend' },
        h('span', { class: 'swatch swatch-success', 'aria-hidden': 'true' }), 'Successful ',
        h('span', { class: 'swatch swatch-failure', 'aria-hidden': 'true' }), 'Failed'),
      h('p', { testid: 'chart-summary' }, words),
      h('details', {}, h('summary', {}, 'The numbers, hour by hour'),
        rows.length ? table(['Hour starting', 'Successful', 'Failed'], rows, { 'data-testid': 'chart-table' })
          : h('p', { class: 'muted', testid: 'chart-table' }, 'No login in this period.'))));
}

// A holder whose chart is reloaded for a range: load(range) → stats.
export function chartCard(holder, load) {
  let range = 'day';
  const buttons = ['day', 'week'].map((r) => h('button', { type: 'button', class: r === range ? 'segment selected' : 'segment',
    'aria-pressed': r === range ? 'true' : 'false', testid: `chart-range-${r}`,
    on: { click: () => { range = r; draw(); } } }, r === 'day' ? 'Last 24 hours' : 'Last 7 days'));
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  async function draw() {
    for (const b of buttons) {
      const on = b.dataset.testid === `chart-range-${range}`;
      b.className = on ? 'segment selected' : 'segment';
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    try {
      fill(body, loginsChart(await load(range)));
    } catch (error) {
      if (error.status !== 401) fill(body, h('p', { class: 'error', role: 'alert' }, `Could not load the chart: ${error.description || error.message}`));
    }
  }
  fill(holder, h('div', { class: 'segmented', role: 'group', 'aria-label': 'Period' }, buttons), body);
  return draw();
}
