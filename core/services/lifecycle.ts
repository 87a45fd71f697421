/**
 * The way out (DESIGN §7b): unbind a role, delete a deployment, move a node, retire a node. Each is one
 * transaction that marks node-roles for removal (store/teardown.ts: children before parents, a cluster
 * keeps its other members' children and re-runs them) and records an audit event; the annealer then runs
 * the remove actions and finishes the deployment or node when nothing is left (also in this transaction
 * when there is nothing to remove, or with `force`, which deletes records without running removes).
 *
 * Errors (nothing changed): ERR_DEPLOYMENT_NOT_FOUND, ERR_NODE_NOT_FOUND, ERR_ROLE_NOT_FOUND, ERR_NOT_BOUND,
 * ERR_DEPLOYMENT_PROTECTED (system), ERR_STATE_INVALID (child deployments left; a service node),
 * ERR_MOVE_INVALID.
 */
import { AppError } from '../errors';
import type { MarkResult } from '../store/teardown';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';

export interface LifecycleDeps {
  binding: {
    bind(deploymentId: number, role: string, nodeId: number, actor: Actor, outer: UnitOfWork): Promise<unknown>;
  };
  changes: { commitNode(ref: number | string, actor: Actor, outer: UnitOfWork): Promise<unknown> };
}

export interface RemovalOptions {
  /** Delete the records without running remove actions (audited). */
  force?: boolean;
}

export interface MoveOptions extends RemovalOptions {
  /** Bind the new deployment's roles on the node (default). A blueprint apply binds its group's roles itself. */
  bindRoles?: boolean;
}

export function lifecycleService(deps: ServiceDeps, services: LifecycleDeps) {
  const { registry } = deps;

  async function clusterRoleIds({ tx }: UnitOfWork): Promise<Set<number>> {
    const ids = (await tx.catalog.ids()).roleIds;
    return new Set(registry.rolesInOrder.filter((r) => r.flags.has('cluster')).map((r) => ids.get(r.name)!));
  }

  /** Marks `roots` for removal and finishes what has nothing left to remove; audits a force. */
  async function remove(uow: UnitOfWork, roots: number[], opts: RemovalOptions, actor: Actor): Promise<MarkResult> {
    const now = deps.now();
    const marked = await uow.tx.teardown.mark(
      roots,
      { clusterRoleIds: await clusterRoleIds(uow), force: !!opts.force },
      now,
    );
    if (opts.force && marked.deleted.length) {
      await audit(
        uow,
        [
          {
            actor,
            type: 'node-roles.force-removed',
            objectType: 'node-role',
            data: { nodeRoleIds: marked.deleted, note: 'records deleted without running remove actions' },
          },
        ],
        now,
      );
    }
    const finished = await uow.tx.teardown.finalize(actor, now);
    for (const n of finished.nodes) uow.emit({ type: 'node.retired', nodeId: n.id });
    uow.emit({ type: 'work' });
    uow.emit({ type: 'audit' });
    return marked;
  }

  /** Unbinds `role` from `node` in deployment `ref` (a service role: from the deployment's service node). */
  async function unbind(
    ref: number | string,
    roleName: string,
    nodeRef: number | string,
    opts: RemovalOptions,
    actor: Actor,
    outer?: UnitOfWork,
  ): Promise<MarkResult> {
    return useCase(
      deps,
      async (uow) => {
        const { tx } = uow;
        const d = await tx.deployments.get(ref);
        const node = await tx.nodes.get(nodeRef);
        const role = registry.role(roleName);
        const target = role.flags.has('service') ? await tx.nodes.serviceNode(d.id) : node;
        const roleId = (await tx.catalog.ids()).roleIds.get(role.name)!;
        const nr = target ? await tx.nodeRoles.findByRoleNode(roleId, target.id) : null;
        if (!nr || nr.deploymentId !== d.id) {
          throw new AppError(
            'ERR_NOT_BOUND',
            `role "${role.name}" is not bound on node ${node.name} in deployment ${d.name}: nothing to unbind (GET /api/v2/deployments/${d.name}/node-roles lists what is)`,
            { details: { deployment: d.name, role: role.name, node: node.name } },
          );
        }
        const marked = await remove(uow, [nr.id], opts, actor);
        await audit(
          uow,
          [
            {
              actor,
              type: 'node-role.unbind',
              objectType: 'node-role',
              objectId: nr.id,
              data: { deployment: d.name, role: role.name, node: node.name, force: !!opts.force, ...marked },
            },
          ],
          deps.now(),
        );
        return marked;
      },
      outer,
    );
  }

  /** Tears deployment `ref` down: its node-roles removed, its nodes handed to its parent, the record gone. */
  async function deleteDeployment(ref: number | string, opts: RemovalOptions, actor: Actor) {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const d = await tx.deployments.get(ref);
      if (d.system || d.parentId === null) {
        throw new AppError(
          'ERR_DEPLOYMENT_PROTECTED',
          `deployment ${d.name} is the root of the tree and cannot be deleted: move nodes out of it (POST /api/v2/nodes/{ref}/move) or retire them (DELETE /api/v2/nodes/{ref})`,
        );
      }
      const children = (await tx.deployments.list()).filter((c) => c.parentId === d.id);
      if (children.length) {
        throw new AppError(
          'ERR_STATE_INVALID',
          `deployment ${d.name} has child deployments (${children.map((c) => c.name).join(', ')}): delete them first`,
        );
      }
      const now = deps.now();
      const deleting = await tx.deployments.setState(d.id, 'deleting', now);
      await audit(
        uow,
        [
          {
            actor,
            type: 'deployment.delete',
            objectType: 'deployment',
            objectId: d.id,
            data: { name: d.name, force: !!opts.force },
          },
        ],
        now,
      );
      const marked = await remove(uow, await tx.nodeRoles.ids({ deploymentId: d.id }), opts, actor);
      return { deployment: deleting, ...marked };
    });
  }

  /**
   * Moves a node into deployment `to`: its node-roles of the deployments it leaves are removed — except
   * those of `to`'s ancestors (moving from `system` into a child keeps the ready-state node-roles) — and
   * the roles of `to` are bound on it (committed if `to` is) — at once when nothing is left to remove,
   * otherwise (`waiting`) by {@link settleMoves} once those removals finish.
   */
  async function moveNode(
    nodeRef: number | string,
    toRef: number | string,
    opts: MoveOptions,
    actor: Actor,
    outer?: UnitOfWork,
  ) {
    return useCase(
      deps,
      async (uow) => {
        const { tx } = uow;
        const node = await tx.nodes.get(nodeRef);
        const to = await tx.deployments.get(toRef);
        const from = await tx.deployments.get(node.deploymentId);
        const refuse = (why: string) => {
          throw new AppError('ERR_MOVE_INVALID', `node ${node.name} cannot move to ${to.name}: ${why}`, {
            details: { node: node.name, deployment: to.name },
          });
        };
        if (node.system) refuse('it is a service node, which belongs to its deployment');
        if (node.state === 'retiring') refuse('it is retiring');
        if (to.state === 'deleting') refuse(`deployment ${to.name} is being deleted; pick another one`);
        const none = { removing: [] as number[], deleted: [] as number[], rerun: [] as number[] };
        if (to.id === from.id) return { node: node.name, from: from.name, to: to.name, ...none, bound: [] as number[] };

        const keep = new Set<number>([to.id]);
        for (let p = to.parentId; p !== null; p = (await tx.deployments.get(p)).parentId) keep.add(p);
        const leaving = (await tx.nodeRoles.list({ nodeId: node.id }))
          .filter((nr) => !keep.has(nr.deploymentId))
          .map((nr) => nr.id);
        const marked = await remove(uow, leaving, opts, actor);
        const now = deps.now();
        // A role is bound once per node: what the node leaves must be gone before `to`'s roles are bound.
        const bindRoles = opts.bindRoles !== false;
        const waiting = bindRoles && marked.removing.length > 0;
        await tx.nodes.moveTo(node.id, to.id, now, waiting);
        const bound = waiting || !bindRoles ? [] : await bindDeploymentRoles(uow, node.id, to.id, actor);
        const result = { node: node.name, from: from.name, to: to.name, ...marked, bound, waiting };
        await audit(
          uow,
          [
            {
              actor,
              type: 'node.move',
              objectType: 'node',
              objectId: node.id,
              data: { ...result, force: !!opts.force },
            },
          ],
          now,
        );
        return result;
      },
      outer,
    );
  }

  /** Binds every (non-service) role of deployment `deploymentId` on the node, committed if it is. */
  async function bindDeploymentRoles(uow: UnitOfWork, nodeId: number, deploymentId: number, actor: Actor) {
    const to = await uow.tx.deployments.get(deploymentId);
    const bound = new Set<number>();
    for (const name of await uow.tx.deployments.roles(to.id)) {
      if (registry.role(name).flags.has('service')) continue;
      const r = (await services.binding.bind(to.id, name, nodeId, actor, uow)) as { created: number[] };
      r.created.forEach((id) => bound.add(id));
    }
    if (to.state === 'committed') await services.changes.commitNode(nodeId, actor, uow);
    return [...bound];
  }

  /**
   * Finishes the moves that waited for removals (moveNode's `waiting`): binds each such node's deployment
   * roles, one transaction per node. Run after removals complete and at start-up, so a crash between the
   * last removal and this loses nothing; a node that is retiring, or whose deployment is being deleted,
   * is only cleared. Returns the nodes settled.
   */
  async function settleMoves(actor: Actor = 'anneal'): Promise<number[]> {
    const ids = await deps.store.nodes.awaitingRebind();
    for (const id of ids) {
      await useCase(deps, async (uow) => {
        const { tx } = uow;
        const node = await tx.nodes.get(id);
        const d = await tx.deployments.get(node.deploymentId);
        const now = deps.now();
        await tx.nodes.clearRebind(id, now);
        if (node.state === 'retiring' || d.state === 'deleting') return;
        const bound = await bindDeploymentRoles(uow, id, d.id, actor);
        await audit(
          uow,
          [{ actor, type: 'node.move-settled', objectType: 'node', objectId: id, data: { deployment: d.name, bound } }],
          now,
        );
      });
    }
    return ids;
  }

  /**
   * At start-up: the daemons of the service roles on the admin host (`service` + jig `local`: dns, ntp,
   * proxy) stopped with the previous anneal process, so their active node-roles run again (their applies
   * start a daemon only when it is not running). Audited; returns the node-roles re-run.
   */
  async function resumeServiceDaemons(actor: Actor = 'anneal'): Promise<number[]> {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const roleIds = (await tx.catalog.ids()).roleIds;
      const ids: number[] = [];
      for (const r of registry.rolesInOrder)
        if (r.flags.has('service') && r.jig === 'local')
          ids.push(...(await tx.nodeRoles.ids({ roleId: roleIds.get(r.name)!, state: 'active' })));
      if (!ids.length) return ids;
      const now = deps.now();
      await tx.nodeRoles.bump(ids, now);
      await audit(
        uow,
        [
          {
            actor,
            type: 'node-roles.rerun',
            objectType: 'node-role',
            data: { nodeRoleIds: ids, note: 'service daemons start again with anneal' },
          },
        ],
        now,
      );
      uow.emit({ type: 'work' });
      return ids;
    });
  }

  /** Retires a node: its node-roles removed, then its record, allocations, secrets and installs go. */
  async function retireNode(nodeRef: number | string, opts: RemovalOptions, actor: Actor) {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      const node = await tx.nodes.get(nodeRef);
      if (node.system) {
        throw new AppError(
          'ERR_STATE_INVALID',
          `node ${node.name} is a deployment's service node: it goes when its deployment is deleted`,
        );
      }
      const now = deps.now();
      const retiring = await tx.nodes.update(node.id, { state: 'retiring' }, now);
      await audit(
        uow,
        [
          {
            actor,
            type: 'node.retire',
            objectType: 'node',
            objectId: node.id,
            data: { name: node.name, force: !!opts.force },
          },
        ],
        now,
      );
      const marked = await remove(uow, await tx.nodeRoles.ids({ nodeId: node.id }), opts, actor);
      return { node: retiring, ...marked };
    });
  }

  return { unbind, deleteDeployment, moveNode, retireNode, settleMoves, resumeServiceDaemons };
}
