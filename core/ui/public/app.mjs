/* global document, location, sessionStorage */
/**
 * The web UI's entry point (docs/ui.md): token login, the header (who is logged in, log out), and the
 * routes. Without a token every route goes to #/login first and comes back after it.
 */
import { describe, onUnauthorized, session } from './api.mjs';
import { notify, notifyRouted, replace } from './dom.mjs';
import { go, startRouter } from './router.mjs';
import { planView } from './views/blueprint.mjs';
import { deploymentView } from './views/deployment.mjs';
import { deploymentsView } from './views/deployments.mjs';
import { loginMessage, loginView } from './views/login.mjs';
import { nodeView } from './views/node.mjs';

const NEXT_KEY = 'anneal.next';
const who = document.getElementById('who');
const logout = document.getElementById('logout');

function showWho() {
  const me = session.who();
  replace(who, me ? `${me.name} (${me.role})` : '');
  logout.hidden = !me;
}

/** To #/login, coming back to the current route after it; `message` (if any) is shown on the form. */
function toLogin(message) {
  if (!location.hash.startsWith('#/login')) sessionStorage.setItem(NEXT_KEY, location.hash || '#/');
  if (message !== undefined) loginMessage(message);
  showWho();
  go('#/login');
}

onUnauthorized((err) => {
  if (!location.hash.startsWith('#/login')) toLogin(`Please log in again: ${err.message}`);
});

logout.addEventListener('click', () => {
  session.logout();
  sessionStorage.removeItem(NEXT_KEY);
  toLogin('Logged out.');
});

/** Runs before every route: a token is needed everywhere but #/login. */
async function guard(path) {
  notifyRouted();
  if (path === '/login') return true;
  if (!session.token()) {
    toLogin();
    return false;
  }
  try {
    await session.resume();
  } catch (err) {
    if (!session.token()) return false; // a 401: already on the way to #/login
    notify(describe(err));
  }
  showWho();
  return true;
}

function afterLogin() {
  showWho();
  const next = sessionStorage.getItem(NEXT_KEY) || '#/';
  sessionStorage.removeItem(NEXT_KEY);
  go(next.startsWith('#/login') ? '#/' : next);
}

function notFound(main) {
  replace(main, 'No such page. ');
  main.append(Object.assign(document.createElement('a'), { href: '#/', textContent: 'Deployments' }));
}

startRouter(
  document.getElementById('main'),
  [
    [/^\/login$/, loginView(afterLogin)],
    [/^\/$/, deploymentsView],
    [/^\/deployments\/([^/]+)$/, deploymentView],
    [/^\/deployments\/([^/]+)\/plan$/, planView],
    [/^\/blueprints\/plan$/, planView],
    [/^\/nodes\/([^/]+)$/, nodeView],
  ],
  notFound,
  guard,
);
