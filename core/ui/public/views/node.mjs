/* global confirm */
/**
 * #/nodes/<name>: the node's record and attribs (values as the API shows them: secrets are already
 * redacted), power with read/on/off/cycle/reset (changes confirmed first), its node-roles with their runs
 * (status, exit code, output tails) on demand and Retry for one in error, and its ready checks on a
 * button (GET /checks runs them on the node). Live: every event on GET /events/stream that concerns this node
 * (a `node-role.state` change with its nodeId, an audit event on the node or one of its node-roles) triggers
 * a refetch of the node record and its node-roles, at most 4 per second; a reconnect refetches too.
 */
import { describe, get, list, post, seg, throttle, watchEvents } from '../api.mjs';
import { badge, button, h, link, notify, para, replace, row, show, table, when } from '../dom.mjs';

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
const RUN_STATE = { succeeded: 'active', running: 'transition' };

function runView(r) {
  const took = r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running';
  const tail = (label, text) => (text ? [h('div', { class: 'label' }, label), h('pre', { class: label }, text)] : '');
  return h(
    'div',
    { class: 'run', 'data-run': r.id, 'data-status': r.status },
    h('div', {}, h('strong', {}, `attempt ${r.attempt} `), badge(RUN_STATE[r.status] ?? 'error', r.status)),
    h('div', { class: 'muted' }, `exit ${r.exitCode ?? '—'} · ${when(r.startedAt)} · ${took}`),
    r.command ? h('div', { class: 'command' }, h('code', {}, r.command)) : '',
    r.error ? h('div', { class: 'message' }, `${r.error.code}: ${r.error.message}`) : '',
    tail('stdout', r.stdoutTail),
    tail('stderr', r.stderrTail),
  );
}

/**
 * The node-role's row and a hidden row below it that its "runs" button fills and shows. `open` is the set
 * of node-role ids whose runs are shown: kept across the live re-renders (an open one is refetched).
 */
function nodeRoleRows(nr, retry, open) {
  const box = h('td', { colspan: 6 });
  const runs = h('tr', { class: 'runs-row', hidden: true }, box);
  const toggle = async () => {
    runs.hidden = !runs.hidden;
    if (runs.hidden) return void open.delete(nr.id);
    open.add(nr.id);
    replace(box, 'loading…');
    try {
      const items = (await list(`/node-roles/${nr.id}/runs`)).reverse();
      replace(box, items.length ? items.map(runView) : para('No runs yet.'));
    } catch (err) {
      replace(box, para(describe(err), 'error'));
    }
  };
  const main = row(
    { 'data-role': nr.role, 'data-state': nr.state, 'data-node-role': nr.id },
    nr.role,
    badge(nr.state),
    String(nr.attempts),
    String(nr.runCount),
    nr.lastError ? h('div', { class: 'message' }, `${nr.lastError.code}: ${nr.lastError.message}`) : '',
    [
      button('runs', toggle, { class: 'runs secondary' }),
      nr.state === 'error' ? button('Retry', () => retry(nr), { class: 'retry' }) : '',
    ],
  );
  if (open.has(nr.id)) toggle();
  return [main, runs];
}

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
  const deployment = await get(`/deployments/${node.deploymentId}`, { signal }).catch(() => null);
  const [attribsBox, rolesBox, checksBox, alive, facts] = [h('div'), h('div'), h('div'), h('span'), h('dl', { class: 'facts' })]; // prettier-ignore
  const live = h('span', { class: 'live', id: 'live' }, 'connecting');
  const power = h('span', { id: 'power-state' });
  const showPower = (n) => replace(power, `${n.powerState} (read ${when(n.powerCheckedAt)})`);
  const showNode = (n) => {
    replace(alive, badge(n.alive ? 'active' : 'error', n.alive ? 'alive' : 'down'));
    replace(
      facts,
      FIELDS.map(([k, f]) => [h('dt', {}, k), h('dd', {}, f(n))]),
    );
    showPower(n);
  };
  showNode(node);
  const nodeRoleIds = new Set();
  const open = new Set();

  const attempt = async (fn) => {
    try {
      await fn();
    } catch (err) {
      if (!signal.aborted) notify(describe(err));
    }
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
    for (const nr of items) nodeRoleIds.add(nr.id);
    const rows = items.map((nr) => nodeRoleRows(nr, retry, open));
    replace(rolesBox, table(['role', 'state', 'attempts', 'runs', 'last error', ''], rows, { id: 'node-roles' }));
  };
  const refresh = throttle(
    () =>
      attempt(async () => {
        const n = await get(path, { signal });
        if (!signal.aborted) showNode(n);
        await loadRoles();
      }),
    250,
  );
  signal.addEventListener('abort', () => refresh.cancel());
  const retry = (nr) =>
    attempt(async () => {
      await post(`/node-roles/${nr.id}/retry`);
      notify(`Retrying ${nr.role} on ${name}.`, 'info');
      refresh();
    });
  const runChecks = async () => {
    replace(checksBox, 'running the checks on the node…');
    try {
      replace(checksBox, checksView(await get(`${path}/checks`, { signal })));
    } catch (err) {
      replace(checksBox, para(describe(err), 'error'));
    }
  };

  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, node.name),
      alive,
      deployment ? ['in ', link(deployment.name, 'deployments', deployment.name)] : '',
      live,
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
