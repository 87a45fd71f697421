/**
 * Directed-graph helpers for the role graph (DESIGN §2, §4). Pure: no I/O.
 *
 * A graph is given as a list of node names plus an `edges` function returning the nodes a node
 * depends on ("requires"). Edges that point at names not in `nodes` are ignored here; the plugin
 * registry reports them separately. Every function is deterministic: ties are broken by name.
 */

/**
 * Returns the nodes `n` depends on. Must be pure: it may be called more than once per node.
 * Names outside the graph are ignored.
 */
export type EdgeFn = (n: string) => readonly string[];

/** Thrown by {@link topoSort} and {@link depths} when the graph is not a DAG. */
export class GraphCycleError extends Error {
  /** The cycle, closed: `['a', 'b', 'a']` means a depends on b and b on a. */
  readonly cycle: string[];

  constructor(cycle: string[]) {
    super(`cycle: ${cycle.join(' -> ')}`);
    this.name = 'GraphCycleError';
    this.cycle = cycle;
  }
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Unique, sorted node list and a dependency map restricted to those nodes. */
function normalise(nodes: readonly string[], edges: EdgeFn): { names: string[]; deps: Map<string, string[]> } {
  const names = [...new Set(nodes)].sort(byName);
  const known = new Set(names);
  const deps = new Map<string, string[]>();
  for (const n of names) deps.set(n, [...new Set(edges(n))].filter((d) => known.has(d)).sort(byName));
  return { names, deps };
}

/**
 * Finds one cycle, or returns null if the graph is acyclic. The cycle is closed (first element
 * repeated last) and follows edge direction: `['a', 'b', 'c', 'a']` means a → b → c → a. The same
 * graph always yields the same cycle: the search starts from the smallest name and visits edges in
 * name order. A self-edge yields `['a', 'a']`.
 */
export function findCycle(nodes: readonly string[], edges: EdgeFn): string[] | null {
  const { names, deps } = normalise(nodes, edges);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (n: string): string[] | null => {
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      const s = state.get(d);
      if (s === 'visiting') return [...stack.slice(stack.indexOf(d)), d];
      if (s === undefined) {
        const found = visit(d);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };

  for (const n of names) {
    if (state.has(n)) continue;
    const found = visit(n);
    if (found) return found;
  }
  return null;
}

/**
 * Orders the nodes so that every node comes after everything it depends on (requirements first).
 * Among nodes that are ready at the same time the smallest name comes first, so the order is
 * stable. Duplicate names appear once. Throws {@link GraphCycleError} if the graph has a cycle.
 */
export function topoSort(nodes: readonly string[], edges: EdgeFn): string[] {
  const { names, deps } = normalise(nodes, edges);
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of names) {
    const ds = deps.get(n) ?? [];
    remaining.set(n, ds.length);
    for (const d of ds) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  }

  const ready = names.filter((n) => remaining.get(n) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort(byName);
    const n = ready.shift() as string;
    order.push(n);
    for (const m of dependents.get(n) ?? []) {
      const left = (remaining.get(m) ?? 0) - 1;
      remaining.set(m, left);
      if (left === 0) ready.push(m);
    }
  }

  if (order.length !== names.length) throw new GraphCycleError(findCycle(names, edges) ?? []);
  return order;
}

/**
 * Depth ("cohort") of every node: 0 for a node with no dependencies in the graph, otherwise
 * 1 + the largest depth among its dependencies. Throws {@link GraphCycleError} on a cycle.
 */
export function depths(nodes: readonly string[], edges: EdgeFn): Map<string, number> {
  const { deps } = normalise(nodes, edges);
  const result = new Map<string, number>();
  for (const n of topoSort(nodes, edges)) {
    const ds = deps.get(n) ?? [];
    result.set(n, ds.length === 0 ? 0 : 1 + Math.max(...ds.map((d) => result.get(d) ?? 0)));
  }
  return result;
}
