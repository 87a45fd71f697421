/**
 * Creating deployments and nodes. Every deployment gets a service node (Crowbar's phantom node) that
 * hosts its `service` roles; it is committed and alive from the start because it is the admin side.
 * A node created in a deployment whose `anneal/discover` is true gets every `discovery` role bound and
 * is committed at once (docs/ready-state.md), so discovered nodes walk up to ready-node on their own.
 */
import { AppError } from '../errors';
import type { NewNode, NodePatch } from '../store/nodes';
import type { Actor, ServiceDeps } from './deps';

export const systemDeployment = 'system';

/** Deployment attrib: bind the discovery roles to new nodes and commit them (barclamps/anneal). */
const DISCOVER_ATTRIB = 'anneal/discover';

export function serviceNodeName(deployment: string): string {
  return `${deployment}.service.anneal.internal`;
}

/** The services createNode uses to bind and commit a discovered node. */
export interface DiscoveryServices {
  binding: { bind(deploymentId: number, role: string, nodeId: number): Promise<unknown> };
  changes: { commitNode(ref: number | string, actor: Actor): Promise<unknown> };
}

export function inventoryService(deps: ServiceDeps, discovery: DiscoveryServices) {
  const { store } = deps;

  /** The deployment's committed `anneal/discover` (default false). */
  async function discovers(deploymentId: number): Promise<boolean> {
    const values = await store.attribs.committedFor({ deploymentIds: [deploymentId], nodeIds: [], nodeRoleIds: [] });
    const v = values.find((x) => x.attrib === DISCOVER_ATTRIB && x.scope === 'deployment');
    return v?.value === true;
  }

  async function ensureUnique(kind: 'node' | 'deployment', name: string) {
    const taken = kind === 'node' ? await store.nodes.find(name) : await store.deployments.find(name);
    if (taken)
      throw new AppError(
        'ERR_NAME_TAKEN',
        `a ${kind} named "${name}" already exists (id ${taken.id}); choose another name`,
      );
  }

  async function createDeploymentRow(
    name: string,
    description: string,
    parentId: number | null,
    system: boolean,
    actor: Actor,
  ) {
    const now = deps.now();
    const d = await store.deployments.create(
      { name, description, parentId, system, state: system ? 'committed' : 'proposed' },
      now,
    );
    await store.nodes.create({ name: serviceNodeName(name), deploymentId: d.id, system: true, alive: true }, now);
    const svc = await store.nodes.get(serviceNodeName(name));
    await store.nodes.update(svc.id, { state: 'committed' }, now);
    await store.events.append(
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
      return await createDeploymentRow(
        systemDeployment,
        'The root deployment; new nodes start here.',
        null,
        true,
        actor,
      );
    } catch (err) {
      const raced = await store.deployments.find(systemDeployment);
      if (raced) return raced;
      throw err;
    }
  }

  async function createDeployment(
    input: { name: string; description?: string; parent?: string | number },
    actor: Actor,
  ) {
    await ensureUnique('deployment', input.name);
    const parent = await store.deployments.get(input.parent ?? systemDeployment);
    return createDeploymentRow(input.name, input.description ?? '', parent.id, false, actor);
  }

  /** Creates a node; `bmcPassword` (secret) is stored as its BMC password and never returned or logged. */
  async function createNode(
    input: Omit<NewNode, 'deploymentId' | 'system'> & { deployment?: string | number; bmcPassword?: string },
    actor: Actor,
  ) {
    await ensureUnique('node', input.name);
    const { deployment, bmcPassword, ...rest } = input;
    const d = await store.deployments.get(deployment ?? systemDeployment);
    const now = deps.now();
    const node = await store.nodes.create({ ...rest, deploymentId: d.id }, now);
    if (bmcPassword) await store.nodeSecrets.set(node.id, 'bmc-password', bmcPassword, now);
    await store.events.append(
      [{ actor, type: 'node.create', objectType: 'node', objectId: node.id, data: { name: node.name } }],
      now,
    );
    if (!(await discovers(d.id))) return node;
    // Discovery: the node walks up on its own. Roles are bound in catalog order, so parents come first.
    const roles = deps.registry.rolesInOrder.filter((r) => r.flags.has('discovery')).map((r) => r.name);
    for (const role of roles) await discovery.binding.bind(d.id, role, node.id);
    await discovery.changes.commitNode(node.id, actor);
    return store.nodes.get(node.id);
  }

  /** Changes a node's operator-editable fields and records which ones in the audit log. */
  async function updateNode(ref: number | string, patch: NodePatch, actor: Actor) {
    const node = await store.nodes.get(ref);
    const now = deps.now();
    const updated = await store.nodes.update(node.id, patch, now);
    await store.events.append(
      [{ actor, type: 'node.update', objectType: 'node', objectId: node.id, data: { changed: Object.keys(patch) } }],
      now,
    );
    return updated;
  }

  return { ensureSystem, createDeployment, createNode, updateNode };
}
