/**
 * A deployment → a blueprint (DESIGN §7b), pure. Nodes are grouped by the roles named on them — a node's
 * roles minus those another of its roles requires (binding those brings the rest back) — and each group is
 * placed by count and by the tags all its nodes share, so planning the export on the same site changes
 * nothing and on another site picks nodes tagged the same way. Node-scope values all of a group's nodes
 * share become the group's attribs when the group's roles want them; values that differ per node
 * (addresses, names) and what actions recorded about a node (inventory) are site facts and stay out, as do
 * node names, MACs and secret values (secrets are already references in the input).
 */
import { BLUEPRINT_API_VERSION, type Blueprint, type BlueprintGroup } from './blueprint';
import { canonicalJson, requiredClosure, type PlanRole } from './blueprint-plan';

export interface ExportInput {
  deployment: { name: string; parent: string; description: string };
  /** The deployment's non-service nodes. */
  nodes: readonly { id: number; name: string; tags: readonly string[] }[];
  /** The deployment's node-roles on those nodes. */
  nodeRoles: readonly { role: string; nodeId: number }[];
  deploymentAttribs: Readonly<Record<string, unknown>>;
  nodeAttribs: ReadonlyMap<number, Readonly<Record<string, unknown>>>;
  roles: ReadonlyMap<string, PlanRole>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The roles on a node that binding its other roles would not bring back there: binding a role binds what
 * it requires on the same node only for `implicit` requirements (a cluster role joins existing members, a
 * non-implicit one may be satisfied elsewhere), so only those are left out.
 */
export function namedRoles(here: ReadonlySet<string>, roles: ReadonlyMap<string, PlanRole>): string[] {
  const implied = new Set<string>();
  const stack = [...here];
  while (stack.length) {
    for (const p of roles.get(stack.pop()!)?.requires ?? []) {
      if (implied.has(p) || !roles.get(p)?.flags.has('implicit')) continue;
      implied.add(p);
      stack.push(p);
    }
  }
  return [...here].filter((r) => !implied.has(r)).sort(byName);
}

export function exportBlueprint(input: ExportInput): Blueprint {
  const here = new Map<number, Set<string>>();
  for (const nr of input.nodeRoles) {
    let s = here.get(nr.nodeId);
    if (!s) here.set(nr.nodeId, (s = new Set()));
    s.add(nr.role);
  }
  const byRoles = new Map<string, { roles: string[]; nodes: ExportInput['nodes'][number][] }>();
  for (const n of [...input.nodes].sort((a, b) => byName(a.name, b.name))) {
    const roles = namedRoles(here.get(n.id) ?? new Set(), input.roles);
    const k = roles.join(',');
    const g = byRoles.get(k) ?? { roles, nodes: [] };
    g.nodes.push(n);
    byRoles.set(k, g);
  }
  // Groups with more roles first; placement prefers nodes that already carry a group's roles.
  const ordered = [...byRoles.values()].sort(
    (a, b) => b.roles.length - a.roles.length || byName(a.roles.join(','), b.roles.join(',')),
  );
  const used = new Set<string>();
  const groups: BlueprintGroup[] = ordered.map((g) => {
    const base = g.roles[0] ?? 'nodes';
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base.slice(0, 58)}-${i}`;
    used.add(name);
    const tags = g.nodes.map((n) => new Set(n.tags)).reduce((acc, s) => new Set([...acc].filter((t) => s.has(t))));
    const wanted = new Set(
      [...g.roles, ...requiredClosure(g.roles, input.roles)].flatMap((r) => input.roles.get(r)?.wants ?? []),
    );
    const attribs = sharedValues(
      g.nodes.map((n) => input.nodeAttribs.get(n.id) ?? {}),
      wanted,
    );
    return {
      name,
      count: g.nodes.length,
      select: tags.size ? { tags: [...tags].sort(byName) } : {},
      roles: g.roles,
      attribs,
    };
  });
  return {
    apiVersion: BLUEPRINT_API_VERSION,
    kind: 'Blueprint',
    metadata: {
      name: input.deployment.name.replace(/[^a-z0-9-]/g, '-').slice(0, 63),
      ...(input.deployment.description ? { description: input.deployment.description } : {}),
    },
    spec: {
      deployment: { name: input.deployment.name, parent: input.deployment.parent },
      attribs: sortKeys(input.deploymentAttribs),
      groups,
    },
  };
}

/** The values every record has, equal (canonical JSON) everywhere. */
function sharedValues(
  records: Readonly<Record<string, unknown>>[],
  wanted: ReadonlySet<string>,
): Record<string, unknown> {
  if (!records.length) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(records[0]!)) {
    if (!wanted.has(k)) continue;
    const c = canonicalJson(v);
    if (records.every((r) => r[k] !== undefined && canonicalJson(r[k]) === c)) out[k] = v;
  }
  return sortKeys(out);
}

function sortKeys(r: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => byName(a, b)));
}
