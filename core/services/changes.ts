/**
 * Commit, propose, attrib changes and retry: the operations that move node-roles outside the
 * annealer. Each writes an audit event naming the actor, and wakes the annealer when work appeared.
 *
 * Attrib changes follow "repeat just the impacted layers": committing a changed value re-runs exactly
 * the node-roles in its scope whose role wants that attrib, and all their descendants.
 */
import { AppError, inputError } from '../errors';
import type { AttribScope } from '../domain/vocabulary';
import type { CommittedValue } from '../store/attribs';
import type { Actor, ServiceDeps } from './deps';

export function changesService(deps: ServiceDeps) {
  const { store, registry } = deps;

  const rerunnable = new Set(['active', 'error', 'transition']);
  /** The role a redeploy runs again (barclamps/provisioner). */
  const OS_INSTALL = 'os-install';

  /** Node-roles whose role wants a changed attrib within the changed value's scope. */
  async function impacted(changes: CommittedValue[]): Promise<number[]> {
    const ids = new Set<number>();
    for (const c of changes) {
      const roles = registry.rolesInOrder.filter((r) => r.wants.includes(c.attrib)).map((r) => r.name);
      if (roles.length === 0) continue;
      const scope =
        c.scope === 'deployment' ? { deploymentId: c.targetId } : c.scope === 'node' ? { nodeId: c.targetId } : null;
      const candidates = scope ? await store.nodeRoles.list(scope) : [await store.nodeRoles.get(c.targetId)];
      // Only node-roles that ran (or are running) need to run again; todo and blocked ones will read
      // the new value when they run, and bumping them would run them twice.
      for (const nr of candidates) if (roles.includes(nr.role) && rerunnable.has(nr.state)) ids.add(nr.id);
    }
    return [...ids];
  }

  async function rerun(changes: CommittedValue[], actor: Actor): Promise<number[]> {
    const ids = await impacted(changes);
    if (ids.length === 0) return [];
    const now = deps.now();
    await store.nodeRoles.bump(ids, now);
    const descendants = await store.queue.blockDescendants(ids, now);
    await store.events.append(
      [
        {
          actor,
          type: 'node-roles.rerun',
          objectType: 'node-role',
          data: { nodeRoleIds: ids, descendants, attribs: [...new Set(changes.map((c) => c.attrib))] },
        },
      ],
      now,
    );
    return ids;
  }

  async function commitDeployment(ref: number | string, actor: Actor) {
    const d = await store.deployments.get(ref);
    const now = deps.now();
    await store.nodes.commitAll(d.id, now);
    const nodes = await store.nodes.list({ deploymentId: d.id }, { offset: 0, limit: 1_000_000 });
    const committed = await store.nodeRoles.commitProposed({ deploymentId: d.id }, now);
    const targets = [
      { scope: 'deployment' as const, targetId: d.id },
      ...nodes.map((n) => ({ scope: 'node' as const, targetId: n.id })),
    ];
    const nodeRoleTargets = (await store.nodeRoles.ids({ deploymentId: d.id })).map((id) => ({
      scope: 'node-role' as const,
      targetId: id,
    }));
    const changed = await store.attribs.commit([...targets, ...nodeRoleTargets], now);
    const updated = await store.deployments.setState(d.id, 'committed', now);
    await store.events.append(
      [{ actor, type: 'deployment.commit', objectType: 'deployment', objectId: d.id, data: { nodeRoles: committed } }],
      now,
    );
    await rerun(changed, actor);
    deps.wake();
    return updated;
  }

  async function proposeDeployment(ref: number | string, actor: Actor) {
    const d = await store.deployments.get(ref);
    const updated = await store.deployments.setState(d.id, 'proposed', deps.now());
    await store.events.append(
      [{ actor, type: 'deployment.propose', objectType: 'deployment', objectId: d.id }],
      deps.now(),
    );
    return updated;
  }

  async function commitNode(ref: number | string, actor: Actor) {
    const n = await store.nodes.get(ref);
    const now = deps.now();
    const updated = await store.nodes.update(n.id, { state: 'committed' }, now);
    const committed = await store.nodeRoles.commitProposed({ nodeId: n.id }, now);
    const nodeRoleTargets = (await store.nodeRoles.ids({ nodeId: n.id })).map((id) => ({
      scope: 'node-role' as const,
      targetId: id,
    }));
    const changed = await store.attribs.commit([{ scope: 'node', targetId: n.id }, ...nodeRoleTargets], now);
    await store.events.append(
      [{ actor, type: 'node.commit', objectType: 'node', objectId: n.id, data: { nodeRoles: committed } }],
      now,
    );
    await rerun(changed, actor);
    deps.wake();
    return updated;
  }

  async function proposeNode(ref: number | string, actor: Actor) {
    const n = await store.nodes.get(ref);
    const updated = await store.nodes.update(n.id, { state: 'proposed' }, deps.now());
    await store.events.append([{ actor, type: 'node.propose', objectType: 'node', objectId: n.id }], deps.now());
    return updated;
  }

  /**
   * Records a proposed value (validated against the attrib's schema); it takes effect when its
   * deployment or node is committed. ERR_ATTRIB_INVALID names the field and what the schema expects.
   */
  async function setAttrib(scope: AttribScope, targetId: number, name: string, value: unknown, actor: Actor) {
    const def = registry.attrib(name);
    const checked = registry.validateAttribValue(name, value);
    if (!checked.ok) throw inputError(checked.issues, 'ERR_ATTRIB_INVALID');
    if (scope === 'node-role') {
      const nr = await store.nodeRoles.get(targetId);
      if (!registry.role(nr.role).wants.includes(name)) {
        throw new AppError(
          'ERR_ATTRIB_NOT_WANTED',
          `role "${nr.role}" does not want attrib "${name}"; set it on the node or deployment instead`,
        );
      }
    } else if (scope === 'node') await store.nodes.get(targetId);
    else await store.deployments.get(targetId);
    const attribId = (await store.catalog.ids()).attribIds.get(name)!;
    const now = deps.now();
    await store.attribs.setProposed(attribId, scope, targetId, checked.value, now);
    await store.events.append(
      [
        {
          actor,
          type: 'attrib.propose',
          objectType: scope,
          objectId: targetId,
          data: { attrib: name, value: def.secret ? '[redacted]' : checked.value },
        },
      ],
      now,
    );
  }

  async function retry(nodeRoleId: number, actor: Actor) {
    const nr = await store.nodeRoles.get(nodeRoleId);
    if (!(await store.nodeRoles.retry(nodeRoleId, deps.now()))) {
      throw new AppError(
        'ERR_STATE_INVALID',
        `node-role ${nodeRoleId} (${nr.role} on ${nr.node}) is ${nr.state}, not error: only failed node-roles can be retried`,
      );
    }
    await store.events.append(
      [{ actor, type: 'node-role.retry', objectType: 'node-role', objectId: nodeRoleId }],
      deps.now(),
    );
    deps.wake();
    return store.nodeRoles.get(nodeRoleId);
  }

  /** Runs node-role `id` again (a new generation) and, after it, everything that depends on it. */
  async function runAgain(id: number, actor: Actor, event: { type: string; objectType: string; objectId: number }) {
    const now = deps.now();
    await store.nodeRoles.bump([id], now);
    const descendants = await store.queue.blockDescendants([id], now);
    await store.events.append([{ actor, ...event, data: { nodeRole: id, descendants } }], now);
    deps.wake();
    return [id, ...descendants];
  }

  /**
   * Runs an active or failed node-role again, and what depends on it after it (the operator's "re-run",
   * e.g. a service after its clients changed). Throws ERR_NODE_ROLE_NOT_FOUND, ERR_STATE_INVALID (it was
   * never committed, or it is running: it will see the newest inputs when it finishes anyway).
   */
  async function rerunNodeRole(id: number, actor: Actor) {
    const nr = await store.nodeRoles.get(id);
    if (nr.state === 'proposed' || nr.state === 'transition') {
      throw new AppError(
        'ERR_STATE_INVALID',
        `node-role ${id} (${nr.role} on ${nr.node}) is ${nr.state}: ${nr.state === 'proposed' ? 'commit it first' : 'it is running now; re-run it when it has finished'}`,
      );
    }
    const rerun = await runAgain(id, actor, { type: 'node-role.rerun', objectType: 'node-role', objectId: id });
    return { nodeRole: id, rerun };
  }

  /**
   * Installs the node again: its `os-install` node-role runs anew (a new install) and everything above it
   * on the node runs again after it; other nodes are untouched, destructive roles (RAID, BIOS) are not
   * re-applied. Throws ERR_NODE_NOT_FOUND, ERR_STATE_INVALID (no os-install bound on the node).
   */
  async function redeploy(ref: number | string, actor: Actor) {
    const node = await store.nodes.get(ref);
    const [install] = (await store.nodeRoles.list({ nodeId: node.id })).filter((nr) => nr.role === OS_INSTALL);
    if (!install || install.state === 'proposed') {
      throw new AppError(
        'ERR_STATE_INVALID',
        `node ${node.name} has no committed ${OS_INSTALL} node-role: bind ready-node (or ${OS_INSTALL}) on it and commit first`,
      );
    }
    const rerun = await runAgain(install.id, actor, { type: 'node.redeploy', objectType: 'node', objectId: node.id });
    return { node: node.name, nodeRole: install.id, rerun };
  }

  return {
    commitDeployment,
    proposeDeployment,
    commitNode,
    proposeNode,
    setAttrib,
    retry,
    rerun,
    rerunNodeRole,
    redeploy,
  };
}
