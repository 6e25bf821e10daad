// The live feed, GET /v1/stream (Server-Sent Events).
//
// The browser's EventSource cannot send an Authorization header, and reads may need a
// reader key; so the stream is read with fetch() and a streaming body reader, and parsed
// here. Resuming is ours too: after a drop we reconnect with Last-Event-ID set to the last
// position seen, and drop any message whose id is not beyond it, so no entry is lost or
// delivered twice.

import { authHeaders, problemOf, retryAfter, url } from './api.js';
import { sleep } from './dom.js';

const FIRST_DELAY = 500;
const MAX_DELAY = 5000;

/** Split a text/event-stream body into messages {id, event, data}. */
export async function* messages(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data = [];
  let event = 'message';
  let id = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // A chunk may end between the \r and \n of one line break: keep a trailing \r.
      const cut = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
      const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
      buffer = lines.pop() + buffer.slice(cut);
      for (const line of lines) {
        if (line === '') {
          if (data.length) yield { id, event, data: data.join('\n') };
          data = [];
          event = 'message';
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the server's heartbeat
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') data.push(text);
        else if (field === 'event') event = text;
        else if (field === 'id' && !text.includes('\0')) id = text;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Follow the log after position `after`. `onEntry(position, entry)` is called once per new
 * entry, in log order; `onState(state, detail)` reports the connection: 'live',
 * 'reconnecting', 'waiting' (the server asked us to come back later: detail says why) or
 * 'stopped'; `onProblem(problem)` gets an answer the page must act on (a 401, say), after
 * which the stream stops. Returns a function that stops following.
 */
export function follow({ after, params, onEntry, onState, onProblem }) {
  let last = after;
  let stopped = false;
  let controller = null;
  let live = false;

  async function connectOnce() {
    controller = new AbortController();
    const response = await fetch(url('/v1/stream', { ...params, after: last }), {
      headers: { Accept: 'text/event-stream', 'Last-Event-ID': String(last), ...authHeaders() },
      cache: 'no-store',
      signal: controller.signal,
    });
    if (!response.ok) return response;
    live = true;
    onState('live');
    for await (const message of messages(response.body)) {
      const position = Number(message.id);
      if (!Number.isSafeInteger(position) || position <= last) continue;
      const entry = JSON.parse(message.data);
      last = position;
      onEntry(position, entry);
    }
    return null; // the server closed the stream: resume where we stopped
  }

  async function run() {
    let delay = FIRST_DELAY;
    while (!stopped) {
      live = false;
      let wait = null; // what the server asked for, if it did
      try {
        const refused = await connectOnce();
        if (refused) {
          const problem = await problemOf(refused);
          if (refused.status !== 429 && refused.status !== 503) {
            stopped = true;
            onProblem(problem);
            break;
          }
          wait = retryAfter(refused, delay / 1000);
          onState('waiting', problem.detail);
        }
      } catch {
        if (stopped) break; // aborted by stop()
        // A network error or a dropped connection: try again after a short backoff.
      }
      if (stopped) break;
      if (live) delay = FIRST_DELAY; // it was up: the first retry is quick
      if (wait === null) {
        onState('reconnecting');
        wait = delay;
        delay = Math.min(delay * 2, MAX_DELAY);
      }
      await sleep(wait);
    }
    onState('stopped');
  }

  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
