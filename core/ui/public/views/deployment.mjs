/* global confirm */
/**
 * #/deployments/<name>: the deployment's layer cake, totals, failing node-roles (each with Retry), its
 * role graph, and Commit / Propose. Live: every event on GET /events/stream that may concern this
 * deployment triggers a refetch of its status, at most 4 per second; a reconnect refetches too.
 */
import { describe, get, list, post, seg, throttle, watchEvents } from '../api.mjs';
import { badge, h, link, notify, replace } from '../dom.mjs';
import { roleGraph } from '../svg-graph.mjs';
import { layerCake, totals } from './layer-cake.mjs';

function failingList(status, retry) {
  if (status.failing.length === 0) return h('p', { class: 'muted' }, 'Nothing is failing.');
  return h(
    'ul',
    { class: 'failing' },
    status.failing.map((f) =>
      h(
        'li',
        { 'data-node-role': f.nodeRoleId },
        h('div', {}, badge('error', f.role), ' on ', link(f.node, 'nodes', f.node), ` · ${f.layer}`),
        h('div', { class: 'muted' }, `${f.attempts} attempt(s)${f.error ? ` · ${f.error.code}` : ''}`),
        f.error ? h('div', { class: 'message' }, f.error.message) : '',
        f.error?.details?.stderrTail ? h('pre', { class: 'stderr' }, f.error.details.stderrTail) : '',
        h('button', { type: 'button', class: 'retry', onclick: () => retry(f) }, 'Retry'),
      ),
    ),
  );
}

export async function deploymentView(main, [name], signal) {
  const path = `/deployments/${seg(name)}`;
  const state = h('span');
  const live = h('span', { class: 'live', id: 'live' }, 'connecting');
  const [totalsBox, cakeBox, failingBox, graphBox] = ['div', 'div', 'div', 'div'].map((t) => h(t));
  cakeBox.className = 'scroll';
  graphBox.className = 'scroll';
  let deploymentId = null;
  let roles = [];

  const refresh = throttle(async () => {
    try {
      const status = await get(`${path}/status`, { signal });
      if (signal.aborted) return;
      deploymentId = status.deployment.id;
      replace(state, badge(status.deployment.state));
      replace(totalsBox, totals(status));
      replace(cakeBox, layerCake(status));
      replace(failingBox, failingList(status, retry));
      replace(graphBox, roleGraph(roles, status));
    } catch (err) {
      if (!signal.aborted) notify(describe(err));
    }
  }, 250);
  signal.addEventListener('abort', () => refresh.cancel());

  const act = async (what, fn) => {
    try {
      await fn();
      notify(what, 'info');
    } catch (err) {
      notify(describe(err));
    }
    refresh();
  };
  const retry = (f) => act(`Retrying ${f.role} on ${f.node}.`, () => post(`/node-roles/${f.nodeRoleId}/retry`));
  const commit = () => act(`Committed ${name}.`, () => post(`${path}/commit`));
  const propose = () => {
    if (confirm(`Propose ${name}? Nothing new runs until it is committed again.`))
      act(`${name} is proposed.`, () => post(`${path}/propose`));
  };

  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, name),
      state,
      live,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', id: 'commit', onclick: commit }, 'Commit'),
      h('button', { type: 'button', id: 'propose', class: 'secondary', onclick: propose }, 'Propose'),
    ),
    totalsBox,
    h('h2', {}, 'Layer cake'),
    cakeBox,
    h('h2', {}, 'Failing'),
    failingBox,
    h('h2', {}, 'Role graph'),
    graphBox,
  );

  try {
    roles = await list('/roles', { signal });
  } catch (err) {
    if (!signal.aborted) notify(describe(err));
  }
  if (signal.aborted) return;
  refresh();
  watchEvents(
    (ev) => {
      const d = ev?.data?.deploymentId;
      if (d === undefined || deploymentId === null || d === deploymentId) refresh();
    },
    {
      signal,
      onState: (st) => {
        live.textContent = st;
        live.className = `live ${st}`;
        if (st === 'live') refresh();
      },
    },
  );
}
