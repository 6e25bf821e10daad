// Counted breaches per day, by party: an SVG of grouped bars, and the same numbers as a
// table for screen readers.

import { dayText, h, MONTHS, num, s } from './dom.js';

// Each passes 3:1 against the white plot (WCAG non-text contrast); the legend names them.
const PALETTE = ['#1f5fae', '#b54708', '#6d28d9', '#0f766e', '#9a6700', '#be185d', '#4b5563'];
const DAY = 86_400_000;
const MOST_DAYS = 400;

const W = 640;
const H = 280;
const M = { top: 18, right: 8, bottom: 30, left: 34 };

const longDay = (day) => dayText(`${day}T00:00Z`);

function dayOf(stamp) {
  return stamp ? stamp.slice(0, 10) : null;
}

function daysBetween(first, last) {
  const out = [];
  const end = Date.parse(`${last}T00:00:00Z`);
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end; t += DAY) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** The days to draw: from the start of the period in effect to the last breach or end. */
function span(status, counted) {
  const first = counted[0].day;
  const last = counted[counted.length - 1].day;
  const start = [dayOf(status.effective_at), first].filter(Boolean).sort()[0];
  const stop = [last, dayOf(status.ended_at)].filter(Boolean).sort().pop();
  const wide = (Date.parse(stop) - Date.parse(start)) / DAY > MOST_DAYS;
  return daysBetween(wide ? first : start, stop);
}

export function parties(counted) {
  const totals = new Map();
  for (const day of counted) {
    for (const [party, n] of Object.entries(day.by_party)) {
      totals.set(party, (totals.get(party) ?? 0) + n);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([p]) => p);
}

function step(max) {
  for (const candidate of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]) {
    if (max / candidate <= 5) return candidate;
  }
  return 10 ** Math.ceil(Math.log10(max / 5));
}

function shortDay(day) {
  return `${Number(day.slice(8, 10))} ${MONTHS[Number(day.slice(5, 7)) - 1]}`;
}

function axis(top, y) {
  const ticks = [];
  for (let v = 0; v <= top; v += step(top)) {
    ticks.push(s('g', { class: 'tick' },
      s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), stroke: '#dedbd4' }),
      s('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, num(v))));
  }
  return ticks;
}

function svgChart(days, counted, names, colour) {
  const byDay = new Map(counted.map((d) => [d.day, d]));
  const max = Math.max(1, ...counted.flatMap((d) => Object.values(d.by_party)));
  const top = Math.ceil(max / step(max)) * step(max);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v) => M.top + plotH - (v / top) * plotH;
  const slot = plotW / days.length;
  const bar = (slot * 0.8) / names.length;
  const every = Math.ceil(days.length / 8);
  const groups = days.map((day, i) => {
    const x0 = M.left + i * slot + slot * 0.1;
    const counts = byDay.get(day);
    const bars = names.map((party, j) => {
      const n = counts?.by_party[party] ?? 0;
      return n ? s('rect', { x: x0 + j * bar, y: y(n), width: Math.max(bar - 1, 1),
        height: y(0) - y(n), fill: colour(party) },
      s('title', {}, `${longDay(day)}: ${party} ${n}`)) : null;
    });
    const total = counts && days.length <= 31
      ? s('text', { class: 'total', x: x0 + slot * 0.4, y: y(max) - 4, 'text-anchor': 'middle' },
        num(counts.total))
      : null;
    const label = i % every === 0 || i === days.length - 1
      ? s('text', { x: M.left + (i + 0.5) * slot, y: H - M.bottom + 16, 'text-anchor': 'middle' },
        shortDay(day))
      : null;
    return s('g', {}, bars, total, label);
  });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', 'aria-hidden': 'true',
    focusable: 'false' },
  axis(top, y),
  s('line', { x1: M.left, x2: W - M.right, y1: y(0), y2: y(0), stroke: '#6b6b6b' }),
  groups);
}

function legend(names, colour) {
  return h('ul', { class: 'legend' }, names.map((party) => {
    const swatch = s('svg', { width: 12, height: 12, 'aria-hidden': 'true' },
      s('rect', { width: 12, height: 12, fill: colour(party) }));
    return h('li', {}, swatch, party);
  }));
}

function table(status, counted, names) {
  return h('table', { class: 'visually-hidden', id: 'chart-table' },
    h('caption', {}, `Counted breaches per day (UTC) of ${status.ceasefire_id}, by party`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'Total'),
      names.map((party) => h('th', { scope: 'col' }, party)))),
    h('tbody', {}, counted.map((day) => h('tr', { 'data-day': day.day },
      h('th', { scope: 'row' }, day.day), h('td', {}, num(day.total)),
      names.map((party) => h('td', {}, num(day.by_party[party] ?? 0)))))));
}

/** The chart, legend and table of one status (with breaches_by_day). */
export function chart(status) {
  const counted = [...(status.breaches_by_day ?? [])].sort((a, b) => a.day.localeCompare(b.day));
  if (!counted.length) {
    const none = `No counted breach of ${status.ceasefire_id} in this view.`;
    return [h('p', { class: 'empty' }, none)];
  }
  const names = parties(counted);
  const colour = (party) => PALETTE[Math.min(names.indexOf(party), PALETTE.length - 1)];
  const days = span(status, counted);
  const total = counted.reduce((sum, d) => sum + d.total, 0);
  return [
    h('p', { class: 'chart-summary', id: 'chart-summary' },
      `${num(total)} counted ${total === 1 ? 'breach' : 'breaches'} of ${status.ceasefire_id}, `
      + `${longDay(days[0])} to ${longDay(days[days.length - 1])} (UTC days). `
      + 'A breach blamed on two parties counts under each.'),
    legend(names, colour),
    svgChart(days, counted, names, colour),
    table(status, counted, names),
  ];
}
