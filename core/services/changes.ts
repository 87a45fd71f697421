/**
 * Commit, propose, attrib changes, retry and re-runs: the operations that move node-roles outside the
 * annealer. Each is one transaction (useCase) with its audit event inside; the annealer hears of new
 * work after the commit (domain event `work`).
 *
 * Attrib changes follow "repeat just the impacted layers": committing a changed value re-runs exactly
 * the node-roles in its scope whose role wants that attrib, and all their descendants.
 */
import { AppError, inputError } from '../errors';
import type { AttribScope } from '../domain/vocabulary';
import type { CommittedValue } from '../store/attribs';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';

export function changesService(deps: ServiceDeps) {
  const { registry } = deps;

  const rerunnable = new Set(['active', 'error', 'transition']);
  /** The role a redeploy runs again (barclamps/provisioner). */
  const OS_INSTALL = 'os-install';

  /** Node-roles whose role wants a changed attrib within the changed value's scope. */
  async function impacted({ tx }: UnitOfWork, changes: CommittedValue[]): Promise<number[]> {
    const ids = new Set<number>();
    for (const c of changes) {
      const roles = registry.rolesInOrder.filter((r) => r.wants.includes(c.attrib)).map((r) => r.name);
      if (roles.length === 0) continue;
      const scope =
        c.scope === 'deployment' ? { deploymentId: c.targetId } : c.scope === 'node' ? { nodeId: c.targetId } : null;
      const candidates = scope ? await tx.nodeRoles.list(scope) : [await tx.nodeRoles.get(c.targetId)];
      // Only node-roles that ran (or are running) need to run again; todo and blocked ones will read
      // the new value when they run, and bumping them would run them twice.
      for (const nr of candidates) if (roles.includes(nr.role) && rerunnable.has(nr.state)) ids.add(nr.id);
    }
    return [...ids];
  }

  /**
   * Re-runs what wants the changed values (and what depends on that), inside the caller's transaction
   * when given one (a commit, an action's write-back).
   */
  async function rerun(changes: CommittedValue[], actor: Actor, outer?: UnitOfWork): Promise<number[]> {
    return useCase(
      deps,
      async (uow) => {
        const ids = await impacted(uow, changes);
        if (ids.length === 0) return [];
        const now = deps.now();
        await uow.tx.nodeRoles.bump(ids, now);
        const descendants = await uow.tx.queue.blockDescendants(ids, now);
        await audit(
          uow,
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
        uow.emit({ type: 'work' });
        return ids;
      },
      outer,
    );
  }

  /** Commits a deployment's nodes, node-roles and attribs (inside `outer` when given). */
  async function commitDeployment(ref: number | string, actor: Actor, outer?: UnitOfWork) {
    return useCase(
      deps,
      async (uow) => {
        const { tx } = uow;
        const d = await tx.deployments.get(ref);
        if (d.state === 'deleting') {
          throw new AppError('ERR_STATE_INVALID', `deployment ${d.name} is being deleted: it cannot be committed`);
        }
        const now = deps.now();
        await tx.nodes.commitAll(d.id, now);
        const nodes = await tx.nodes.list({ deploymentId: d.id }, { offset: 0, limit: 1_000_000 });
        const committed = await tx.nodeRoles.commitProposed({ deploymentId: d.id }, now);
        const targets = [
          { scope: 'deployment' as const, targetId: d.id },
          ...nodes.map((n) => ({ scope: 'node' as const, targetId: n.id })),
        ];
        const nodeRoleTargets = (await tx.nodeRoles.ids({ deploymentId: d.id })).map((id) => ({
          scope: 'node-role' as const,
          targetId: id,
        }));
        const changed = await tx.attribs.commit([...targets, ...nodeRoleTargets], now);
        const updated = await tx.deployments.setState(d.id, 'committed', now);
        await audit(
          uow,
          [
            {
              actor,
              type: 'deployment.commit',
              objectType: 'deployment',
              objectId: d.id,
              data: { nodeRoles: committed },
            },
          ],
          now,
        );
        await rerun(changed, actor, uow);
        uow.emit({ type: 'work' });
        return updated;
      },
      outer,
    );
  }

  async function proposeDeployment(ref: number | string, actor: Actor) {
    return useCase(deps, async (uow) => {
      const d = await uow.tx.deployments.get(ref);
      if (d.state === 'deleting') {
        throw new AppError('ERR_STATE_INVALID', `deployment ${d.name} is being deleted: it cannot be proposed`);
      }
      const updated = await uow.tx.deployments.setState(d.id, 'proposed', deps.now());
      await audit(uow, [{ actor, type: 'deployment.propose', objectType: 'deployment', objectId: d.id }], deps.now());
      return updated;
    });
  }

  /** Commits a node's proposed node-roles and attribs (inside `outer` when given: discovery, a move). */
  async function commitNode(ref: number | string, actor: Actor, outer?: UnitOfWork) {
    return useCase(
      deps,
      async (uow) => {
        const { tx } = uow;
        const n = await tx.nodes.get(ref);
        if (n.state === 'retiring') {
          throw new AppError('ERR_STATE_INVALID', `node ${n.name} is retiring: it cannot be committed`);
        }
        const now = deps.now();
        const updated = await tx.nodes.update(n.id, { state: 'committed' }, now);
        const committed = await tx.nodeRoles.commitProposed({ nodeId: n.id }, now);
        const nodeRoleTargets = (await tx.nodeRoles.ids({ nodeId: n.id })).map((id) => ({
          scope: 'node-role' as const,
          targetId: id,
        }));
        const changed = await tx.attribs.commit([{ scope: 'node', targetId: n.id }, ...nodeRoleTargets], now);
        await audit(
          uow,
          [{ actor, type: 'node.commit', objectType: 'node', objectId: n.id, data: { nodeRoles: committed } }],
          now,
        );
        await rerun(changed, actor, uow);
        uow.emit({ type: 'work' });
        return updated;
      },
      outer,
    );
  }

  async function proposeNode(ref: number | string, actor: Actor) {
    return useCase(deps, async (uow) => {
      const n = await uow.tx.nodes.get(ref);
      if (n.state === 'retiring') {
        throw new AppError('ERR_STATE_INVALID', `node ${n.name} is retiring: it cannot be proposed`);
      }
      const updated = await uow.tx.nodes.update(n.id, { state: 'proposed' }, deps.now());
      await audit(uow, [{ actor, type: 'node.propose', objectType: 'node', objectId: n.id }], deps.now());
      return updated;
    });
  }

  /**
   * Records a proposed value (validated against the attrib's schema); it takes effect when its
   * deployment or node is committed (inside `outer` when given: a blueprint apply). ERR_ATTRIB_INVALID
   * names the field and what the schema expects.
   */
  async function setAttrib(
    scope: AttribScope,
    targetId: number,
    name: string,
    value: unknown,
    actor: Actor,
    outer?: UnitOfWork,
  ) {
    const def = registry.attrib(name);
    const checked = registry.validateAttribValue(name, value);
    if (!checked.ok) throw inputError(checked.issues, 'ERR_ATTRIB_INVALID');
    await useCase(
      deps,
      async (uow) => {
        const { tx } = uow;
        if (scope === 'node-role') {
          const nr = await tx.nodeRoles.get(targetId);
          if (!registry.role(nr.role).wants.includes(name)) {
            throw new AppError(
              'ERR_ATTRIB_NOT_WANTED',
              `role "${nr.role}" does not want attrib "${name}"; set it on the node or deployment instead`,
            );
          }
        } else if (scope === 'node') await tx.nodes.get(targetId);
        else await tx.deployments.get(targetId);
        const attribId = (await tx.catalog.ids()).attribIds.get(name)!;
        const now = deps.now();
        await tx.attribs.setProposed(attribId, scope, targetId, checked.value, now);
        await audit(
          uow,
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
      },
      outer,
    );
  }

  /** error → todo (or blocked), remove-error → removing. ERR_STATE_INVALID for any other state. */
  async function retry(nodeRoleId: number, actor: Actor) {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const nr = await tx.nodeRoles.get(nodeRoleId);
      if (!(await tx.nodeRoles.retry(nodeRoleId, deps.now()))) {
        throw new AppError(
          'ERR_STATE_INVALID',
          `node-role ${nodeRoleId} (${nr.role} on ${nr.node}) is ${nr.state}, not error or remove-error: only failed node-roles can be retried`,
        );
      }
      await audit(
        uow,
        [{ actor, type: 'node-role.retry', objectType: 'node-role', objectId: nodeRoleId, data: { from: nr.state } }],
        deps.now(),
      );
      uow.emit({ type: 'work' });
      return tx.nodeRoles.get(nodeRoleId);
    });
  }

  /** Runs node-role `id` again (a new generation) and, after it, everything that depends on it. */
  async function runAgain(
    uow: UnitOfWork,
    id: number,
    actor: Actor,
    event: { type: string; objectType: string; objectId: number; data?: Record<string, unknown> },
  ) {
    const now = deps.now();
    await uow.tx.nodeRoles.bump([id], now);
    const descendants = await uow.tx.queue.blockDescendants([id], now);
    await audit(uow, [{ actor, ...event, data: { ...event.data, nodeRole: id, descendants } }], now);
    uow.emit({ type: 'work' });
    return [id, ...descendants];
  }

  /**
   * Runs an active or failed node-role again, and what depends on it after it (the operator's "re-run",
   * e.g. a service after its clients changed). A destructive role (RAID, BIOS) that already ran runs
   * again only with `force` (audited); `force` on any other role is refused. Throws
   * ERR_NODE_ROLE_NOT_FOUND, ERR_STATE_INVALID (never committed, running now, or on its way out),
   * ERR_FORCE_REQUIRED, ERR_FORCE_INVALID.
   */
  async function rerunNodeRole(id: number, actor: Actor, opts: { force?: boolean } = {}) {
    return useCase(deps, async (uow) => {
      const nr = await uow.tx.nodeRoles.get(id);
      const what = `node-role ${id} (${nr.role} on ${nr.node})`;
      if (nr.state === 'proposed' || nr.state === 'transition') {
        throw new AppError(
          'ERR_STATE_INVALID',
          `${what} is ${nr.state}: ${nr.state === 'proposed' ? 'commit it first' : 'it is running now; re-run it when it has finished'}`,
        );
      }
      if (nr.state === 'removing' || nr.state === 'remove-error') {
        throw new AppError('ERR_STATE_INVALID', `${what} is ${nr.state}: it is on its way out and cannot re-run`);
      }
      const destructive = registry.role(nr.role).flags.has('destructive');
      if (opts.force && !destructive) {
        throw new AppError('ERR_FORCE_INVALID', `${what} is not destructive: re-run it without force`);
      }
      if (destructive && nr.runCount > 0 && !opts.force) {
        throw new AppError(
          'ERR_FORCE_REQUIRED',
          `${what} is destructive and already ran: re-running it may destroy data on the node; send {"force": true} (CLI: --force) to run it again`,
        );
      }
      if (opts.force) await uow.tx.nodeRoles.forgetRuns(id, deps.now());
      const rerun = await runAgain(uow, id, actor, {
        type: 'node-role.rerun',
        objectType: 'node-role',
        objectId: id,
        data: { force: opts.force === true },
      });
      return { nodeRole: id, rerun };
    });
  }

  /**
   * Installs the node again: its `os-install` node-role runs anew (a new install) and everything above it
   * on the node runs again after it; other nodes are untouched, destructive roles (RAID, BIOS) are not
   * re-applied. Throws ERR_NODE_NOT_FOUND, ERR_STATE_INVALID (no os-install bound on the node).
   */
  async function redeploy(ref: number | string, actor: Actor) {
    return useCase(deps, async (uow) => {
      const node = await uow.tx.nodes.get(ref);
      const [install] = (await uow.tx.nodeRoles.list({ nodeId: node.id })).filter((nr) => nr.role === OS_INSTALL);
      if (!install || install.state === 'proposed') {
        throw new AppError(
          'ERR_STATE_INVALID',
          `node ${node.name} has no committed ${OS_INSTALL} node-role: bind ready-node (or ${OS_INSTALL}) on it and commit first`,
        );
      }
      if (install.state === 'removing' || install.state === 'remove-error') {
        throw new AppError('ERR_STATE_INVALID', `node ${node.name}'s ${OS_INSTALL} is on its way out`);
      }
      const rerun = await runAgain(uow, install.id, actor, {
        type: 'node.redeploy',
        objectType: 'node',
        objectId: node.id,
      });
      return { node: node.name, nodeRole: install.id, rerun };
    });
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
