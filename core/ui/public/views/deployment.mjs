/* global confirm */
/**
 * #/deployments/<name>: the deployment's layer cake, totals, failing node-roles (each with Retry: an apply
 * or a remove that failed), its role graph, its blueprint (views/blueprint.mjs), and Commit / Propose /
 * Delete deployment (not for the root, `system`; asks first, views/removal.mjs). Live: every event on GET /events/stream that may concern this
 * deployment triggers a refetch of its status, at most 4 per second; a reconnect refetches too. Once it
 * is deleted (its status answers 404 after it was shown) the page says so and stops refetching.
 */
import { describe, get, list, post, seg, throttle, watchEvents } from '../api.mjs';
import { badge, h, link, notify, para, replace } from '../dom.mjs';
import { roleGraph } from '../svg-graph.mjs';
import { blueprintSection } from './blueprint.mjs';
import { layerCake, totals } from './layer-cake.mjs';
import { deleteDeployment } from './removal.mjs';

function failingList(status, retry) {
  if (status.failing.length === 0) return h('p', { class: 'muted' }, 'Nothing is failing.');
  const states = new Map(status.nodes.flatMap((n) => n.nodeRoles.map((nr) => [nr.id, nr.state])));
  return h(
    'ul',
    { class: 'failing' },
    status.failing.map((f) =>
      h(
        'li',
        { 'data-node-role': f.nodeRoleId, 'data-state': states.get(f.nodeRoleId) ?? 'error' },
        h('div', {}, badge(states.get(f.nodeRoleId) ?? 'error', f.role), ' on ', link(f.node, 'nodes', f.node), ` · ${f.layer}`), // prettier-ignore
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
  const buttons = h('span', { class: 'title-buttons' });
  const blueprintBox = blueprintSection(name, signal);
  let deploymentId = null;
  let roles = [];
  let last = null;
  let gone = false;
  let parentName = 'its parent';

  /** The deployment was deleted while the page showed it: say so, and fetch nothing more. */
  const deleted = () => {
    gone = true;
    replace(state, badge('deleted'));
    replace(buttons);
    replace(
      totalsBox,
      para(`Deployment ${name} is deleted; its nodes went back to ${parentName}.`),
      h('p', {}, link('All deployments', '')),
    );
    totalsBox.id = 'deployment-gone';
    [cakeBox, failingBox, graphBox, blueprintBox].forEach((b) => replace(b));
  };

  const refresh = throttle(async () => {
    if (gone) return;
    try {
      const status = await get(`${path}/status`, { signal });
      if (signal.aborted) return;
      deploymentId = status.deployment.id;
      last = status;
      replace(state, badge(status.deployment.state));
      replace(totalsBox, totals(status));
      replace(cakeBox, layerCake(status));
      replace(failingBox, failingList(status, retry));
      replace(graphBox, roleGraph(roles, status));
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 404 && last) deleted();
      else notify(describe(err));
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
  const remove = async (parent) => {
    try {
      // The dialog counts what goes from the status: the last one shown, or a fresh one before the first.
      const status = last ?? (await get(`${path}/status`, { signal }));
      if (await deleteDeployment({ name, parent, status, signal })) refresh();
    } catch (err) {
      if (!signal.aborted) notify(describe(err));
    }
  };

  main.append(
    h('div', { class: 'title-row' }, h('h1', {}, name), state, live, h('span', { class: 'spacer' }), buttons),
    totalsBox,
    h('h2', {}, 'Layer cake'),
    cakeBox,
    h('h2', {}, 'Failing'),
    failingBox,
    h('h2', {}, 'Role graph'),
    graphBox,
    h('h2', {}, 'Blueprint'),
    blueprintBox,
  );

  replace(
    buttons,
    h('button', { type: 'button', id: 'commit', onclick: commit }, 'Commit'),
    h('button', { type: 'button', id: 'propose', class: 'secondary', onclick: propose }, 'Propose'),
  );
  try {
    roles = await list('/roles', { signal });
    const deployments = await list('/deployments', { signal });
    const record = deployments.find((d) => d.name === name);
    const parent = deployments.find((d) => d.id === record?.parentId);
    if (parent) parentName = parent.name;
    // The root (`system`) cannot be deleted: nodes leave it by moving or retiring.
    if (record && parent && !record.system)
      buttons.append(h('button', { type: 'button', id: 'delete-deployment', class: 'danger', onclick: () => remove(parent.name) }, 'Delete deployment')); // prettier-ignore
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
