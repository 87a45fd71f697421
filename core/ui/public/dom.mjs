/* global document */
/**
 * DOM helpers. Every value is set through textContent or setAttribute, never parsed as HTML: node names,
 * error messages and run output are hostile input (docs/ui.md, Security).
 */

/** Appends children: strings and numbers as text nodes, nodes as they are; null, undefined and false are skipped. */
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

/** `h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child)`: an HTML element. */
export function h(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs), children);
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A hash link to a route; path segments are URI-encoded, so a hostile name stays one segment. */
export function link(text, ...segments) {
  return h('a', { href: `#/${segments.map(encodeURIComponent).join('/')}` }, text);
}

/** A table: `headers` as its head row, `rows` (tr elements) as its body. */
export function table(headers, rows, attrs = {}) {
  const head = h(
    'tr',
    {},
    headers.map((t) => h('th', {}, t)),
  );
  return h('table', { class: 'grid', ...attrs }, h('thead', {}, head), h('tbody', {}, rows));
}

/** A table row, each of `cells` (text or nodes) in its own td. */
export const row = (attrs, ...cells) =>
  h(
    'tr',
    attrs,
    cells.map((c) => h('td', {}, c)),
  );

/** A button that calls `onclick`. */
export const button = (text, onclick, attrs = {}) => h('button', { type: 'button', ...attrs, onclick }, text);

/** A paragraph of text: `muted` (a note) or `error`. */
export const para = (text, kind = 'muted') => h('p', { class: kind }, text);

/** A state badge: `<span class="badge state-active">active</span>`. */
export function badge(state, text = state) {
  return h('span', { class: `badge state-${state}` }, text);
}

/** Local date and time of an epoch-ms value; '—' for none. */
export function when(ms) {
  return ms ? new Date(ms).toLocaleString() : '—';
}

/** A value for display: strings as they are, everything else as JSON. */
export function show(v) {
  if (v === null || v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Node-role states, in the order the UI lists them. */
export const STATES = ['proposed', 'blocked', 'todo', 'transition', 'active', 'error', 'removing', 'remove-error'];

/** The aggregate of a set of states (core/domain/layer-cake.ts `aggregateState`: failures, then work under way). */
export function aggregate(counts) {
  return (
    ['error', 'remove-error', 'transition', 'removing', 'todo', 'blocked', 'proposed'].find(
      (st) => (counts[st] ?? 0) > 0,
    ) ?? 'active'
  );
}

let routed = null;

/** A message for the banner of the next page (a route change empties the banner): e.g. what was applied. */
export function notifyNext(text, kind = 'info') {
  routed = [text, kind];
}

/** Empties the banner as a route starts, or shows the message notifyNext left for it. */
export function notifyRouted() {
  const [text, kind] = routed ?? [''];
  routed = null;
  notify(text, kind);
}

/** Shows a message in the banner under the header until the next one or the next route; '' hides it. */
export function notify(text, kind = 'error') {
  const el = document.getElementById('flash');
  el.className = `flash ${kind}`;
  el.textContent = text;
  el.hidden = !text;
}
