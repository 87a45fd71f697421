/**
 * The way out from the UI (docs/ui.md "Removing things"): delete a deployment, move or retire a node, unbind
 * a role. Each names what goes in a confirmation dialog (dialog.mjs) with a "force" checkbox, then calls the
 * API (DELETE /deployments/{ref}, POST /nodes/{ref}/move, DELETE /nodes/{ref}, POST
 * /deployments/{ref}/unbind; `force` skips the remove actions) and says what the answer holds in the banner,
 * or the API's error there. Each resolves true once the API accepted it (the caller refetches; the removals
 * then show live, as `removing` node-roles).
 */
import { del, describe, list, post, seg } from '../api.mjs';
import { confirmRemoval } from '../dialog.mjs';
import { h, notify } from '../dom.mjs';

/** `1 node-role`, `3 nodes`. */
const count = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** What happens to `n` node-roles being removed. */
const removed = (n) =>
  n === 1
    ? 'is removed (its remove action runs once nothing that requires it is left)'
    : 'are removed (their remove actions run, what depends on them first)';

/** `removing node-roles 7, 8; deleted node-role 9` (as the CLI says it); `nothing to remove` when all are empty. */
export function removalSummary(a) {
  const parts = [
    ['removing', a.removing],
    ['deleted', a.deleted],
    ['re-running', a.rerun],
    ['bound', a.bound],
  ]
    .filter(([, ids]) => ids?.length)
    .map(([verb, ids]) => `${verb} node-role${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`);
  return parts.join('; ') || 'nothing to remove';
}

/** `hardware-check, ready-node in tenant; …`: node-roles by deployment. */
function byDeployment(nodeRoles) {
  const groups = new Map();
  for (const nr of nodeRoles) groups.set(nr.deployment, [...(groups.get(nr.deployment) ?? []), nr.role]);
  return [...groups].map(([d, roles]) => `${roles.join(', ')} in ${d}`).join('; ');
}

/** Asks, then runs `call(force)`; the banner gets `message(answer)` or the API's error. True once accepted. */
async function ask(dialog, call, message) {
  const answer = await dialog.done;
  if (!answer) return false;
  try {
    notify(message(await call(answer.force)), 'info');
    return true;
  } catch (err) {
    notify(describe(err));
    return false;
  }
}

/** Deletes deployment `name`; `status` is its last GET /status, `parent` the name of its parent. */
export async function deleteDeployment({ name, parent, status, signal }) {
  const path = `/deployments/${seg(name)}`;
  let members;
  try {
    members = (await list(`${path}/nodes`, { signal })).filter((n) => !n.system).map((n) => n.name);
  } catch (err) {
    notify(describe(err));
    return false;
  }
  const holding = status.nodes.filter((n) => n.nodeRoles.length).length;
  const what = [
    status.total
      ? `Delete deployment ${name}: its ${count(status.total, 'node-role')} on ${count(holding, 'node')} ${removed(status.total)}, then the deployment.`
      : `Delete deployment ${name}: it has no node-roles, so it goes at once.`,
    members.length
      ? `Its ${count(members.length, 'node')} (${members.join(', ')}) ${members.length === 1 ? 'goes' : 'go'} back to ${parent}.`
      : 'It has no nodes.',
    'This cannot be undone.',
  ];
  const dialog = confirmRemoval({ title: `Delete deployment ${name}`, what, action: 'Delete deployment', signal });
  return ask(
    dialog,
    (force) => del(`${path}${force ? '?force=true' : ''}`),
    (a) => `Deleting ${name}: ${removalSummary(a)}.`,
  );
}

/** The node-roles a move to `to` removes: those not in `to` or one of its ancestors. */
function leaving(nodeRoles, deployments, to) {
  const byId = new Map(deployments.map((d) => [d.id, d]));
  const keep = new Set();
  for (let d = to; d; d = byId.get(d.parentId)) keep.add(d.id);
  return nodeRoles.filter((nr) => !keep.has(nr.deploymentId));
}

/** Moves `node` (its record) to a deployment picked in the dialog; `nodeRoles` are its node-roles. */
export async function moveNode({ node, nodeRoles, signal }) {
  let deployments;
  try {
    deployments = await list('/deployments', { signal });
  } catch (err) {
    notify(describe(err));
    return false;
  }
  const from = deployments.find((d) => d.id === node.deploymentId);
  const targets = deployments.filter((d) => d.id !== node.deploymentId && d.state !== 'deleting');
  if (!targets.length) {
    notify(`There is no other deployment to move ${node.name} to.`);
    return false;
  }
  const select = h(
    'select',
    { id: 'move-to', name: 'deployment' },
    targets.map((d) => h('option', { value: d.name }, d.name)),
  );
  const what = () => {
    const to = targets.find((d) => d.name === select.value);
    const goes = leaving(nodeRoles, deployments, to);
    return [
      goes.length
        ? `Move ${node.name} from ${from?.name ?? '?'} to ${to.name}: its ${count(goes.length, 'node-role')} (${byDeployment(goes)}) ${removed(goes.length)}, then ${to.name}'s roles are bound on it.`
        : `Move ${node.name} from ${from?.name ?? '?'} to ${to.name}: none of its node-roles is removed (they are in ${to.name} or its parents); ${to.name}'s roles are bound on it.`,
    ];
  };
  const control = h('p', {}, h('label', { for: 'move-to' }, 'Move to '), select);
  const dialog = confirmRemoval({ title: `Move ${node.name}`, what, control, action: 'Move', signal });
  select.addEventListener('change', dialog.refresh);
  return ask(
    dialog,
    (force) => post(`/nodes/${seg(node.name)}/move`, { deployment: select.value, ...(force ? { force } : {}) }),
    (a) => `${node.name}: moving from ${a.from} to ${a.to}: ${removalSummary(a)}${a.waiting ? ` (${a.to}'s roles are bound once the removals finish)` : ''}.`, // prettier-ignore
  );
}

/** Retires `node`: its node-roles removed, then its record, allocations and secrets. */
export async function retireNode({ node, nodeRoles, signal }) {
  const what = [
    nodeRoles.length
      ? `Retire ${node.name}: its ${count(nodeRoles.length, 'node-role')} (${byDeployment(nodeRoles)}) ${removed(nodeRoles.length)}, then the node's record, its address allocations and its secrets are deleted.`
      : `Retire ${node.name}: it has no node-roles; its record, address allocations and secrets are deleted at once.`,
    'This cannot be undone.',
  ];
  const dialog = confirmRemoval({ title: `Retire ${node.name}`, what, action: 'Retire node', signal });
  return ask(
    dialog,
    (force) => del(`/nodes/${seg(node.name)}${force ? '?force=true' : ''}`),
    (a) => `Retiring ${node.name}: ${removalSummary(a)}.`,
  );
}

/** The roles that require `role`, directly or not, among `roleNames` (by the roles' `requires`). */
function dependents(role, roleNames, roles) {
  const requires = new Map(roles.map((r) => [r.name, r.requires]));
  const goes = new Set([role]);
  for (let grew = true; grew;) {
    grew = false;
    for (const name of roleNames) {
      if (goes.has(name) || !(requires.get(name) ?? []).some((p) => goes.has(p))) continue;
      goes.add(name);
      grew = true;
    }
  }
  goes.delete(role);
  return [...goes];
}

/** Unbinds node-role `nr` (on `node`); `nodeRoles`: the node's node-roles; `roles`: GET /roles. */
export async function unbindRole({ node, nr, nodeRoles, roles, signal }) {
  const role = roles.find((r) => r.name === nr.role);
  const flags = role?.flags ?? [];
  const onNode = dependents(
    nr.role,
    nodeRoles.map((x) => x.role),
    roles,
  );
  const elsewhere = dependents(
    nr.role,
    roles.map((r) => r.name),
    roles,
  ).filter((r) => !onNode.includes(r));
  const what = [
    flags.includes('cluster')
      ? `Unbind ${nr.role} from ${node.name} in ${nr.deployment}: node-role ${nr.role} ${removed(1)}. It is a cluster role: what requires it stays while other members are left, and runs again.`
      : `Unbind ${nr.role} from ${node.name} in ${nr.deployment}: node-role ${nr.role}${onNode.length ? ` and what requires it on ${node.name} (${onNode.join(', ')})` : ''} ${removed(1 + onNode.length)}.`,
    flags.includes('service') && elsewhere.length
      ? `It is a service role: every node-role of ${elsewhere.join(', ')} that uses it in ${nr.deployment} goes too.`
      : '',
  ].filter(Boolean);
  const dialog = confirmRemoval({ title: `Unbind ${nr.role}`, what, action: 'Unbind', signal });
  return ask(
    dialog,
    (force) =>
      post(`/deployments/${seg(nr.deployment)}/unbind`, {
        role: nr.role,
        node: node.name,
        ...(force ? { force } : {}),
      }),
    (a) => `Unbinding ${nr.role} from ${node.name}: ${removalSummary(a)}.`,
  );
}
