/**
 * Creating deployments and nodes. Every deployment gets a service node (Crowbar's phantom node) that
 * hosts its `service` roles; it is committed and alive from the start because it is the admin side.
 * A node created in a deployment whose `anneal/discover` is true gets every `discovery` role bound and
 * is committed at once (docs/ready-state.md), so discovered nodes walk up to ready-node on their own.
 */
import { serviceNodeName } from '../domain/vocabulary';
import { AppError } from '../errors';
import type { NewNode, NodePatch } from '../store/nodes';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';

export const systemDeployment = 'system';

/** Deployment attrib: bind the discovery roles to new nodes and commit them (barclamps/anneal). */
const DISCOVER_ATTRIB = 'anneal/discover';

export { serviceNodeName };

/** The services createNode uses to bind and commit a discovered node. */
export interface DiscoveryServices {
  binding: {
    bind(deploymentId: number, role: string, nodeId: number, actor: Actor, outer: UnitOfWork): Promise<unknown>;
  };
  changes: { commitNode(ref: number | string, actor: Actor, outer: UnitOfWork): Promise<unknown> };
}

export function inventoryService(deps: ServiceDeps, discovery: DiscoveryServices) {
  const { store } = deps;

  /** The deployment's committed `anneal/discover` (default false). */
  async function discovers({ tx }: UnitOfWork, deploymentId: number): Promise<boolean> {
    const values = await tx.attribs.committedFor({ deploymentIds: [deploymentId], nodeIds: [], nodeRoleIds: [] });
    const v = values.find((x) => x.attrib === DISCOVER_ATTRIB && x.scope === 'deployment');
    return v?.value === true;
  }

  async function ensureUnique({ tx }: UnitOfWork, kind: 'node' | 'deployment', name: string) {
    const taken = kind === 'node' ? await tx.nodes.find(name) : await tx.deployments.find(name);
    if (taken)
      throw new AppError(
        'ERR_NAME_TAKEN',
        `a ${kind} named "${name}" already exists (id ${taken.id}); choose another name`,
      );
  }

  async function createDeploymentRow(
    uow: UnitOfWork,
    name: string,
    description: string,
    parentId: number | null,
    system: boolean,
    actor: Actor,
  ) {
    const { tx } = uow;
    const now = deps.now();
    const d = await tx.deployments.create(
      { name, description, parentId, system, state: system ? 'committed' : 'proposed' },
      now,
    );
    await tx.nodes.create({ name: serviceNodeName(name), deploymentId: d.id, system: true, alive: true }, now);
    const svc = await tx.nodes.get(serviceNodeName(name));
    await tx.nodes.update(svc.id, { state: 'committed' }, now);
    await audit(
      uow,
      [{ actor, type: 'deployment.create', objectType: 'deployment', objectId: d.id, data: { name } }],
      now,
    );
    return d;
  }

  /** The root `system` deployment, created on first start. Idempotent. */
  async function ensureSystem(actor: Actor) {
    const existing = await store.deployments.find(systemDeployment);
    if (existing) return existing;
    try {
      return await useCase(deps, (uow) =>
        createDeploymentRow(uow, systemDeployment, 'The root deployment; new nodes start here.', null, true, actor),
      );
    } catch (err) {
      const raced = await store.deployments.find(systemDeployment);
      if (raced) return raced;
      throw err;
    }
  }

  /** Creates a deployment under `parent` (default system), inside `outer` when given (a blueprint apply). */
  async function createDeployment(
    input: { name: string; description?: string; parent?: string | number },
    actor: Actor,
    outer?: UnitOfWork,
  ) {
    return useCase(
      deps,
      async (uow) => {
        await ensureUnique(uow, 'deployment', input.name);
        const parent = await uow.tx.deployments.get(input.parent ?? systemDeployment);
        if (parent.state === 'deleting') {
          throw new AppError('ERR_STATE_INVALID', `deployment ${parent.name} is being deleted: choose another parent`);
        }
        return createDeploymentRow(uow, input.name, input.description ?? '', parent.id, false, actor);
      },
      outer,
    );
  }

  /** Creates a node; `bmcPassword` (secret) is stored as its BMC password and never returned or logged. */
  async function createNode(
    input: Omit<NewNode, 'deploymentId' | 'system'> & { deployment?: string | number; bmcPassword?: string },
    actor: Actor,
  ) {
    return useCase(deps, async (uow) => {
      const { tx } = uow;
      await ensureUnique(uow, 'node', input.name);
      const { deployment, bmcPassword, ...rest } = input;
      const d = await tx.deployments.get(deployment ?? systemDeployment);
      if (d.state === 'deleting') {
        throw new AppError('ERR_STATE_INVALID', `deployment ${d.name} is being deleted: create the node elsewhere`);
      }
      const now = deps.now();
      const node = await tx.nodes.create({ ...rest, deploymentId: d.id }, now);
      if (bmcPassword) await tx.nodeSecrets.set(node.id, 'bmc-password', bmcPassword, now);
      await audit(
        uow,
        [{ actor, type: 'node.create', objectType: 'node', objectId: node.id, data: { name: node.name } }],
        now,
      );
      if (!(await discovers(uow, d.id))) return node;
      // Discovery: the node walks up on its own. Roles are bound in catalog order, so parents come first.
      const roles = deps.registry.rolesInOrder.filter((r) => r.flags.has('discovery')).map((r) => r.name);
      for (const role of roles) await discovery.binding.bind(d.id, role, node.id, actor, uow);
      await discovery.changes.commitNode(node.id, actor, uow);
      return tx.nodes.get(node.id);
    });
  }

  /** Changes a node's operator-editable fields and records which ones in the audit log. */
  async function updateNode(ref: number | string, patch: NodePatch, actor: Actor) {
    return useCase(deps, async (uow) => {
      const node = await uow.tx.nodes.get(ref);
      const now = deps.now();
      const updated = await uow.tx.nodes.update(node.id, patch, now);
      await audit(
        uow,
        [{ actor, type: 'node.update', objectType: 'node', objectId: node.id, data: { changed: Object.keys(patch) } }],
        now,
      );
      return updated;
    });
  }

  /**
   * Replaces a node's tags (what blueprint selectors and node filters match); stored lower-case, unique,
   * sorted. Audited with the tags added and removed; setting the same tags changes nothing.
   */
  async function setTags(ref: number | string, tags: string[], actor: Actor) {
    return useCase(deps, async (uow) => {
      const node = await uow.tx.nodes.get(ref);
      const next = [...new Set(tags)].sort();
      const added = next.filter((t) => !node.tags.includes(t));
      const removed = node.tags.filter((t) => !next.includes(t));
      if (!added.length && !removed.length) return node;
      const now = deps.now();
      const updated = await uow.tx.nodes.update(node.id, { tags: next }, now);
      await audit(
        uow,
        [{ actor, type: 'node.tags', objectType: 'node', objectId: node.id, data: { tags: next, added, removed } }],
        now,
      );
      return updated;
    });
  }

  return { ensureSystem, createDeployment, createNode, updateNode, setTags };
}
