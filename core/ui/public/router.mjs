/* global AbortController, window, location */
/**
 * Hash routing: `#/login`, `#/`, `#/deployments/<name>`, `#/deployments/<name>/plan`, `#/blueprints/plan`,
 * `#/nodes/<name>`. Each view is `(main, params, signal) => void | Promise`: it renders into `main` and stops
 * everything it started (fetches, the event stream, timers) when `signal` aborts, which happens when the
 * route changes.
 */

function decode(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** `routes`: [[/^regex$/, view], …] matched against the decoded path after `#`; `fallback` otherwise. */
export function startRouter(main, routes, fallback, before = () => true) {
  let current = null;
  const render = async () => {
    current?.abort();
    const { signal } = (current = new AbortController());
    const path = location.hash.replace(/^#/, '') || '/';
    if (!(await before(path)) || signal.aborted) return;
    main.replaceChildren();
    for (const [pattern, view] of routes) {
      const m = pattern.exec(path);
      const params = m?.slice(1).map(decode);
      if (params && !params.includes(null)) return view(main, params, signal);
    }
    return fallback(main, [], signal);
  };
  window.addEventListener('hashchange', render);
  return render();
}

/** Goes to a route; re-renders even when it is the current one. */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new window.HashChangeEvent('hashchange'));
  else location.hash = hash;
}
