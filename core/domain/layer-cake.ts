/**
 * The layer cake (DESIGN §2, §8): a deployment's node-roles as a node × layer matrix, the shape the web UI
 * draws and `anneal converge` shows one progress bar per layer of. Pure: no I/O.
 *
 * Layers are the milestone roles in graph order (bottom first). A role belongs to the lowest milestone
 * that requires it, directly or through other roles; a milestone belongs to itself. Service roles (flag
 * `service`: ntp-service, dns-service… on the deployment's service node) are in `services`; roles no
 * milestone requires are in `other` (workloads and anything bound on its own).
 */
import { topoSort } from './graph';
import type { ErrorRecord, NodeRoleRecord } from './records';
import { nodeRoleStates, type NodeRoleState } from './vocabulary';

export const SERVICES_LAYER = 'services';
export const OTHER_LAYER = 'other';

/** The role graph as the layer cake needs it. */
export interface CakeRole {
  name: string;
  requires: readonly string[];
  milestone: boolean;
  service: boolean;
}

export type StateCounts = Record<NodeRoleState, number>;

export interface CakeCell {
  /**
   * Aggregate: error > remove-error > transition > removing > todo > blocked > proposed > active (active only
   * when all are): a failure first, then work under way, then work waiting.
   */
  state: NodeRoleState;
  total: number;
  /** Only the states present. */
  counts: Partial<StateCounts>;
}

export interface CakeNode {
  id: number;
  name: string;
  alive: boolean;
  available: boolean;
  /** A layer with no node-roles on this node is absent. */
  layers: Record<string, CakeCell>;
  nodeRoles: { id: number; role: string; layer: string; state: NodeRoleState; attempts: number }[];
}

export interface CakeFailure {
  nodeRoleId: number;
  node: string;
  role: string;
  layer: string;
  attempts: number;
  error: ErrorRecord | null;
}

export interface LayerCake {
  /** Bottom → top; only layers that have node-roles. */
  layers: string[];
  nodes: CakeNode[];
  total: number;
  counts: StateCounts;
  layerTotals: Record<string, { total: number; counts: Partial<StateCounts> }>;
  /** Every node-role active (and at least one exists). */
  converged: boolean;
  failing: CakeFailure[];
}

const precedence: readonly NodeRoleState[] = [
  'error',
  'remove-error',
  'transition',
  'removing',
  'todo',
  'blocked',
  'proposed',
  'active',
];

/** The aggregate state of a set of node-roles (see {@link CakeCell.state}); `active` for none. */
export function aggregateState(counts: Partial<StateCounts>): NodeRoleState {
  return precedence.find((s) => (counts[s] ?? 0) > 0) ?? 'active';
}

/** Role name → layer name, and the layer order, for a role graph. */
export function layerOf(roles: readonly CakeRole[]): { order: string[]; layer: Map<string, string> } {
  const byName = new Map(roles.map((r) => [r.name, r]));
  const requires = (n: string) => byName.get(n)?.requires ?? [];
  const order = topoSort(
    roles.map((r) => r.name),
    requires,
  );
  const milestones = order.filter((n) => byName.get(n)!.milestone);
  const layer = new Map<string, string>();
  // Lowest milestone first: each claims every role below it that no lower milestone claimed.
  for (const m of milestones) {
    const stack = [m];
    while (stack.length) {
      const n = stack.pop()!;
      if (layer.has(n) && n !== m) continue;
      const r = byName.get(n);
      if (n !== m && (r?.milestone || r?.service)) continue;
      layer.set(n, m);
      stack.push(...requires(n).filter((d) => byName.has(d)));
    }
  }
  for (const r of roles) {
    if (r.service) layer.set(r.name, SERVICES_LAYER);
    else if (!layer.has(r.name)) layer.set(r.name, OTHER_LAYER);
  }
  return { order: [...milestones, SERVICES_LAYER, OTHER_LAYER], layer };
}

function zeroCounts(): StateCounts {
  return Object.fromEntries(nodeRoleStates.map((s) => [s, 0])) as StateCounts;
}

/** Builds the cake of one deployment from its nodes and node-roles (in any order). */
export function layerCake(
  roles: readonly CakeRole[],
  nodes: readonly { id: number; name: string; alive: boolean; available: boolean }[],
  nodeRoles: readonly NodeRoleRecord[],
): LayerCake {
  const { order, layer } = layerOf(roles);
  const layerName = (role: string) => layer.get(role) ?? OTHER_LAYER;
  const counts = zeroCounts();
  const layerTotals: LayerCake['layerTotals'] = {};
  const rows = new Map<number, CakeNode>(
    nodes.map((n) => [
      n.id,
      { id: n.id, name: n.name, alive: n.alive, available: n.available, layers: {}, nodeRoles: [] },
    ]),
  );
  const failing: CakeFailure[] = [];
  for (const nr of [...nodeRoles].sort((a, b) => a.cohort - b.cohort || a.id - b.id)) {
    const l = layerName(nr.role);
    counts[nr.state] += 1;
    const lt = (layerTotals[l] ??= { total: 0, counts: {} });
    lt.total += 1;
    lt.counts[nr.state] = (lt.counts[nr.state] ?? 0) + 1;
    const row = rows.get(nr.nodeId);
    if (row) {
      row.nodeRoles.push({ id: nr.id, role: nr.role, layer: l, state: nr.state, attempts: nr.attempts });
      const cell = (row.layers[l] ??= { state: 'active', total: 0, counts: {} });
      cell.total += 1;
      cell.counts[nr.state] = (cell.counts[nr.state] ?? 0) + 1;
      cell.state = aggregateState(cell.counts);
    }
    if (nr.state === 'error' || nr.state === 'remove-error') {
      failing.push({
        nodeRoleId: nr.id,
        node: nr.node,
        role: nr.role,
        layer: l,
        attempts: nr.attempts,
        error: nr.lastError,
      });
    }
  }
  const total = nodeRoles.length;
  return {
    layers: order.filter((l) => layerTotals[l]),
    nodes: [...rows.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    total,
    counts,
    layerTotals,
    converged: total > 0 && counts.active === total,
    failing,
  };
}
