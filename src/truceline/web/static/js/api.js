// Reading the /v1 API: the reader key, problem+json errors, and retries of 503/429.

import { sleep } from './dom.js';

const KEY = 'truceline.reader-key';

// The key lives in sessionStorage only: gone with the tab, never in the URL or on disk.
export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  forget: () => sessionStorage.removeItem(KEY),
};

export function authHeaders() {
  const secret = key.get();
  return secret ? { Authorization: `Bearer ${secret}` } : {};
}

/** An answer that is not 2xx; `detail` is what the person is shown. */
export class Problem extends Error {
  constructor(status, body) {
    const detail = body?.detail || body?.title || `The server answered ${status}.`;
    super(detail);
    this.status = status;
    this.detail = detail;
    this.errors = body?.errors ?? [];
  }

  get needsKey() {
    return this.status === 401;
  }
}

export function url(path, params = {}) {
  const target = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value == null || value === '') continue;
    for (const one of [value].flat()) target.searchParams.append(name, String(one));
  }
  return target;
}

/** Seconds the server asked us to wait, bounded so the page never stalls for long. */
export function retryAfter(response, fallback = 1) {
  const seconds = Number(response.headers.get('Retry-After'));
  return Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds : fallback, 5) * 1000;
}

export async function problemOf(response) {
  const body = await response.json().catch(() => null);
  return new Problem(response.status, body);
}

const RETRIES = 3;

export async function getJson(path, params) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(url(path, params), {
      headers: { Accept: 'application/json', ...authHeaders() },
      cache: 'no-store',
    });
    if (response.ok) return response.json();
    const busy = response.status === 503 || response.status === 429;
    if (!busy || attempt >= RETRIES) throw await problemOf(response);
    await sleep(retryAfter(response));
  }
}

/** The log's last position now (no key needed). */
export async function logPosition() {
  const health = await getJson('/v1/health');
  return health.log_position;
}

/**
 * The last log position recorded at or before `time`: the position an as_of time means,
 * so that a permalink can pin it. Recorded times never decrease along the log, so a
 * binary search over single entries finds it in about log2(positions) small reads.
 */
export async function positionAt(time, last) {
  const limit = Date.parse(time);
  let low = 0;
  let high = last;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    const page = await getJson('/v1/events', { after: mid - 1, limit: 1 });
    const recorded = Date.parse(page.events[0]?.recorded_at);
    if (recorded <= limit) low = mid;
    else high = mid - 1;
  }
  return low;
}
