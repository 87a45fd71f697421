/* global confirm */
/**
 * #/nodes/<name>: the node's record and committed attribs (values as the API shows them: secrets are
 * already redacted), power with on/off/cycle/reset (each confirmed), its node-roles with their runs
 * (status, exit code, output tails) on demand, Retry for one in error, and its ready checks on a button
 * (GET /checks runs them on the node).
 */
import { describe, get, list, post, seg } from '../api.mjs';
import { badge, h, link, notify, replace, show, when } from '../dom.mjs';

const FIELDS = [
  ['description', (n) => n.description || '—'],
  ['state', (n) => badge(n.state)],
  ['alive', (n) => (n.alive ? 'yes' : 'no')],
  ['available', (n) => (n.available ? 'yes' : 'no')],
  ['address', (n) => n.address ?? '—'],
  ['MACs', (n) => n.macs.join(', ') || '—'],
  ['BMC', (n) => (n.bmcAddress ? `${n.bmcDriver} ${n.bmcUsername ?? ''}@${n.bmcAddress}` : '—')],
  ['boot device', (n) => n.bootDevice],
  ['SSH host key', (n) => n.sshHostKey ?? '—'],
  ['admin / system', (n) => `${n.admin ? 'admin' : '—'} / ${n.system ? 'system' : '—'}`],
  ['created', (n) => when(n.createdAt)],
  ['updated', (n) => when(n.updatedAt)],
];

function table(headers, rows, attrs = {}) {
  return h(
    'table',
    { class: 'grid', ...attrs },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', {}, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

function runView(r) {
  const took = r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running';
  return h(
    'div',
    { class: 'run', 'data-run': r.id, 'data-status': r.status },
    h(
      'div',
      {},
      h('strong', {}, `attempt ${r.attempt}`),
      ' ',
      badge(r.status === 'succeeded' ? 'active' : r.status === 'running' ? 'transition' : 'error', r.status),
      ` exit ${r.exitCode ?? '—'} · ${when(r.startedAt)} · ${took}`,
    ),
    r.error ? h('div', { class: 'message' }, `${r.error.code}: ${r.error.message}`) : '',
    r.stdoutTail ? [h('div', { class: 'label' }, 'stdout'), h('pre', { class: 'stdout' }, r.stdoutTail)] : '',
    r.stderrTail ? [h('div', { class: 'label' }, 'stderr'), h('pre', { class: 'stderr' }, r.stderrTail)] : '',
  );
}

function nodeRoleRows(nr, retry) {
  const box = h('td', { colspan: 6 });
  const extra = h('tr', { class: 'runs-row', hidden: true }, box);
  const toggle = async () => {
    extra.hidden = !extra.hidden;
    if (extra.hidden) return;
    replace(box, 'loading…');
    try {
      const runs = await list(`/node-roles/${nr.id}/runs`);
      replace(box, runs.length ? runs.reverse().map(runView) : h('p', { class: 'muted' }, 'No runs yet.'));
    } catch (err) {
      replace(box, h('p', { class: 'error' }, describe(err)));
    }
  };
  const row = h(
    'tr',
    { 'data-role': nr.role, 'data-state': nr.state, 'data-node-role': nr.id },
    h('td', {}, nr.role),
    h('td', {}, badge(nr.state)),
    h('td', {}, String(nr.attempts)),
    h('td', {}, String(nr.runCount)),
    h('td', { class: 'message' }, nr.lastError ? `${nr.lastError.code}: ${nr.lastError.message}` : ''),
    h(
      'td',
      { class: 'buttons' },
      h('button', { type: 'button', class: 'runs secondary', onclick: toggle }, 'runs'),
      nr.state === 'error' ? h('button', { type: 'button', class: 'retry', onclick: () => retry(nr) }, 'Retry') : '',
    ),
  );
  return [row, extra];
}

function checksView(c) {
  const rows = c.checks.map((k) =>
    h(
      'tr',
      { 'data-ok': String(k.ok), 'data-role': k.role },
      h('td', {}, k.role),
      h('td', {}, k.name),
      h('td', {}, badge(k.ok ? 'active' : 'error', k.ok ? 'pass' : 'fail')),
      h('td', {}, k.detail),
      h('td', {}, k.ok ? '' : k.remediation),
    ),
  );
  return [
    h('p', { id: 'checks-summary' }, `${c.passed} passed, ${c.failed} failed`),
    table(['role', 'check', '', 'detail', 'what to do'], rows),
  ];
}

export async function nodeView(main, [name], signal) {
  const path = `/nodes/${seg(name)}`;
  let node;
  try {
    node = await get(path, { signal });
  } catch (err) {
    if (!signal.aborted) main.append(h('h1', {}, name), h('p', { class: 'error' }, describe(err)));
    return;
  }
  const deployment = await get(`/deployments/${node.deploymentId}`, { signal }).catch(() => null);
  const [attribsBox, rolesBox, checksBox] = [h('div'), h('div'), h('div')];
  const power = h('span', { id: 'power-state' });
  const showPower = (n) => replace(power, `${n.powerState} (read ${when(n.powerCheckedAt)})`);
  showPower(node);

  const powerAction = async (action) => {
    if (action !== 'read' && !confirm(`Power ${action} ${name}?`)) return;
    try {
      const n = action === 'read' ? await get(`${path}/power`) : await post(`${path}/power`, { action });
      showPower(n);
      notify(`${name}: power ${n.powerState}.`, 'info');
    } catch (err) {
      notify(describe(err));
    }
  };
  const loadRoles = async () => {
    const nrs = await list(`${path}/node-roles`, { signal });
    replace(rolesBox, table(['role', 'state', 'attempts', 'runs', 'last error', ''], nrs.map((nr) => nodeRoleRows(nr, retry)), { id: 'node-roles' })); // prettier-ignore
  };
  const retry = async (nr) => {
    try {
      await post(`/node-roles/${nr.id}/retry`);
      notify(`Retrying ${nr.role} on ${name}.`, 'info');
      await loadRoles();
    } catch (err) {
      notify(describe(err));
    }
  };
  const runChecks = async () => {
    replace(checksBox, 'running the checks on the node…');
    try {
      replace(checksBox, checksView(await get(`${path}/checks`, { signal })));
    } catch (err) {
      replace(checksBox, h('p', { class: 'error' }, describe(err)));
    }
  };

  main.append(
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, node.name),
      badge(node.alive ? 'active' : 'error', node.alive ? 'alive' : 'down'),
      deployment ? ['in ', link(deployment.name, 'deployments', deployment.name)] : '',
    ),
    h('h2', {}, 'Facts'),
    h(
      'dl',
      { class: 'facts' },
      FIELDS.map(([k, f]) => [h('dt', {}, k), h('dd', {}, f(node))]),
    ),
    h('details', {}, h('summary', {}, 'hardware facts'), h('pre', {}, JSON.stringify(node.facts, null, 2))),
    h('h3', {}, 'Attribs'),
    attribsBox,
    h('h2', {}, 'Power'),
    h(
      'p',
      { class: 'power' },
      'power: ',
      power,
      ' ',
      ['read', 'on', 'off', 'cycle', 'reset'].map((a) =>
        h('button', { type: 'button', class: 'secondary', 'data-power': a, onclick: () => powerAction(a) }, a),
      ),
    ),
    h('h2', {}, 'Node-roles ', h('button', { type: 'button', class: 'secondary', onclick: () => loadRoles().catch((e) => notify(describe(e))) }, 'refresh')), // prettier-ignore
    rolesBox,
    h('h2', {}, 'Checks ', h('button', { type: 'button', id: 'run-checks', onclick: runChecks }, 'Run checks')),
    checksBox,
  );

  try {
    const attribs = (await list(`${path}/attribs`, { signal })).filter((a) => a.hasCommitted || a.hasProposed);
    replace(
      attribsBox,
      attribs.length
        ? table(
            ['attrib', 'committed', 'proposed'],
            attribs.map((a) =>
              h(
                'tr',
                { 'data-attrib': a.attrib },
                h('td', {}, a.attrib),
                h('td', {}, h('code', {}, a.hasCommitted ? show(a.committed) : '—')),
                h('td', {}, h('code', {}, a.hasProposed ? show(a.proposed) : '—')),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No attribs set on this node.'),
    );
    await loadRoles();
  } catch (err) {
    if (!signal.aborted) notify(describe(err));
  }
}
