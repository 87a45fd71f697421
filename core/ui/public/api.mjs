/* global fetch, sessionStorage, TextDecoderStream */
/**
 * The API client: every request goes to `/api/v2` with `Authorization: Bearer <token>`; the token lives in
 * sessionStorage (this tab only, gone when it closes) and is never shown or put in a URL.
 *
 * Contract: a non-2xx answer throws ApiError {status, code, message, details}; a 401 also clears the
 * session and calls the handler set with onUnauthorized (the app goes back to #/login with the message).
 * Nothing is retried here except the event stream, which reconnects with backoff.
 */
const BASE = '/api/v2';
const TOKEN_KEY = 'anneal.token';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let unauthorized = () => undefined;
let identity = null;

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  /** The calling token's {name, role} once verified (GET /whoami), else null. */
  who: () => identity,
  async login(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      identity = await get('/whoami');
      return identity;
    } catch (err) {
      session.logout();
      throw err;
    }
  },
  /** Restores the identity of a token kept from earlier in this tab; null when there is none. */
  async resume() {
    if (!session.token()) return null;
    if (!identity) identity = await get('/whoami');
    return identity;
  },
  logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    identity = null;
  },
};

/** Called with the ApiError of any 401 (the session is already cleared). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

function headers(body) {
  const h = { accept: 'application/json' };
  const token = session.token();
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  return h;
}

async function fail(res) {
  const body = await res.json().catch(() => ({}));
  const e = body.error ?? {};
  const err = new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.details);
  if (res.status === 401) {
    session.logout();
    unauthorized(err);
  }
  return err;
}

/** One request; resolves with the parsed JSON answer (null for 204). */
export async function api(method, path, body, { signal } = {}) {
  const res = await fetch(BASE + path, {
    method,
    headers: headers(body),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    signal,
  });
  if (!res.ok) throw await fail(res);
  return res.status === 204 ? null : res.json();
}

/** A GET whose answer is text (a blueprint as YAML), not JSON; errors as api(). */
export async function getText(path, { signal } = {}) {
  const res = await fetch(BASE + path, { headers: headers(), cache: 'no-store', signal });
  if (!res.ok) throw await fail(res);
  return res.text();
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/** Every item of a paged list route, 1000 at a time. */
export async function list(path, opts) {
  const sep = path.includes('?') ? '&' : '?';
  const items = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await get(`${path}${sep}offset=${offset}&limit=1000`, opts);
    items.push(...page.items);
    if (page.items.length < 1000) return items;
  }
}

/** Encodes one path segment (a name or id). */
export const seg = (ref) => encodeURIComponent(String(ref));

/** The line to show for a failed action: a 403 names the token's role. */
export function describe(err) {
  if (err instanceof ApiError && err.status === 403) {
    const role = err.details?.role ?? identity?.role ?? 'unknown';
    return `your token (role ${role}) cannot do this: ${err.message}`;
  }
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return String(err?.message ?? err);
}

/** Splits a text/event-stream buffer into complete messages; returns [messages, rest]. */
export function parseEvents(buffer) {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  const messages = [];
  for (const block of blocks) {
    const msg = { event: 'message', data: '' };
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') msg.data += (msg.data ? '\n' : '') + value;
      else if (field === 'event' || field === 'id') msg[field] = value;
    }
    if (msg.data) messages.push(msg);
  }
  return [messages, rest];
}

/**
 * Follows GET /events/stream (fetch + ReadableStream: EventSource cannot send the Authorization header)
 * until `signal` aborts. Calls onEvent with each parsed `data` object and onState('live' | 'reconnecting')
 * on every change. A dropped stream reconnects after 0.5 s, doubling to 15 s, back to 0.5 s once one
 * connects; a 401 stops it (the session is over). The caller refetches whatever it shows on 'live',
 * so events missed while disconnected cannot leave it stale.
 */
export async function watchEvents(onEvent, { signal, onState = () => undefined }) {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const res = await fetch(`${BASE}/events/stream`, { headers: headers(), cache: 'no-store', signal });
      if (!res.ok) throw await fail(res);
      onState('live');
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const [messages, rest] = parseEvents(buffer + value);
        buffer = rest;
        for (const m of messages) {
          try {
            onEvent(JSON.parse(m.data), m.event);
          } catch {
            /* a malformed message is skipped */
          }
        }
      }
    } catch (err) {
      if (signal.aborted || (err instanceof ApiError && err.status === 401)) return;
    }
    if (signal.aborted) return;
    onState('reconnecting');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15_000);
  }
}

/**
 * Wraps an async `fn` so that calls run it at most once per `minMs`, never twice at once, and a call
 * arriving while it runs schedules one more run after it: the last change is always fetched.
 */
export function throttle(fn, minMs) {
  let last = 0;
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    running = true;
    last = Date.now();
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        trigger();
      }
    }
  };
  const trigger = () => {
    if (running) again = true;
    else if (!timer) timer = setTimeout(run, Math.max(0, last + minMs - Date.now()));
  };
  trigger.cancel = () => {
    clearTimeout(timer);
    timer = null;
    again = false;
  };
  return trigger;
}
