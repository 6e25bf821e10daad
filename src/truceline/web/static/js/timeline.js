// The timeline list: one entry per item, its mark, place, casualties, sources, and the
// badges that open an event's history.

import { h, num, occurredText, timeEl, timeText } from './dom.js';

export const TYPES = {
  strike: { label: 'Strike', glyph: '▲', tone: 'violence' },
  shelling: { label: 'Shelling', glyph: '●', tone: 'violence' },
  clash: { label: 'Clash', glyph: '✕', tone: 'violence' },
  ceasefire_agreed: { label: 'Ceasefire agreed', glyph: '◆', tone: 'truce' },
  ceasefire_breached: { label: 'Breach reported', glyph: '◇', tone: 'breach' },
  ceasefire_ended: { label: 'Ceasefire ended', glyph: '■', tone: 'breach' },
  casualty_report: { label: 'Casualty report', glyph: '✚', tone: 'report' },
  displacement: { label: 'Displacement', glyph: '➔', tone: 'report' },
  statement: { label: 'Statement', glyph: '❝', tone: 'statement' },
};

const AMENDMENTS = { correction: 'Correction', retraction: 'Retraction' };

export function typeLabel(type) {
  return TYPES[type]?.label ?? AMENDMENTS[type] ?? type;
}

export function mark(type) {
  const known = TYPES[type] ?? { label: type, glyph: '•', tone: 'report' };
  return h('span', { class: `mark tone-${known.tone}` },
    h('span', { class: 'glyph', 'aria-hidden': 'true' }, known.glyph), known.label);
}

function place(location) {
  if (!location?.name) return null;
  const where = [location.name, location.admin1, location.country].filter(Boolean).join(', ');
  return h('span', { class: 'place' }, where);
}

/** '12 (range 10–14)', '41 (at least 41)': the best estimate and its stated bounds. */
export function figure(best, low, high) {
  if (best == null && low == null && high == null) return null;
  const main = best != null ? num(best) : 'unknown';
  if (low != null && high != null) return `${main} (range ${num(low)}–${num(high)})`;
  if (low != null) return `${main} (at least ${num(low)})`;
  if (high != null) return `${main} (at most ${num(high)})`;
  return main;
}

function fact(label, value, cls) {
  if (value == null || value === '' || (Array.isArray(value) && !value.length)) return null;
  const text = Array.isArray(value) ? value.join(', ') : value;
  return h('div', { class: `fact${cls ? ` ${cls}` : ''}` }, h('dt', {}, label), h('dd', {}, text));
}

function facts(item) {
  const time = (stamp) => (stamp ? timeText(stamp) : null);
  return [
    fact('Killed', figure(item.killed, item.killed_low, item.killed_high), 'casualty'),
    fact('Wounded', figure(item.wounded, item.wounded_low, item.wounded_high), 'casualty'),
    fact('Displaced', item.displaced != null ? num(item.displaced) : null, 'casualty'),
    fact('Population', item.population != null ? num(item.population) : null),
    fact('Perpetrator (alleged)', item.perpetrator),
    fact('Initiator (alleged)', item.initiator),
    fact('Parties', item.parties),
    fact('Mediators', item.mediators),
    fact('Party', item.party),
    fact('Accused', item.accused),
    fact('Reported by', item.reported_by),
    fact('Target', item.target),
    fact('Weapon', item.weapon),
    fact('Ceasefire', item.ceasefire_id),
    fact('Effective', time(item.effective_at)),
    fact('Ends', time(item.ends_at)),
    fact('Reason', item.reason),
  ];
}

export function sources(list) {
  if (!list?.length) return null;
  return h('p', { class: 'sources' }, h('span', { class: 'label' }, 'Sources: '),
    list.map((source, i) => [
      i ? '; ' : '',
      source.url
        ? h('a', { href: source.url, rel: 'noopener noreferrer', target: '_blank' }, source.name)
        : source.name,
      source.published_at ? ` (${timeText(source.published_at)})` : '',
    ]));
}

function badges(item, openHistory) {
  const badge = (kind, text) => h('button', {
    type: 'button',
    class: `badge badge-${kind}`,
    'aria-haspopup': 'dialog',
    title: 'Show this event as first recorded and every amendment',
    onclick: () => openHistory(item.event_id),
  }, text);
  return [
    item.corrected ? badge('corrected', 'Corrected') : null,
    item.retracted ? badge('retracted', 'Retracted') : null,
  ];
}

export function entry(item, openHistory) {
  const statement = item.text
    ? h('blockquote', { class: 'quote' }, item.speaker ? h('cite', {}, `${item.speaker}: `) : null,
      item.text)
    : null;
  const terms = item.terms ? h('p', { class: 'terms' }, `Terms: ${item.terms}`) : null;
  const list = facts(item).filter(Boolean);
  return h('li', {
    class: `event${item.retracted ? ' is-retracted' : ''}`,
    'data-event-id': item.event_id,
    'data-position': item.position,
    'data-type': item.type,
  },
  h('div', { class: 'when' }, timeEl(item.occurred_at, occurredText(item)),
    h('span', { class: 'position', title: 'Position in the log' }, `#${item.position}`)),
  h('div', { class: 'what' },
    h('div', { class: 'headline' }, mark(item.type), place(item.location),
      badges(item, openHistory)),
    item.summary ? h('p', { class: 'summary' }, item.summary) : null,
    statement,
    terms,
    list.length ? h('dl', { class: 'facts' }, list) : null,
    sources(item.sources)));
}

/** A field's value as a reader reads it: names and places, not JSON. */
function valueText(value) {
  if (value === null) return 'cleared';
  if (Array.isArray(value)) return value.map(valueText).join('; ');
  if (typeof value !== 'object') return String(value);
  if ('name' in value) {
    const where = [value.name, value.admin1, value.country].filter(Boolean).join(', ');
    const point = value.lat != null ? ` (${value.lat}, ${value.lon})` : '';
    const link = value.url ? ` <${value.url}>` : '';
    return `${where}${point}${link}`;
  }
  return Object.entries(value).map(([k, v]) => `${k}: ${valueText(v)}`).join('; ');
}

function fieldList(fields) {
  return h('dl', { class: 'facts' }, Object.entries(fields).map(([name, value]) =>
    h('div', { class: 'fact' }, h('dt', {}, name), h('dd', {}, valueText(value)))));
}

function recorded(record) {
  return h('p', { class: 'recorded' }, `Position ${record.position}, recorded `,
    timeEl(record.recorded_at), ` by ${record.recorded_by}`);
}

/** The history dialog's content: the event as first recorded, then each amendment. */
export function history(record) {
  const original = record.event;
  const { type, event_id: id, conflict, ...fields } = original;
  const steps = (record.history ?? []).map((step) => {
    const event = step.event;
    const body = event.type === 'retraction'
      ? h('p', {}, `Retracted: ${event.reason}`)
      : fieldList(event.changes ?? {});
    const title = event.type === 'retraction' ? 'Retraction' : 'Correction';
    return h('li', { class: `step step-${event.type}` }, h('h3', {}, title), recorded(step), body,
      sources(event.sources));
  });
  return [
    h('section', { class: 'original' },
      h('h3', {}, `As first recorded: ${typeLabel(type)}`),
      recorded(record),
      fieldList(fields)),
    steps.length
      ? h('ol', { class: 'steps' }, steps)
      : h('p', {}, 'No correction or retraction as of this view.'),
    h('p', { class: 'muted' }, `Event ${id} in ${conflict}`),
  ];
}
