/**
 * Creating deployments and nodes. Every deployment gets a service node (Crowbar's phantom node) that
 * hosts its `service` roles; it is committed and alive from the start because it is the admin side.
 */
import { AppError } from '../errors';
import type { NewNode, NodePatch } from '../store/nodes';
import type { Actor, ServiceDeps } from './deps';

export const systemDeployment = 'system';

export function serviceNodeName(deployment: string): string {
  return `${deployment}.service.anneal.internal`;
}

export function inventoryService(deps: ServiceDeps) {
  const { store } = deps;

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

  async function createNode(
    input: Omit<NewNode, 'deploymentId' | 'system'> & { deployment?: string | number },
    actor: Actor,
  ) {
    await ensureUnique('node', input.name);
    const { deployment, ...rest } = input;
    const d = await store.deployments.get(deployment ?? systemDeployment);
    const now = deps.now();
    const node = await store.nodes.create({ ...rest, deploymentId: d.id }, now);
    await store.events.append(
      [{ actor, type: 'node.create', objectType: 'node', objectId: node.id, data: { name: node.name } }],
      now,
    );
    return node;
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
