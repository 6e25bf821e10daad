// The page at /: a conflict's ceasefires, breaches per day, map and timeline, as Truceline
// answers them now (live) or as it answered at a log position (as_of, pinned).

import { getJson, key, logPosition, positionAt } from './js/api.js';
import { card } from './js/cards.js';
import { chart } from './js/chart.js';
import { dayText, h, num, replace } from './js/dom.js';
import { countries, drawMap } from './js/map.js';
import { follow } from './js/stream.js';
import { entry, history, TYPES, typeLabel } from './js/timeline.js';

const PAGE = 50;
const MOST_KEPT = 500; // a live refresh re-reads the listed items, up to this many
const MOST_CARDS = 6; // ceasefire cards shown before 'show all'
const REFRESH_DELAY = 300; // ms: entries arriving together cause one refresh

const $ = (id) => document.getElementById(id);

const POSITION = /^\d+$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

// ---- the view: what the URL's query string asks for --------------------------------

function readQuery(query) {
  return {
    conflict: query.get('conflict') ?? '',
    types: query.getAll('type').filter((t) => t in TYPES),
    actor: query.get('actor') ?? '',
    location: query.get('location') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    order: query.get('order') === 'asc' ? 'asc' : 'desc',
    includeRetracted: query.get('include_retracted') === 'true',
    at: query.get('at') ?? '',
    asOf: query.get('as_of') ?? '',
    ceasefire: query.get('ceasefire') ?? '',
  };
}

function writeQuery(view, asOf) {
  const query = new URLSearchParams();
  const put = (name, value) => value && query.set(name, value);
  put('conflict', view.conflict);
  for (const type of view.types) query.append('type', type);
  put('actor', view.actor);
  put('location', view.location);
  put('from', view.from);
  put('to', view.to);
  if (view.order !== 'desc') query.set('order', view.order);
  if (view.includeRetracted) query.set('include_retracted', 'true');
  put('at', view.at);
  put('as_of', asOf);
  put('ceasefire', view.ceasefire);
  const text = query.toString();
  return text ? `/?${text}` : '/';
}

const view = readQuery(new URLSearchParams(window.location.search));

// What the page holds: the position it shows, the reads it made, the live feed.
const page = {
  generation: 0,
  loading: Promise.resolve(),
  position: null,
  knowledge: {},
  conflicts: null,
  statuses: [],
  items: [],
  cursor: null,
  stream: null,
  streamConflict: null,
  arrivals: [],
  world: null,
};

/** A time control's text as the API's value: a date means the end of that UTC day. */
function apiTime(text) {
  const value = text.trim();
  return DAY.test(value) ? `${value}T23:59:59Z` : value;
}

const pinned = () => view.asOf.trim() !== '';

// ---- messages ------------------------------------------------------------------------

function say(text) {
  replace($('messages'), text ? h('p', {}, text) : null);
}

function report(error) {
  if (error?.needsKey) {
    askForKey(key.get() ? `That key was not accepted: ${error.detail}` : '');
    return;
  }
  const detail = error?.detail ?? `The server could not be reached (${error?.message ?? error}).`;
  const before = page.position == null ? '' : ' The page still shows the view before.';
  say(`${detail}${before}`);
}

function showKeyPanel(shown) {
  $('key-panel').hidden = !shown;
  $('content').hidden = shown;
  document.body.classList.toggle('needs-key', shown);
}

function askForKey(problem) {
  stopStream();
  showKeyPanel(true);
  $('key-error').textContent = problem;
  setLive('off', 'Waiting for a key');
  $('key-input').focus();
}

// ---- reads -----------------------------------------------------------------------------

async function pinnedPosition(last) {
  const asOf = view.asOf.trim();
  if (POSITION.test(asOf)) return Number(asOf);
  return positionAt(apiTime(asOf), last);
}

async function readConflicts(knowledge) {
  try {
    return (await getJson('/v1/conflicts', knowledge)).items;
  } catch (error) {
    if (error.status === 404 || error.status === 405) return null; // an older server
    throw error;
  }
}

function chooseConflict(conflicts) {
  if (view.conflict || !conflicts?.length) return view.conflict;
  // No conflict asked for: the one with the latest event.
  return [...conflicts].sort((a, b) => a.last_occurred_at.localeCompare(b.last_occurred_at))
    .pop().conflict;
}

function timelineQuery(extra) {
  return {
    conflict: view.conflict,
    type: view.types,
    actor: view.actor,
    location: view.location,
    from: view.from ? `${view.from}T00:00:00Z` : '',
    to: view.to ? `${view.to}T23:59:59.999999Z` : '',
    order: view.order,
    include_retracted: view.includeRetracted ? 'true' : '',
    ...page.knowledge,
    ...extra,
  };
}

async function readStatuses(knowledge) {
  if (!view.conflict) return [];
  const query = { conflict: view.conflict, at: apiTime(view.at), by_day: 'true', ...knowledge };
  return (await getJson('/v1/ceasefires', query)).items;
}

/**
 * Read everything the page shows at one log position: the position given (pinned), or
 * the log's last one now, read with min_position so every part has reached it.
 * `keep` is how many timeline items to re-read (a live refresh keeps what was listed).
 */
function load({ keep = PAGE } = {}) {
  const generation = ++page.generation;
  const current = () => generation === page.generation;
  $('content').setAttribute('aria-busy', 'true');
  page.loading = (async () => {
    try {
      const last = await logPosition();
      const position = pinned() ? await pinnedPosition(last) : last;
      const knowledge = pinned() ? { as_of: position } : { min_position: position || '' };
      if (!current()) return;
      Object.assign(page, { position, knowledge });
      const conflicts = readConflicts(knowledge).then((answer) => {
        if (!current()) return;
        page.conflicts = answer;
        view.conflict = chooseConflict(answer);
        renderControls();
        renderHeading();
      });
      if (!view.conflict) await conflicts; // the default conflict is chosen from the list
      if (!current()) return;
      renderLinks();
      // Each part is drawn as soon as its answer comes: the timeline need not wait for
      // the ceasefires, which take longer on a long log.
      const limit = Math.min(Math.max(PAGE, keep), MOST_KEPT);
      const timeline = getJson('/v1/timeline', timelineQuery({ limit })).then((answer) => {
        if (!current()) return;
        Object.assign(page, { items: answer.items, cursor: answer.next_cursor });
        renderTimeline(page.items, { append: false });
        drawMapSoon();
      });
      const statuses = readStatuses(knowledge).then((answer) => {
        if (!current()) return;
        page.statuses = answer;
        renderCards();
        fillSuggestions();
      });
      const failed = (await Promise.allSettled([conflicts, timeline, statuses]))
        .find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      if (!current()) return;
      say('');
      followLog();
      $('content').dataset.position = position;
      $('content').setAttribute('aria-busy', 'false');
    } catch (error) {
      if (!current()) return;
      $('content').setAttribute('aria-busy', 'false');
      report(error);
    }
  })();
  return page.loading;
}

async function loadMore() {
  const button = $('load-more');
  button.disabled = true;
  try {
    const next = await getJson('/v1/timeline', timelineQuery({ limit: PAGE, cursor: page.cursor }));
    page.items = [...page.items, ...next.items];
    page.cursor = next.next_cursor;
    renderTimeline(next.items, { append: true });
    redrawMap();
  } catch (error) {
    report(error);
  } finally {
    button.disabled = false;
  }
}

// ---- live -----------------------------------------------------------------------------

function setLive(state, text) {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

function stopStream() {
  page.stream?.();
  page.stream = null;
  page.streamConflict = null;
}

const scheduleRefresh = (() => {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(async () => {
      await page.loading;
      timer = null;
      load({ keep: page.items.length });
    }, REFRESH_DELAY);
  };
})();

function arrived(position, logEntry) {
  page.arrivals.push({ position, event: logEntry.event });
  renderArrivals();
  scheduleRefresh();
}

/** Follow the log from the position shown, unless the view is pinned. */
function followLog() {
  if (pinned()) {
    stopStream();
    setLive('off', `Pinned to log position ${page.position}: live updates off`);
    return;
  }
  if (page.stream && page.streamConflict === view.conflict) return;
  stopStream();
  page.streamConflict = view.conflict;
  page.stream = follow({
    after: page.position,
    params: { conflict: view.conflict },
    onEntry: arrived,
    onState: (state, detail) => {
      if (state === 'live') setLive('live', 'Live: new entries appear as they are recorded');
      if (state === 'reconnecting') setLive('reconnecting', 'Connection lost: reconnecting…');
      if (state === 'waiting') setLive('reconnecting', `Live updates paused: ${detail}`);
    },
    onProblem: (problem) => {
      page.stream = null;
      if (problem.needsKey) askForKey('');
      else setLive('off', `Live updates unavailable: ${problem.detail}`);
    },
  });
}

// ---- rendering ------------------------------------------------------------------------

function conflictLabel(c) {
  return `${c.conflict} (${num(c.events)} events)`;
}

function renderControls() {
  const select = $('conflict');
  const known = page.conflicts ?? [];
  const options = known.map((c) => h('option', { value: c.conflict }, conflictLabel(c)));
  if (view.conflict && !known.some((c) => c.conflict === view.conflict)) {
    options.push(h('option', { value: view.conflict }, view.conflict));
  }
  if (!options.length) options.push(h('option', { value: '' }, 'No conflict recorded yet'));
  replace(select, options);
  select.value = view.conflict;
}

function renderHeading() {
  const current = page.conflicts?.find((c) => c.conflict === view.conflict);
  $('page-title').textContent = view.conflict || 'No conflict recorded yet';
  document.title = `${view.conflict || 'Truceline'}: timeline and ceasefires · Truceline`;
  const known = pinned()
    ? `As known at log position ${page.position}${POSITION.test(view.asOf.trim()) ? ''
      : ` (the last recorded by ${view.asOf.trim()})`}`
    : `As known now, log position ${page.position}`;
  let state = view.at ? `ceasefires as they stood on ${view.at}` : 'ceasefires as they stand now';
  if (!view.at && pinned()) state = 'ceasefires as they stood when that entry was recorded';
  $('at').placeholder = pinned() ? 'as recorded then' : 'now';
  const span = current
    ? `${num(current.events)} events, ${dayText(current.first_occurred_at)} to `
      + `${dayText(current.last_occurred_at)}. `
    : '';
  $('view-summary').textContent = `${span}${known}; ${state}.`;
  $('pinned').hidden = !pinned();
  $('pinned-text').textContent = pinned()
    ? `You are reading the record as Truceline knew it at log position ${page.position}: `
      + 'later entries and corrections are left out, and live updates are off.'
    : '';
}

function chartChoice() {
  const ids = page.statuses.map((st) => st.ceasefire_id);
  if (ids.includes(view.ceasefire)) return view.ceasefire;
  const inEffect = page.statuses.filter((st) => ['holding', 'violated'].includes(st.status));
  return (inEffect.pop() ?? page.statuses[page.statuses.length - 1])?.ceasefire_id ?? '';
}

function cardsToggle(count) {
  const toggle = () => {
    page.allCards = !page.allCards;
    renderCards();
  };
  return h('button', { type: 'button', class: 'secondary', onclick: toggle,
    'aria-expanded': page.allCards ? 'true' : 'false' },
  page.allCards ? `Show the latest ${MOST_CARDS} only` : `Show all ${num(count)} ceasefires`);
}

function renderCards() {
  const chosen = chartChoice();
  const select = (id) => {
    view.ceasefire = id;
    renderCards();
    renderLinks();
  };
  const all = page.statuses;
  const shown = page.allCards ? all : all.slice(-MOST_CARDS);
  const cards = shown.map((st) => card(st, { selected: st.ceasefire_id === chosen,
    onSelect: select }));
  replace($('cards'), cards.length ? cards
    : h('p', { class: 'empty' }, 'No ceasefire agreed in this view.'));
  replace($('cards-more'), all.length > MOST_CARDS ? cardsToggle(all.length) : null);
  $('cards-note').textContent = all.length > shown.length
    ? `The latest ${shown.length} of ${num(all.length)}, by the start of their period in effect.`
    : '';
  const status = all.find((st) => st.ceasefire_id === chosen);
  replace($('chart'), status ? chart(status)
    : h('p', { class: 'empty' }, 'No ceasefire to chart.'));
}

function renderTimeline(items, { append }) {
  const list = $('events');
  const entries = items.map((item) => entry(item, openHistory));
  if (append) list.append(...entries);
  else replace(list, entries.length ? entries : null);
  const more = $('load-more');
  more.hidden = !page.cursor;
  const filtered = view.types.length || view.actor || view.location || view.from || view.to;
  const total = page.conflicts?.find((c) => c.conflict === view.conflict)?.events;
  const shown = page.items.length;
  let count = `Listing ${num(shown)}`;
  if (!filtered && total != null && !view.includeRetracted) count += ` of ${num(total)}`;
  count += shown === 1 ? ' event' : ' events';
  if (filtered) count += ' matching the filters';
  if (page.cursor) count += '; more to load';
  $('timeline-count').textContent = shown ? count : 'No event matches this view.';
  fillSuggestions();
}

function fillSuggestions() {
  const actors = new Set(page.statuses.flatMap((st) => [...st.parties, ...(st.mediators ?? [])]));
  const places = new Set();
  for (const item of page.items) {
    for (const name of [item.perpetrator, item.initiator, item.accused, item.speaker,
      item.party, ...(item.parties ?? [])]) {
      if (name) actors.add(name);
    }
    if (item.location?.name) places.add(item.location.name);
  }
  const options = (names) => [...names].sort().map((name) => h('option', { value: name }));
  replace($('actor-list'), options(actors));
  replace($('place-list'), options(places));
}

function renderArrivals() {
  let panel = $('arrivals-panel');
  if (!panel) {
    panel = h('details', { id: 'arrivals-panel', class: 'arrivals' },
      h('summary', { id: 'arrivals-summary' }), h('ol', { id: 'arrivals' }));
    $('live').after(panel);
  }
  const n = page.arrivals.length;
  $('arrivals-summary').textContent = `${num(n)} new log ${n === 1 ? 'entry' : 'entries'} `
    + 'since this page opened';
  const latest = page.arrivals[page.arrivals.length - 1];
  const event = latest.event;
  const target = event.corrects_event_id ?? event.retracts_event_id;
  const where = event.location?.name ? `, ${event.location.name}` : '';
  const what = target ? `${typeLabel(event.type)} of event ${target.slice(0, 8)}`
    : `${typeLabel(event.type)}${where}`;
  $('arrivals').prepend(h('li', { 'data-position': latest.position,
    'data-event-id': event.event_id }, `#${latest.position} ${what}`));
}

function renderLinks() {
  const own = writeQuery(view, view.asOf.trim());
  window.history.replaceState(null, '', own);
  const cite = writeQuery(view, page.position == null ? '' : String(page.position));
  const link = $('permalink');
  link.href = cite;
  $('position-note').textContent = page.position == null ? '' : `log position ${page.position}`;
  $('forget-key').hidden = !key.get();
}

// ---- the map, after the first render ---------------------------------------------------

function redrawMap() {
  if (page.world) drawMap($('map'), page.items, page.world);
}

function drawMapSoon() {
  if (page.world) {
    redrawMap();
    return;
  }
  const start = () => countries().then((world) => {
    page.world = world;
    redrawMap();
  }).catch((error) => {
    replace($('map'), h('p', { class: 'empty' }, `The map could not be drawn: ${error.message}`));
  });
  if ('requestIdleCallback' in window) window.requestIdleCallback(start, { timeout: 500 });
  else setTimeout(start, 0);
}

// ---- history ---------------------------------------------------------------------------

async function openHistory(eventId) {
  const dialog = $('history');
  replace($('history-body'), h('p', {}, 'Loading…'));
  dialog.showModal();
  try {
    const query = pinned() ? { as_of: page.position } : {};
    const record = await getJson(`/v1/events/${encodeURIComponent(eventId)}`, query);
    replace($('history-body'), history(record));
  } catch (error) {
    if (error.needsKey) {
      dialog.close();
      report(error);
      return;
    }
    replace($('history-body'), h('p', { class: 'field-error' }, error.detail ?? String(error)));
  }
}

// ---- controls --------------------------------------------------------------------------

function fillForms() {
  $('as-of').value = view.asOf;
  $('at').value = view.at;
  $('actor').value = view.actor;
  $('location').value = view.location;
  $('from').value = view.from;
  $('to').value = view.to;
  $('order').value = view.order;
  $('include-retracted').checked = view.includeRetracted;
  replace($('type-options'), Object.entries(TYPES).map(([type, known]) => {
    const id = `type-${type}`;
    return h('div', { class: 'check' },
      h('input', { type: 'checkbox', id, name: 'type', value: type,
        checked: view.types.includes(type) }),
      h('label', { for: id },
        h('span', { class: `glyph tone-${known.tone}`, 'aria-hidden': 'true' }, known.glyph),
        known.label));
  }));
}

function readForms() {
  Object.assign(view, {
    conflict: $('conflict').value,
    asOf: $('as-of').value.trim(),
    at: $('at').value.trim(),
    actor: $('actor').value.trim(),
    location: $('location').value.trim(),
    from: $('from').value,
    to: $('to').value,
    order: $('order').value,
    includeRetracted: $('include-retracted').checked,
    types: [...document.querySelectorAll('#type-options input:checked')].map((i) => i.value),
  });
}

/** A time control's text is empty, a day, a time with its offset, or (as_of) a position. */
function timeProblem(id, label, positions) {
  const value = $(id).value.trim();
  if (!value || DAY.test(value) || STAMP.test(value) || (positions && POSITION.test(value))) {
    return null;
  }
  return `${label}: enter ${positions ? 'a log position (14), ' : ''}a date (2020-10-18) or `
    + 'a time with its offset (2020-10-18T12:00:00Z).';
}

const TIME_CONTROLS = [['as-of', 'As known on', true], ['at', 'State on', false]];

function checkTimes() {
  for (const [id, label, positions] of TIME_CONTROLS) {
    const problem = timeProblem(id, label, positions);
    if (problem) {
      say(problem);
      $(id).focus();
      return false;
    }
  }
  return true;
}

function apply() {
  if (!checkTimes()) return;
  const conflictChanged = $('conflict').value !== view.conflict;
  readForms();
  if (conflictChanged) view.ceasefire = '';
  load();
}

function bind() {
  $('view-form').addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  $('conflict').addEventListener('change', apply);
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  $('filters').addEventListener('change', (event) => {
    if (event.target.matches('input[type=checkbox], select, input[type=date]')) apply();
  });
  $('clear-filters').addEventListener('click', () => {
    Object.assign(view, { types: [], actor: '', location: '', from: '', to: '',
      includeRetracted: false });
    fillForms();
    load();
  });
  $('load-more').addEventListener('click', loadMore);
  $('unpin').addEventListener('click', () => {
    view.asOf = '';
    $('as-of').value = '';
    load();
  });
  $('history-close').addEventListener('click', () => $('history').close());
  $('copy-link').addEventListener('click', async () => {
    const href = $('permalink').href;
    try {
      await navigator.clipboard.writeText(href);
      $('copy-link').textContent = 'Copied';
      setTimeout(() => { $('copy-link').textContent = 'Copy link'; }, 2000);
    } catch {
      say(`Copy this link: ${href}`);
    }
  });
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    key.set($('key-input').value.trim());
    $('key-input').value = '';
    showKeyPanel(false);
    load();
  });
  $('forget-key').addEventListener('click', () => {
    key.forget();
    window.location.reload();
  });
}

fillForms();
bind();
load();
