/**
 * Binding a role to a node inside a deployment (DESIGN §1, Crowbar's NodeRole.safe_create!):
 * creates the node-role and, recursively, the node-roles of everything it requires, wired as parents.
 *
 * For each required role P of a node-role on node N:
 * - P is `service`: its node-role on the deployment's service node (run again when its role says
 *   `rerunOnNewChild`, so it serves the new child too);
 * - P is `cluster`: every member of P in the deployment (binding one on N when there is none); a
 *   member bound later becomes a parent of the existing children too, which then run again;
 * - P already bound on N: that node-role;
 * - P not `implicit`: any node-role of P in the deployment or, failing that, its ancestors;
 * - otherwise P is bound on N.
 * `precedes` adds soft edges between roles bound on the same node. Cohort = 1 + max parent cohort.
 * Idempotent: binding what is already bound returns the existing node-role. New node-roles are
 * `proposed` until their deployment or node is committed.
 */
import { AppError } from '../errors';
import type { Repos } from '../store';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';

export function bindingService(deps: ServiceDeps) {
  const { registry } = deps;

  /** The graph walk of one bind, on the bind's transaction. */
  function binder(store: Repos) {
    async function roleId(name: string): Promise<number> {
      const id = (await store.catalog.ids()).roleIds.get(name);
      if (id === undefined) throw new AppError('ERR_ROLE_NOT_FOUND', `role "${name}" is not in the catalog`);
      return id;
    }

    async function serviceNodeId(deploymentId: number): Promise<number> {
      const svc = await store.nodes.serviceNode(deploymentId);
      if (!svc) {
        throw new AppError('ERR_BIND_INVALID', `deployment ${deploymentId} has no service node to host service roles`);
      }
      return svc.id;
    }

    interface Bound {
      id: number;
      cohort: number;
      created: boolean;
    }

    async function parentsFor(
      deploymentId: number,
      required: string,
      nodeId: number,
      created: number[],
    ): Promise<Bound[]> {
      const p = registry.role(required);
      const pId = await roleId(required);
      if (p.flags.has('service')) {
        const svc = await bindOne(deploymentId, required, await serviceNodeId(deploymentId), created);
        if (!svc.created && p.spec.rerunOnNewChild) await store.nodeRoles.bump([svc.id], deps.now());
        return [svc];
      }
      if (p.flags.has('cluster')) {
        const members = await store.nodeRoles.listByRole(deploymentId, pId);
        if (members.length) return members.map((m) => ({ id: m.id, cohort: m.cohort, created: false }));
        return [await bindOne(deploymentId, required, nodeId, created)];
      }
      const here = await store.nodeRoles.findByRoleNode(pId, nodeId);
      if (here) return [{ id: here.id, cohort: here.cohort, created: false }];
      if (!p.flags.has('implicit')) {
        for (let d: number | null = deploymentId; d !== null; d = (await store.deployments.get(d)).parentId) {
          const elsewhere = await store.nodeRoles.listByRole(d, pId);
          if (elsewhere[0]) return [{ id: elsewhere[0].id, cohort: elsewhere[0].cohort, created: false }];
        }
      }
      return [await bindOne(deploymentId, required, nodeId, created)];
    }

    async function bindOne(deploymentId: number, roleName: string, nodeId: number, created: number[]): Promise<Bound> {
      const role = registry.role(roleName);
      const rId = await roleId(roleName);
      const node = await store.nodes.get(nodeId);
      if (role.flags.has('service') !== node.system) {
        const fix = role.flags.has('service')
          ? `bind it to the deployment's service node (${deploymentId})`
          : 'bind it to a real node, not the service node';
        throw new AppError(
          'ERR_BIND_INVALID',
          `role "${roleName}" ${role.flags.has('service') ? 'is' : 'is not'} a service role: ${fix}`,
        );
      }
      const existing = await store.nodeRoles.findByRoleNode(rId, nodeId);
      if (existing) return { id: existing.id, cohort: existing.cohort, created: false };

      const parents: Bound[] = [];
      for (const required of role.requires)
        parents.push(...(await parentsFor(deploymentId, required, nodeId, created)));
      const cohort = parents.length ? Math.max(...parents.map((p) => p.cohort)) + 1 : 0;
      const id = await store.nodeRoles.insert({ deploymentId, roleId: rId, nodeId, cohort }, deps.now());
      created.push(id);
      await store.deployments.addRole(deploymentId, rId);
      const edges = parents.map((p) => ({ parentId: p.id, childId: id, soft: false }));

      const onNode = await store.nodeRoles.list({ nodeId });
      for (const other of onNode) {
        if (other.id === id) continue;
        if (registry.role(other.role).precedes.includes(roleName))
          edges.push({ parentId: other.id, childId: id, soft: true });
        if (role.precedes.includes(other.role)) edges.push({ parentId: id, childId: other.id, soft: true });
      }
      if (role.flags.has('cluster')) {
        const peers = (await store.nodeRoles.listByRole(deploymentId, rId)).filter((m) => m.id !== id);
        const children = [...new Set((await store.nodeRoles.childrenOf(peers.map((p) => p.id))).map((e) => e.childId))];
        edges.push(...children.map((childId) => ({ parentId: id, childId, soft: false })));
        if (children.length) await store.nodeRoles.bump(children, deps.now());
      }
      await store.nodeRoles.addEdges(edges);
      return { id, cohort, created: true };
    }

    return { bindOne, serviceNodeId };
  }

  /**
   * Returns the node-role of `role` on `node` (new or existing) and the ids of every node-role created,
   * in one transaction (inside `outer` when given: discovery, a move). ERR_STATE_INVALID when the
   * deployment is being deleted or the node retiring.
   */
  async function bind(
    deploymentId: number,
    roleName: string,
    nodeId: number,
    actor: Actor = 'anneal',
    outer?: UnitOfWork,
  ): Promise<{ nodeRoleId: number; created: number[] }> {
    return useCase(
      deps,
      async (uow) => {
        const d = await uow.tx.deployments.get(deploymentId);
        const node = await uow.tx.nodes.get(nodeId);
        if (d.state === 'deleting') {
          throw new AppError('ERR_STATE_INVALID', `deployment ${d.name} is being deleted: nothing can be bound in it`);
        }
        if (node.state === 'retiring') {
          throw new AppError('ERR_STATE_INVALID', `node ${node.name} is retiring: nothing can be bound on it`);
        }
        const created: number[] = [];
        const role = registry.role(roleName);
        const b = binder(uow.tx);
        const target = role.flags.has('service') ? await b.serviceNodeId(deploymentId) : nodeId;
        const bound = await b.bindOne(deploymentId, roleName, target, created);
        if (created.length) {
          await audit(
            uow,
            [
              {
                actor,
                type: 'node-role.bind',
                objectType: 'node-role',
                objectId: bound.id,
                data: { deployment: d.name, role: roleName, node: node.name, created },
              },
            ],
            deps.now(),
          );
          uow.emit({ type: 'work' });
        }
        return { nodeRoleId: bound.id, created };
      },
      outer,
    );
  }

  return { bind };
}
