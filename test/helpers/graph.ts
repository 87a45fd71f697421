/**
 * Builders and graph queries shared by the annealer tests: a deployment of N alive nodes with the
 * `test` fixture's cluster graph bound on every node, and descendants computed from the stored edges.
 */
import type { Anneal } from '../../core/boot';
import type { Store } from '../../core/store';

export interface ClusterDeployment {
  deploymentId: number;
  serviceNodeId: number;
  nodeIds: number[];
}

/**
 * Creates deployment `name` with `count` nodes (alive unless `alive: false`), binds test-cluster on
 * every node and then test-workload on every node (so each workload waits for every cluster member).
 * Not committed.
 */
export async function bindClusterDeployment(
  anneal: Anneal,
  name: string,
  count: number,
  opts: { alive?: boolean } = {},
): Promise<ClusterDeployment> {
  const { inventory, binding } = anneal.services;
  const d = await inventory.createDeployment({ name }, 'test');
  const nodeIds: number[] = [];
  for (let i = 1; i <= count; i++) {
    const n = await inventory.createNode(
      { name: `${name}-n${String(i).padStart(3, '0')}.lab`, deployment: d.id, alive: opts.alive ?? true },
      'test',
    );
    nodeIds.push(n.id);
  }
  for (const id of nodeIds) await binding.bind(d.id, 'test-cluster', id);
  for (const id of nodeIds) await binding.bind(d.id, 'test-workload', id);
  const svc = await anneal.store.nodes.serviceNode(d.id);
  if (!svc) throw new Error(`deployment ${name} has no service node`);
  return { deploymentId: d.id, serviceNodeId: svc.id, nodeIds };
}

/** Every node-role reachable from `ids` along child edges, `ids` excluded (unless reached again). */
export async function descendantsOf(store: Store, ids: number[]): Promise<number[]> {
  const seen = new Set<number>(ids);
  const out = new Set<number>();
  let frontier = ids;
  while (frontier.length) {
    const edges = await store.nodeRoles.childrenOf(frontier);
    frontier = [];
    for (const e of edges) {
      out.add(e.childId);
      if (!seen.has(e.childId)) {
        seen.add(e.childId);
        frontier.push(e.childId);
      }
    }
  }
  return [...out];
}

/** Number of runs per node-role id, from the run records. */
export async function runCounts(store: Store): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const r of await store.runs.intervals()) counts.set(r.nodeRoleId, (counts.get(r.nodeRoleId) ?? 0) + 1);
  return counts;
}

export const sortedIds = (ids: Iterable<number>): number[] => [...new Set(ids)].sort((a, b) => a - b);

/** Node-roles whose run count grew between two snapshots. */
export function grew(before: Map<number, number>, after: Map<number, number>): number[] {
  return sortedIds([...after].filter(([id, n]) => n > (before.get(id) ?? 0)).map(([id]) => id));
}

/**
 * Blocked node-roles whose parents are all active: nothing will ever wake them (a lost wake-up).
 * Returned as `role@node` labels, for failure messages.
 */
export async function blockedBehindActiveParents(store: Store): Promise<string[]> {
  const blocked = await store.nodeRoles.list({ state: 'blocked' });
  if (blocked.length === 0) return [];
  const parents = await store.nodeRoles.parentsOf(blocked.map((b) => b.id));
  return blocked
    .filter((b) => parents.filter((p) => p.childId === b.id).every((p) => p.parent.state === 'active'))
    .map((b) => `${b.role}@${b.node} (id ${b.id})`);
}
