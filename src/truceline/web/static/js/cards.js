// The ceasefire cards: each status in colour and in words.

import { h, num, timeEl } from './dom.js';

export const STATUS = {
  holding: { word: 'Holding', note: 'In effect, no counted breach.' },
  violated: { word: 'Violated', note: 'In effect, with counted breaches.' },
  agreed: { word: 'Agreed', note: 'Agreed, not yet in effect.' },
  superseded: { word: 'Superseded', note: 'Replaced by a later ceasefire.' },
  collapsed: { word: 'Collapsed', note: 'Ended by a collapse.' },
  ended: { word: 'Ended', note: 'No longer in effect.' },
};

const ENDED = { terminated: 'terminated', expired: 'expired (its end date passed)',
  collapsed: 'collapsed' };

function row(label, ...value) {
  if (value.every((v) => v == null || v === '')) return null;
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

function when(stamp) {
  return stamp ? timeEl(stamp) : null;
}

function breaches(tally) {
  const parties = Object.entries(tally.by_party ?? {}).sort((a, b) => b[1] - a[1]);
  const others = [
    ['contested', tally.contested, 'blamed on two or more'],
    ['unattributed', tally.unattributed, 'blamed on nobody'],
    ['possible', tally.possible, 'may fall outside the period; not counted'],
  ];
  return h('div', { class: 'breaches' },
    h('p', { class: 'total' }, h('strong', { class: 'count' }, num(tally.total)),
      tally.total === 1 ? ' counted breach' : ' counted breaches'),
    parties.length
      ? h('ul', { class: 'by-party', 'aria-label': 'Counted breaches by party' },
        parties.map(([party, n]) => h('li', {}, h('span', {}, party), h('strong', {}, num(n)))))
      : null,
    h('ul', { class: 'tallies' }, others.map(([name, n, why]) =>
      h('li', { title: why }, `${num(n ?? 0)} ${name}`))));
}

export function card(status, { selected, onSelect }) {
  const known = STATUS[status.status] ?? { word: status.status, note: '' };
  const note = status.status === 'ended' && status.ended_reason
    ? `Ended: ${ENDED[status.ended_reason] ?? status.ended_reason}.`
    : known.note;
  const mediated = status.mediators?.length ? `, mediated by ${status.mediators.join(', ')}` : '';
  return h('article', {
    class: `card status-${status.status}${selected ? ' is-selected' : ''}`,
    'data-ceasefire-id': status.ceasefire_id,
    'data-status': status.status,
    'aria-labelledby': `cf-${status.ceasefire_id}`,
  },
  h('header', {},
    h('h3', { id: `cf-${status.ceasefire_id}` }, status.ceasefire_id),
    h('p', { class: 'status' }, h('span', { class: 'status-word' }, known.word),
      h('span', { class: 'status-note' }, ` ${note}`))),
  h('p', { class: 'parties' }, `${(status.parties ?? []).join(' – ')}${mediated}`),
  h('dl', { class: 'facts' },
    row('In effect since', when(status.effective_at)),
    row('Agreed', when(status.agreed_at)),
    row('Ends', when(status.ends_at)),
    row('Ended', when(status.ended_at)),
    row('Superseded by', status.superseded_by),
    row('Last breach', when(status.last_breach_at))),
  breaches(status.breaches ?? {}),
  h('button', {
    type: 'button', class: 'link-button', 'aria-pressed': selected ? 'true' : 'false',
    onclick: () => onSelect(status.ceasefire_id),
  }, selected ? 'Shown in the chart' : 'Show in the chart'));
}
