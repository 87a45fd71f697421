/**
 * Planning a blueprint against a site (DESIGN §7b): a pure function of (blueprint, site snapshot) → the
 * exact changes, like Terraform's plan and Cluster API's topology plan. No I/O; the blueprints service
 * builds the {@link Site} from the store and applies the {@link Plan} in one transaction.
 *
 * Placement: groups are filled in order from the nodes of the deployment and of its parent (never a
 * sibling's, never a service or retiring node) that match the group's selector; a node goes to one group.
 * Among matches, nodes that already carry the group's roles here come first, then other nodes of the
 * deployment, then the parent's; ties by name — so the same site gives the same placement, and a re-plan
 * after apply changes nothing. Nodes of the deployment no group takes leave it (back to the parent).
 *
 * Binding is simulated with the binding service's rules (core/services/binding.ts) so the plan lists the
 * node-roles a bind creates beyond the named roles (a required role bound on the node, a cluster's first
 * member, a service role on the deployment's service node); the impacted set follows the annealer's
 * rules: new node-roles run, re-runs run again with everything below them (hard edges).
 */
import type { Blueprint, BlueprintGroup, BlueprintIssue, Selector } from './blueprint';
import { serviceNodeName, type RoleFlag } from './vocabulary';

/** A role as planning needs it (the registry's view). */
export interface PlanRole {
  name: string;
  requires: readonly string[];
  precedes: readonly string[];
  flags: ReadonlySet<RoleFlag>;
  wants: readonly string[];
  rerunOnNewChild: boolean;
}

export interface SiteNode {
  id: number;
  name: string;
  tags: readonly string[];
  deploymentId: number;
  disks: number;
  memoryMiB: number;
  cpus: number;
}

export interface SiteNodeRole {
  id: number;
  role: string;
  nodeId: number;
  deploymentId: number;
  state: string;
  cohort: number;
}

/** The part of a site a plan reads. Attrib values are JSON-comparable; secret values are references. */
export interface Site {
  /** The blueprint's deployment, when it exists. */
  deployment: { id: number; name: string; state: string; parent: string | null; serviceNodeId: number } | null;
  /** The parent deployment named by the blueprint; null when it does not exist. */
  parent: { id: number; name: string } | null;
  /** The parent's own ancestors, nearest first (where non-implicit requirements may already be bound). */
  ancestorIds: readonly number[];
  /** Non-service, non-retiring nodes of the deployment and of its parent. */
  nodes: readonly SiteNode[];
  /** Node-roles on those nodes (any deployment), and the deployment's own (its service node's too). */
  nodeRoles: readonly SiteNodeRole[];
  /** Per ancestor deployment (the parent first): each role's first node-role there (what binding links to). */
  rolesInAncestors: ReadonlyMap<number, ReadonlyMap<string, { id: number; cohort: number }>>;
  /** Hard edges among the node-roles above. */
  edges: readonly { parentId: number; childId: number }[];
  /** Values set at deployment scope (proposed or committed, proposed first). */
  deploymentAttribs: Readonly<Record<string, unknown>>;
  /** Values set at node scope, per node id. */
  nodeAttribs: ReadonlyMap<number, Readonly<Record<string, unknown>>>;
  roles: ReadonlyMap<string, PlanRole>;
}

export interface Placement {
  group: string;
  node: string;
  roles: string[];
  /** The node joins the deployment (it was in the parent). */
  joins: boolean;
}

export interface PlannedBind {
  role: string;
  node: string;
  /** The role the group names that made this one necessary (absent for a named role). */
  requiredBy?: string;
  group?: string;
}

export interface PlannedUnbind {
  role: string;
  node: string;
  nodeRoleId: number;
  /** Why: the node leaves, the blueprint does not name the role there, or a parent goes. */
  reason: 'leaves' | 'not-in-blueprint' | 'parent-removed';
}

export interface PlannedAttrib {
  scope: 'deployment' | 'node';
  target: string;
  attrib: string;
  from: unknown;
  to: unknown;
}

export interface PlannedRun {
  role: string;
  node: string;
  why: 'new' | 'rerun' | 'commit';
  destructive: boolean;
}

export interface Plan {
  blueprint: string;
  deployment: string;
  parent: string;
  /** The deployment does not exist yet and is created under `parent`. */
  createDeployment: boolean;
  placements: Placement[];
  joins: string[];
  leaves: string[];
  bind: PlannedBind[];
  unbind: PlannedUnbind[];
  attribs: PlannedAttrib[];
  /** The deployment (re)committed by apply: it is new, proposed, or something changed. */
  commit: boolean;
  /** Node-roles that will run as a result, in no particular order beyond role then node. */
  runs: PlannedRun[];
  /** How many changes apply would make (0: nothing to do, exit code 0). */
  changes: number;
}

/**
 * The node-roles and edges binding would write, for a bulk apply: new node-roles have negative ids, the
 * deployment and its service node are -1 when the deployment is new. `bumps`: existing node-roles that
 * binding runs again (a service that serves new children, children of a cluster that gains a member).
 */
export interface GraphDelta {
  nodeRoles: { id: number; role: string; nodeId: number; cohort: number }[];
  edges: { parentId: number; childId: number; soft: boolean }[];
  bumps: number[];
}

export type PlanResult = { ok: true; plan: Plan; delta: GraphDelta } | { ok: false; issues: BlueprintIssue[] };

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with sorted object keys, for comparing values. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => byName(a, b)))
      : val,
  );
}

function globToRegExp(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

/** Every condition of the selector holds for the node. */
export function matcher(sel: Selector): (n: SiteNode) => boolean {
  const name = sel.name ? globToRegExp(sel.name) : null;
  const tags = sel.tags ?? [];
  return (n) =>
    tags.every((t) => n.tags.includes(t)) &&
    (!name || name.test(n.name)) &&
    n.disks >= (sel.minDisks ?? 0) &&
    n.memoryMiB >= (sel.minMemoryMiB ?? 0) &&
    n.cpus >= (sel.minCpus ?? 0);
}

/** "tag etcd and ≥ 2 disks" — the selector in words, for unsatisfiable placements. */
export function selectorText(sel: Selector): string {
  const parts: string[] = [];
  if (sel.tags?.length) parts.push(`${sel.tags.length > 1 ? 'tags' : 'tag'} ${sel.tags.join(', ')}`);
  if (sel.name) parts.push(`a name matching ${sel.name}`);
  if (sel.minDisks) parts.push(`≥ ${sel.minDisks} disks`);
  if (sel.minMemoryMiB) parts.push(`≥ ${sel.minMemoryMiB} MiB of memory`);
  if (sel.minCpus) parts.push(`≥ ${sel.minCpus} CPUs`);
  return parts.length ? `with ${parts.join(' and ')}` : '(any node)';
}

/** Every role `names` require, transitively (not including the names themselves unless required). */
export function requiredClosure(names: Iterable<string>, roles: ReadonlyMap<string, PlanRole>): Set<string> {
  const out = new Set<string>();
  const stack = [...names];
  while (stack.length) {
    const r = roles.get(stack.pop()!);
    for (const p of r?.requires ?? []) {
      if (out.has(p)) continue;
      out.add(p);
      stack.push(p);
    }
  }
  return out;
}

interface SimNodeRole {
  id: number;
  role: string;
  nodeId: number;
  deploymentId: number;
  cohort: number;
  isNew: boolean;
}

/** Plans `bp` against `site`. Issues (unsatisfiable placement, a conflicting deployment) instead of a plan. */
export function planBlueprint(bp: Blueprint, site: Site): PlanResult {
  const spec = bp.spec;
  const issues: BlueprintIssue[] = [];
  if (!site.parent) {
    return {
      ok: false,
      issues: [
        {
          field: 'spec.deployment.parent',
          message: `deployment "${spec.deployment.parent}" does not exist here: create it first or name an existing parent`,
        },
      ],
    };
  }
  const d = site.deployment;
  if (d && d.parent !== site.parent.name) {
    return {
      ok: false,
      issues: [
        {
          field: 'spec.deployment.parent',
          message: `deployment ${d.name} exists under ${d.parent ?? '(none)'}, not ${site.parent.name}: change spec.deployment.parent or delete the deployment`,
        },
      ],
    };
  }
  if (d && d.state === 'deleting') {
    return {
      ok: false,
      issues: [
        {
          field: 'spec.deployment.name',
          message: `deployment ${d.name} is being deleted: wait until it is gone, then apply again`,
        },
      ],
    };
  }
  const dId = d?.id ?? -1;
  const svcId = d?.serviceNodeId ?? -1;
  const nodesById = new Map(site.nodes.map((n) => [n.id, n]));
  const nodeName = (id: number) =>
    id === svcId ? serviceNodeName(spec.deployment.name) : (nodesById.get(id)?.name ?? `node ${id}`);

  // The deployment's node-roles per node (its roles "here").
  const hereByNode = new Map<number, Set<string>>();
  for (const nr of site.nodeRoles) {
    if (nr.deploymentId !== dId) continue;
    let s = hereByNode.get(nr.nodeId);
    if (!s) hereByNode.set(nr.nodeId, (s = new Set()));
    s.add(nr.role);
  }

  // ---- placement
  const taken = new Set<number>();
  const placements: Placement[] = [];
  const groupOf = new Map<number, BlueprintGroup>();
  const sortedNodes = [...site.nodes].sort((a, b) => byName(a.name, b.name));
  spec.groups.forEach((g, gi) => {
    const match = matcher(g.select);
    const closure = requiredClosure(g.roles, site.roles);
    const ranked: { n: SiteNode; rank: number; extra: number }[] = [];
    for (const n of sortedNodes) {
      if (taken.has(n.id) || !match(n)) continue;
      const here = hereByNode.get(n.id);
      const inDeployment = n.deploymentId === dId;
      const hasAll = !!here && g.roles.every((r) => here.has(r));
      let extra = 0;
      if (here) for (const r of here) if (!g.roles.includes(r) && !closure.has(r)) extra++;
      ranked.push({ n, rank: hasAll && inDeployment ? 0 : inDeployment ? 1 : 2, extra });
    }
    ranked.sort((a, b) => a.rank - b.rank || a.extra - b.extra || byName(a.n.name, b.n.name));
    const want = g.all ? ranked.length : (g.count ?? 0);
    if (ranked.length < want) {
      const matching = ranked.map((r) => r.n.name);
      const takenElsewhere = sortedNodes.filter((n) => taken.has(n.id) && match(n)).map((n) => n.name);
      issues.push({
        field: `spec.groups[${gi}].count`,
        message:
          `group ${g.name} needs ${want} node${want === 1 ? '' : 's'} ${selectorText(g.select)}; ${matching.length} match` +
          (matching.length ? `: ${listNames(matching)}` : '') +
          (takenElsewhere.length ? ` (taken by earlier groups: ${listNames(takenElsewhere)})` : '') +
          ` — tag more nodes (anneal nodes tag NODE TAG…) or lower the count`,
      });
      return;
    }
    for (const { n } of ranked.slice(0, want)) {
      taken.add(n.id);
      groupOf.set(n.id, g);
      placements.push({ group: g.name, node: n.name, roles: [...g.roles], joins: n.deploymentId !== dId });
    }
  });
  if (issues.length) return { ok: false, issues };

  const joins = placements.filter((p) => p.joins).map((p) => p.node);
  const leavingIds = sortedNodes.filter((n) => n.deploymentId === dId && !taken.has(n.id)).map((n) => n.id);
  const leaves = leavingIds.map((id) => nodeName(id));
  const leaving = new Set(leavingIds);

  // ---- the node-role graph as binding would leave it
  const sim = new Map<string, SimNodeRole>();
  const key = (role: string, nodeId: number) => `${role}\u0000${nodeId}`;
  const membersOf = new Map<string, SimNodeRole[]>(); // cluster members in the deployment, by role
  for (const nr of site.nodeRoles) {
    const s: SimNodeRole = { ...nr, isNew: false };
    sim.set(key(nr.role, nr.nodeId), s);
    if (nr.deploymentId === dId && nr.state !== 'removing' && nr.state !== 'remove-error') {
      push(membersOf, nr.role, s);
    }
  }
  const childrenOf = new Map<number, number[]>();
  const parentsOf = new Map<number, number[]>();
  for (const e of site.edges) {
    push(childrenOf, e.parentId, e.childId);
    push(parentsOf, e.childId, e.parentId);
  }
  const stateById = new Map(site.nodeRoles.map((nr) => [nr.id, nr.state]));
  const simById = new Map<number, SimNodeRole>([...sim.values()].map((s) => [s.id, s]));

  // ---- removals first (apply marks them before it binds)
  const unbind: PlannedUnbind[] = [];
  const removed = new Set<number>();
  const rerunIds = new Set<number>();
  const markRemoved = (roots: { s: SimNodeRole; reason: PlannedUnbind['reason'] }[]) => {
    const queue = [...roots];
    while (queue.length) {
      const { s, reason } = queue.shift()!;
      if (removed.has(s.id)) continue;
      removed.add(s.id);
      unbind.push({ role: s.role, node: nodeName(s.nodeId), nodeRoleId: s.id, reason });
      const role = site.roles.get(s.role);
      for (const c of childrenOf.get(s.id) ?? []) {
        const child = simById.get(c);
        if (!child || removed.has(c)) continue;
        if (role?.flags.has('cluster')) {
          const keeps = (parentsOf.get(c) ?? []).some(
            (p) => p !== s.id && !removed.has(p) && simById.get(p)?.role === s.role,
          );
          if (keeps) {
            rerunIds.add(c);
            continue;
          }
        }
        queue.push({ s: child, reason: 'parent-removed' });
      }
    }
  };
  const roots: { s: SimNodeRole; reason: PlannedUnbind['reason'] }[] = [];
  const wantedIn = new Map<string, Set<string>>();
  for (const nr of site.nodeRoles) {
    if (nr.deploymentId !== dId || nr.state === 'removing' || nr.state === 'remove-error') continue;
    if (nr.nodeId === svcId) continue; // service node-roles go with what requires them
    const s = sim.get(key(nr.role, nr.nodeId))!;
    if (leaving.has(nr.nodeId)) roots.push({ s, reason: 'leaves' });
    else {
      const g = groupOf.get(nr.nodeId);
      if (g && !wantedIn.has(g.name))
        wantedIn.set(g.name, new Set([...g.roles, ...requiredClosure(g.roles, site.roles)]));
      if (!g || !wantedIn.get(g.name)!.has(nr.role)) roots.push({ s, reason: 'not-in-blueprint' });
    }
  }
  markRemoved(roots);
  for (const id of removed) sim.delete(key(simById.get(id)!.role, simById.get(id)!.nodeId));
  for (const [role, members] of membersOf)
    membersOf.set(
      role,
      members.filter((m) => !removed.has(m.id)),
    );
  for (const id of removed) rerunIds.delete(id);

  // ---- binds (the rules of core/services/binding.ts, on the simulated graph)
  let nextId = -2;
  const bind: PlannedBind[] = [];
  const delta: GraphDelta = { nodeRoles: [], edges: [], bumps: [] };
  const bindBumps = new Set<number>();
  const onNode = new Map<number, SimNodeRole[]>();
  for (const s of sim.values()) push(onNode, s.nodeId, s);
  /** The first node-role of `role` in the deployment or, failing that, in the nearest ancestor with one. */
  const findAny = (role: string): { id: number; cohort: number } | null => {
    const here = membersOf.get(role)?.[0];
    if (here) return here;
    for (const a of [site.parent!.id, ...site.ancestorIds]) {
      const found = site.rolesInAncestors.get(a)?.get(role);
      if (found) return found;
    }
    return null;
  };
  const bindOne = (roleName: string, nodeId: number, ctx: { group: string; requiredBy?: string }): SimNodeRole => {
    const role = site.roles.get(roleName)!;
    const target = role.flags.has('service') ? svcId : nodeId;
    const existing = sim.get(key(roleName, target));
    if (existing) return existing;
    const parents: { id: number; cohort: number }[] = [];
    for (const req of role.requires) {
      const p = site.roles.get(req)!;
      const sub = { group: ctx.group, requiredBy: ctx.requiredBy ?? roleName };
      if (p.flags.has('service')) {
        const svcExisting = sim.get(key(req, svcId));
        const svc = bindOne(req, svcId, sub);
        if (svcExisting && !svcExisting.isNew && p.rerunOnNewChild) {
          rerunIds.add(svc.id);
          bindBumps.add(svc.id);
        }
        parents.push(svc);
      } else if (p.flags.has('cluster')) {
        const members = membersOf.get(req) ?? [];
        parents.push(...(members.length ? members : [bindOne(req, target, sub)]));
      } else {
        const here = sim.get(key(req, target));
        const elsewhere = here || p.flags.has('implicit') ? null : findAny(req);
        parents.push(here ?? elsewhere ?? bindOne(req, target, sub));
      }
    }
    const cohort = parents.length ? Math.max(...parents.map((p) => p.cohort)) + 1 : 0;
    const s: SimNodeRole = { id: nextId--, role: roleName, nodeId: target, deploymentId: dId, cohort, isNew: true };
    sim.set(key(roleName, target), s);
    simById.set(s.id, s);
    delta.nodeRoles.push({ id: s.id, role: roleName, nodeId: target, cohort });
    for (const p of parents) {
      push(childrenOf, p.id, s.id);
      delta.edges.push({ parentId: p.id, childId: s.id, soft: false });
    }
    for (const other of onNode.get(target) ?? []) {
      if (site.roles.get(other.role)?.precedes.includes(roleName))
        delta.edges.push({ parentId: other.id, childId: s.id, soft: true });
      if (role.precedes.includes(other.role)) delta.edges.push({ parentId: s.id, childId: other.id, soft: true });
    }
    push(onNode, target, s);
    if (role.flags.has('cluster')) {
      const children = new Set<number>();
      for (const peer of membersOf.get(roleName) ?? [])
        for (const c of childrenOf.get(peer.id) ?? []) if (!removed.has(c)) children.add(c);
      for (const c of children) {
        delta.edges.push({ parentId: s.id, childId: c, soft: false });
        push(childrenOf, s.id, c);
        if (!simById.get(c)?.isNew) {
          rerunIds.add(c);
          bindBumps.add(c);
        }
      }
    }
    push(membersOf, roleName, s);
    bind.push({
      role: roleName,
      node: target === svcId ? serviceNodeName(spec.deployment.name) : nodeName(target),
      group: ctx.group,
      ...(ctx.requiredBy ? { requiredBy: ctx.requiredBy } : {}),
    });
    return s;
  };
  const nodeIdByName = new Map(site.nodes.map((n) => [n.name, n.id]));
  for (const p of placements) {
    for (const r of p.roles) bindOne(r, nodeIdByName.get(p.node)!, { group: p.group });
  }

  // ---- attribs
  const attribs: PlannedAttrib[] = [];
  const target = spec.deployment.name;
  for (const [name, to] of Object.entries(spec.attribs).sort(([a], [b]) => byName(a, b))) {
    const from = site.deploymentAttribs[name];
    if (from === undefined || canonicalJson(from) !== canonicalJson(to))
      attribs.push({ scope: 'deployment', target, attrib: name, from: from ?? null, to });
  }
  for (const p of placements) {
    const g = spec.groups.find((x) => x.name === p.group)!;
    const current = site.nodeAttribs.get(nodeIdByName.get(p.node)!) ?? {};
    for (const [name, to] of Object.entries(g.attribs).sort(([a], [b]) => byName(a, b))) {
      const from = current[name];
      if (from === undefined || canonicalJson(from) !== canonicalJson(to))
        attribs.push({ scope: 'node', target: p.node, attrib: name, from: from ?? null, to });
    }
  }
  // Changed values re-run what wants them in their scope (node-roles that already ran).
  const ran = new Set(['active', 'error', 'transition']);
  for (const a of attribs) {
    for (const s of sim.values()) {
      if (s.isNew || !ran.has(stateById.get(s.id) ?? '')) continue;
      if (s.deploymentId !== dId && a.scope === 'deployment') continue;
      if (a.scope === 'node' && nodeName(s.nodeId) !== a.target) continue;
      if (site.roles.get(s.role)?.wants.includes(a.attrib)) rerunIds.add(s.id);
    }
  }

  // ---- impacted: new node-roles, re-runs and everything below them
  const runIds = new Set<number>();
  const why = new Map<number, PlannedRun['why']>();
  const willRun = (id: number, reason: PlannedRun['why']) => {
    runIds.add(id);
    if (!why.has(id)) why.set(id, reason);
  };
  for (const s of simById.values()) if (s.isNew && !removed.has(s.id)) willRun(s.id, 'new');
  for (const id of rerunIds) if (!removed.has(id)) willRun(id, 'rerun');
  const stack = [...runIds];
  while (stack.length) {
    for (const c of childrenOf.get(stack.pop()!) ?? []) {
      if (runIds.has(c) || removed.has(c)) continue;
      runIds.add(c);
      why.set(c, why.get(c) ?? 'rerun');
      stack.push(c);
    }
  }
  const changed =
    !d || joins.length + leaves.length + bind.length + unbind.length + attribs.length > 0 || d.state === 'proposed';
  if (changed && d) {
    for (const nr of site.nodeRoles) {
      if (nr.deploymentId === dId && nr.state === 'proposed' && !removed.has(nr.id) && !runIds.has(nr.id)) {
        runIds.add(nr.id);
        why.set(nr.id, 'commit');
      }
    }
  }
  const runs: PlannedRun[] = [...runIds]
    .map((id) => simById.get(id)!)
    .filter(Boolean)
    .map((s) => ({
      role: s.role,
      node: s.nodeId === svcId ? serviceNodeName(spec.deployment.name) : nodeName(s.nodeId),
      why: why.get(s.id)!,
      destructive: site.roles.get(s.role)?.flags.has('destructive') ?? false,
    }))
    .sort((a, b) => byName(a.role, b.role) || byName(a.node, b.node));

  const commit = changed;
  const changes =
    (d ? 0 : 1) +
    joins.length +
    leaves.length +
    bind.length +
    unbind.length +
    attribs.length +
    (d && d.state === 'proposed' ? 1 : 0);
  delta.bumps = [...bindBumps];
  return {
    ok: true,
    delta,
    plan: {
      blueprint: bp.metadata.name,
      deployment: spec.deployment.name,
      parent: site.parent.name,
      createDeployment: !d,
      placements,
      joins,
      leaves,
      bind,
      unbind,
      attribs,
      commit,
      runs,
      changes,
    },
  };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function listNames(names: string[]): string {
  return names.length > 10 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ');
}
