// Building elements, and the formats the page shows times and numbers in.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, props, children) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (name === 'text') el.textContent = value;
    else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** An HTML element: h('p', {class: 'x'}, 'text', h('b', {}, 'bold')). */
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** An SVG element, with presentation attributes (never a style attribute). */
export function s(tag, props, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

export function replace(el, ...children) {
  el.replaceChildren();
  return build(el, {}, children);
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun',
  'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The parts of an RFC 3339 time as written (no conversion to the viewer's zone). */
export function parts(stamp) {
  const m = STAMP.exec(stamp ?? '');
  if (!m) return null;
  const [, year, month, day, hour, minute, offset] = m;
  return { year, month: MONTHS[Number(month) - 1], day: String(Number(day)), hour, minute,
    zone: offset === 'Z' || offset === '+00:00' ? 'UTC' : `UTC${offset}` };
}

export function dayText(stamp) {
  const p = parts(stamp);
  return p ? `${p.day} ${p.month} ${p.year}` : stamp;
}

/** '10 Oct 2020, 08:00 UTC' */
export function timeText(stamp) {
  const p = parts(stamp);
  return p ? `${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute} ${p.zone}` : stamp;
}

/** When an event happened, in its local time as the source gave it, as precisely as known. */
export function occurredText(item) {
  const local = item.local_times?.occurred_at;
  const p = parts(local ?? item.occurred_at);
  if (!p) return item.occurred_at;
  const day = `${p.day} ${p.month} ${p.year}`;
  const clock = `${p.hour}:${p.minute} ${p.zone}`;
  switch (item.time_precision ?? 'exact') {
    case 'month': return `${p.month} ${p.year}`;
    case 'week': return `week of ${day}`;
    case 'day': return day;
    case 'hour': return `${day}, ${p.hour}:00–${p.hour}:59 ${p.zone}`;
    case 'approximate': return `about ${day}, ${clock}`;
    default: return `${day}, ${clock}`;
  }
}

export function timeEl(stamp, text) {
  return h('time', { datetime: stamp, title: stamp }, text ?? timeText(stamp));
}

const NUMBER = new Intl.NumberFormat('en-GB');
export const num = (n) => NUMBER.format(n);

export function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
