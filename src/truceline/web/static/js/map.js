// The map: located events as points over country outlines (world-atlas, 1:110m), drawn
// as SVG with d3-geo. The libraries and the atlas are fetched only after the page's
// first render, so they never hold it up.

import { h, num, s } from './dom.js';
import { typeLabel } from './timeline.js';

const VENDOR = '/static/vendor';
const W = 640;
const H = 400;
const PAD = 18;
const MIN_SPAN = 7; // degrees: a single place still shows its neighbours

let loading = null;

function script(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = src;
    el.addEventListener('load', resolve);
    el.addEventListener('error', () => reject(new Error(`could not load ${src}`)));
    document.head.append(el);
  });
}

/** The countries as GeoJSON, once d3-geo and topojson-client are loaded. */
export function countries() {
  loading ??= (async () => {
    const atlas = fetch(`${VENDOR}/world-atlas/countries-110m.json`).then((r) => {
      if (!r.ok) throw new Error('could not load the country outlines');
      return r.json();
    });
    // d3-geo's bundle reads d3-array from the global d3, so that one goes first.
    await Promise.all([
      script(`${VENDOR}/d3-array/d3-array.min.js`)
        .then(() => script(`${VENDOR}/d3-geo/d3-geo.min.js`)),
      script(`${VENDOR}/topojson-client/topojson-client.min.js`),
    ]);
    const world = await atlas;
    return window.topojson.feature(world, world.objects.countries);
  })();
  return loading;
}

export function places(items) {
  const byPoint = new Map();
  for (const item of items) {
    const { lat, lon, name, country } = item.location ?? {};
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    const key = `${lat},${lon}`;
    if (!byPoint.has(key)) byPoint.set(key, { name, country, lat, lon, items: [] });
    byPoint.get(key).items.push(item);
  }
  return [...byPoint.values()];
}

function fitTarget(points) {
  const lons = points.map((p) => p.lon);
  const lats = points.map((p) => p.lat);
  const widen = (lo, hi) => {
    const extra = Math.max(MIN_SPAN - (hi - lo), 0) / 2 + (hi - lo) * 0.15;
    return [lo - extra, hi + extra];
  };
  const [west, east] = widen(Math.min(...lons), Math.max(...lons));
  const [south, north] = widen(Math.min(...lats), Math.max(...lats));
  return { type: 'MultiPoint',
    coordinates: [[west, south], [east, north], [west, north], [east, south]] };
}

function describe(place) {
  const counts = new Map();
  for (const item of place.items) counts.set(item.type, (counts.get(item.type) ?? 0) + 1);
  const kinds = [...counts].map(([type, n]) => `${typeLabel(type)} ${n}`).join(', ');
  const n = place.items.length;
  return `${place.name ?? 'Unnamed place'}: ${n} ${n === 1 ? 'event' : 'events'} (${kinds})`;
}

/** Names of the countries large enough in this view to carry one, clear of `taken`. */
function countryNames(world, path, taken) {
  return world.features.map((feature) => {
    const [x, y] = path.centroid(feature);
    const name = feature.properties?.name?.toUpperCase();
    const inside = x > PAD && x < W - PAD && y > PAD && y < H - PAD;
    if (!name || !inside || path.area(feature) < 2500) return null;
    const box = { x: x - 4 * name.length, y: y - 10, w: 8 * name.length, h: 13 };
    if (taken.some((other) => overlaps(box, other))) return null;
    return s('text', { x, y, class: 'country-label', 'text-anchor': 'middle' }, name);
  });
}

function radius(place) {
  return 5 + 2.5 * Math.sqrt(place.items.length - 1);
}

const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Where each place's name goes: right of its point, else left, above or below, whichever
 * first clears the points and the names already placed (the busiest places first). A name
 * is written once, and not at all where it would cover another: the point's tooltip and
 * the timeline still give it.
 */
function labelSpots(points) {
  const taken = points.map(({ x, y, r }) => ({ x: x - r, y: y - r, w: 2 * r, h: 2 * r }));
  const spots = new Map();
  const named = new Set();
  for (const p of [...points].sort((a, b) => b.place.items.length - a.place.items.length)) {
    const name = p.place.name ?? '';
    if (!name || named.has(name)) continue;
    const w = 7 * name.length;
    const h = 14;
    const tries = [
      { x: p.x + p.r + 4, y: p.y - h / 2, anchor: 'start' },
      { x: p.x - p.r - 4 - w, y: p.y - h / 2, anchor: 'end' },
      { x: p.x - w / 2, y: p.y - p.r - 2 - h, anchor: 'middle' },
      { x: p.x - w / 2, y: p.y + p.r + 2, anchor: 'middle' },
    ];
    const spot = tries.find((box) => !taken.some((other) => overlaps({ ...box, w, h }, other)));
    if (!spot) continue;
    taken.push({ ...spot, w, h });
    named.add(name);
    const tx = { start: spot.x, end: spot.x + w, middle: spot.x + w / 2 }[spot.anchor];
    spots.set(p.place, { x: tx, y: spot.y + h - 3, anchor: spot.anchor });
  }
  return { spots, taken };
}

function markers(points, spots) {
  return points.map((p) => {
    const spot = spots.get(p.place);
    return s('g', { class: 'place-mark' },
      s('title', {}, describe(p.place)),
      s('circle', { cx: p.x, cy: p.y, r: p.r, fill: '#b42318', 'fill-opacity': 0.85,
        stroke: '#ffffff', 'stroke-width': 1.5 }),
      spot ? s('text', { x: spot.x, y: spot.y, 'text-anchor': spot.anchor, class: 'place-label',
        stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke' }, p.place.name) : null);
  });
}

/** Draw the located events among `items` into `container`. */
export function drawMap(container, items, world) {
  const points = places(items);
  const located = points.reduce((n, p) => n + p.items.length, 0);
  if (!points.length) {
    container.replaceChildren(h('p', { class: 'empty' },
      `None of the ${num(items.length)} listed events has coordinates.`));
    return;
  }
  const { d3 } = window;
  const projection = d3.geoMercator().fitExtent([[PAD, PAD], [W - PAD, H - PAD]],
    fitTarget(points));
  const path = d3.geoPath(projection);
  const outlines = world.features.map((feature) => s('path', { d: path(feature) ?? '',
    fill: '#f1eee7', stroke: '#9c9689', 'stroke-width': 0.8 }));
  const busiest = [...points].sort((a, b) => b.items.length - a.items.length);
  const rest = busiest.length > 12 ? `; and ${busiest.length - 12} more places` : '';
  const label = `Map of ${num(located)} located events in ${points.length} places: `
    + `${busiest.slice(0, 12).map(describe).join('; ')}${rest}`;
  const projected = points.map((place) => {
    const [x, y] = projection([place.lon, place.lat]);
    return { place, x, y, r: radius(place) };
  });
  const { spots, taken } = labelSpots(projected);
  container.replaceChildren(
    s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map-svg', role: 'img', 'aria-label': label },
      s('rect', { width: W, height: H, fill: '#e6eef4' }),
      outlines,
      countryNames(world, path, taken),
      markers(projected, spots)),
    h('p', { class: 'caption' },
      `${num(located)} of the ${num(items.length)} listed events have coordinates, `
      + `in ${points.length} ${points.length === 1 ? 'place' : 'places'}. `
      + 'Country outlines: Natural Earth, 1:110m.'),
  );
}
