/* global confirm */
/**
 * #/nodes/<name>: the node's record and attribs (values as the API shows them: secrets are already
 * redacted), power with read/on/off/cycle/reset (changes confirmed first), its node-roles with their runs
 * (status, exit code, output tails) on demand, Retry for one in error or remove-error and Unbind, and its
 * ready checks on a button (GET /checks runs them on the node); Move to… and Retire node (both ask first,
 * views/removal.mjs). Live: every event on GET /events/stream that concerns this node
 * (a `node-role.state` change with its nodeId, an audit event on the node or one of its node-roles) triggers
 * a refetch of the node record and its node-roles, at most 4 per second; a reconnect refetches too. Once the
 * node is retired (it answers 404 after it was shown) the page says so and stops refetching.
 */
import { describe, get, list, post, seg, throttle, watchEvents } from '../api.mjs';
import { badge, button, h, link, notify, para, replace, row, show, table, when } from '../dom.mjs';
import { nodeRoleRows } from './node-roles.mjs';
import { moveNode, retireNode, unbindRole } from './removal.mjs';

const FIELDS = [
  ['description', (n) => n.description || '—'],
  ['state', (n) => badge(n.state)],
  ['alive / available', (n) => `${n.alive ? 'alive' : 'down'} / ${n.available ? 'available' : 'unavailable'}`],
  ['address', (n) => n.address ?? '—'],
  ['MACs', (n) => n.macs.join(', ') || '—'],
  ['BMC', (n) => (n.bmcAddress ? `${n.bmcDriver} ${n.bmcUsername ?? ''}@${n.bmcAddress}` : '—')],
  ['boot device', (n) => n.bootDevice],
  ['SSH host key', (n) => n.sshHostKey ?? '—'],
  ['admin / system', (n) => `${n.admin ? 'admin' : '—'} / ${n.system ? 'system' : '—'}`],
  ['created / updated', (n) => `${when(n.createdAt)} / ${when(n.updatedAt)}`],
];
/** True when a stream event may concern the node `nodeId` or one of its node-roles `nodeRoleIds`. */
function concerns(ev, nodeId, nodeRoleIds) {
  const d = ev?.data ?? {};
  if (d.nodeId === nodeId || (ev?.objectType === 'node' && ev.objectId === nodeId)) return true;
  const ids = [ev?.objectType === 'node-role' ? ev.objectId : null, d.nodeRole, d.nodeRoleIds, d.descendants];
  return ids.flat().some((id) => nodeRoleIds.has(id));
}

function checksView(c) {
  const rows = c.checks.map((k) =>
    row(
      { 'data-ok': String(k.ok), 'data-role': k.role },
      k.role,
      k.name,
      badge(k.ok ? 'active' : 'error', k.ok ? 'pass' : 'fail'),
      k.detail,
      k.ok ? '' : k.remediation,
    ),
  );
  return [
    h('p', { id: 'checks-summary' }, `${c.passed} passed, ${c.failed} failed`),
    table(['role', 'check', '', 'detail', 'what to do'], rows),
  ];
}

function attribsView(attribs) {
  if (attribs.length === 0) return para('No attribs set on this node.');
  const value = (has, v) => h('code', {}, has ? show(v) : '—');
  const rows = attribs.map((a) =>
    row({ 'data-attrib': a.attrib }, a.attrib, value(a.hasCommitted, a.committed), value(a.hasProposed, a.proposed)),
  );
  return table(['attrib', 'committed', 'proposed'], rows);
}

export async function nodeView(main, [name], signal) {
  const path = `/nodes/${seg(name)}`;
  let node;
  try {
    node = await get(path, { signal });
  } catch (err) {
    if (!signal.aborted) main.append(h('h1', {}, name), para(describe(err), 'error'));
    return;
  }
  const [attribsBox, rolesBox, checksBox, alive, facts] = [h('div'), h('div'), h('div'), h('span'), h('dl', { class: 'facts' })]; // prettier-ignore
  const [place, buttons] = [h('span', { id: 'node-deployment' }), h('span', { class: 'title-buttons' })];
  const live = h('span', { class: 'live', id: 'live' }, 'connecting');
  const power = h('span', { id: 'power-state' });
  const showPower = (n) => replace(power, `${n.powerState} (read ${when(n.powerCheckedAt)})`);
  let placed = null;
  const showNode = async (n) => {
    node = n;
    replace(alive, badge(n.alive ? 'active' : 'error', n.alive ? 'alive' : 'down'));
    replace(
      facts,
      FIELDS.map(([k, f]) => [h('dt', {}, k), h('dd', {}, f(n))]),
    );
    showPower(n);
    // Move and Retire: not for a deployment's service node (it goes with its deployment) nor once retiring.
    buttons.hidden = n.system || n.state === 'retiring';
    if (placed === n.deploymentId) return;
    placed = n.deploymentId;
    const d = await get(`/deployments/${n.deploymentId}`, { signal }).catch(() => null);
    if (!signal.aborted) replace(place, d ? ['in ', link(d.name, 'deployments', d.name)] : '');
  };
  await showNode(node);
  const nodeRoleIds = new Set();
  const open = new Set();
  let nodeRoles = [];
  let roles = null;
  let gone = false;

  const attempt = async (fn) => {
    try {
      await fn();
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 404 && err.code === 'ERR_NODE_NOT_FOUND') retired();
      else notify(describe(err));
    }
  };
  /** The node was retired while the page showed it: say so, and fetch nothing more. */
  const retired = () => {
    gone = true;
    replace(alive, badge('retired'));
    replace(place);
    replace(rolesBox, para(`${name} is retired: its record, address allocations and secrets are deleted.`));
    rolesBox.id = 'node-gone';
    buttons.hidden = true;
  };
  const powerAction = (action) =>
    attempt(async () => {
      if (action !== 'read' && !confirm(`Power ${action} ${name}?`)) return;
      const n = action === 'read' ? await get(`${path}/power`) : await post(`${path}/power`, { action });
      showPower(n);
      notify(`${name}: power ${n.powerState}.`, 'info');
    });
  const loadRoles = async () => {
    const items = await list(`${path}/node-roles`, { signal });
    if (signal.aborted) return;
    nodeRoles = items;
    for (const nr of items) nodeRoleIds.add(nr.id);
    const rows = items.map((nr) => nodeRoleRows(nr, { retry, unbind }, open));
    const headers = ['role', 'deployment', 'state', 'attempts', 'runs', 'last error', ''];
    replace(rolesBox, table(headers, rows, { id: 'node-roles' }));
  };
  const refresh = throttle(
    () =>
      attempt(async () => {
        if (gone) return;
        const n = await get(path, { signal });
        if (!signal.aborted) await showNode(n);
        await loadRoles();
      }),
    250,
  );
  signal.addEventListener('abort', () => refresh.cancel());
  const retry = (nr) =>
    attempt(async () => {
      await post(`/node-roles/${nr.id}/retry`);
      notify(`Retrying ${nr.role} on ${name}${nr.state === 'remove-error' ? ' (its remove action)' : ''}.`, 'info');
      refresh();
    });
  /** Runs one of views/removal.mjs's actions with the node and its node-roles as last fetched. */
  const removal = (fn, extra = {}) =>
    attempt(async () => {
      if (await fn({ node, nodeRoles, signal, ...extra })) refresh();
    });
  const unbind = (nr) =>
    attempt(async () => {
      roles ??= await list('/roles', { signal });
      await removal(unbindRole, { nr, roles });
    });
  const runChecks = async () => {
    replace(checksBox, 'running the checks on the node…');
    try {
      replace(checksBox, checksView(await get(`${path}/checks`, { signal })));
    } catch (err) {
      replace(checksBox, para(describe(err), 'error'));
    }
  };

  replace(
    buttons,
    button('Move to…', () => removal(moveNode), { id: 'move', class: 'secondary' }),
    button('Retire node', () => removal(retireNode), { id: 'retire', class: 'danger' }),
  );
  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, node.name),
      alive,
      place,
      live,
      h('span', { class: 'spacer' }),
      buttons,
    ),
    h('h2', {}, 'Facts'),
    facts,
    h('details', {}, h('summary', {}, 'hardware facts'), h('pre', {}, JSON.stringify(node.facts, null, 2))),
    h('h3', {}, 'Attribs'),
    attribsBox,
    h('h2', {}, 'Power'),
    h('p', { class: 'power' }, 'power: ', power, ' ', ['read', 'on', 'off', 'cycle', 'reset'].map((a) => button(a, () => powerAction(a), { class: 'secondary', 'data-power': a }))), // prettier-ignore
    h('h2', {}, 'Node-roles ', button('refresh', refresh, { class: 'secondary' })),
    rolesBox,
    h('h2', {}, 'Checks ', button('Run checks', runChecks, { id: 'run-checks' })),
    checksBox,
  );
  await attempt(async () => {
    const attribs = await list(`${path}/attribs`, { signal });
    replace(attribsBox, attribsView(attribs.filter((a) => a.hasCommitted || a.hasProposed)));
    await loadRoles();
  });
  if (signal.aborted) return;
  watchEvents(
    (ev) => {
      if (concerns(ev, node.id, nodeRoleIds)) refresh();
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
