/**
 * A deployment's converge status: its layer cake (core/domain/layer-cake.ts) with the deployment's
 * identity. Read-only; one query for the node-roles and one for their nodes, so the UI and
 * `anneal converge` can poll it cheaply.
 */
import { layerCake, type LayerCake } from '../domain/layer-cake';
import type { DeploymentState } from '../domain/vocabulary';
import type { ServiceDeps } from './deps';

export interface DeploymentStatus extends LayerCake {
  deployment: { id: number; name: string; state: DeploymentState };
}

export function statusService({ store, registry }: Pick<ServiceDeps, 'store' | 'registry'>) {
  const cakeRoles = [...registry.roles.values()].map((r) => ({
    name: r.name,
    requires: r.requires,
    milestone: r.flags.has('milestone'),
    service: r.flags.has('service'),
  }));

  /** Throws ERR_DEPLOYMENT_NOT_FOUND for an unknown ref. */
  async function forDeployment(ref: number | string): Promise<DeploymentStatus> {
    const d = await store.deployments.get(ref);
    const nodeRoles = await store.nodeRoles.list({ deploymentId: d.id });
    const members = await store.nodes.list({ deploymentId: d.id }, { offset: 0, limit: 100_000 });
    const known = new Set(members.map((n) => n.id));
    const elsewhere = [...new Set(nodeRoles.map((nr) => nr.nodeId))].filter((id) => !known.has(id));
    const nodes = [...members, ...(await store.nodes.byIds(elsewhere))];
    return { deployment: { id: d.id, name: d.name, state: d.state }, ...layerCake(cakeRoles, nodes, nodeRoles) };
  }

  return { forDeployment };
}
