/**
 * What planning a blueprint reads from the store, in a few lean queries (no per-node round trips): the
 * deployment and its parent chain, the candidate nodes (the deployment's and its parent's, not service or
 * retiring nodes), their node-roles in any deployment and the deployment's own, the hard edges touching
 * the deployment, which roles each ancestor has, and the attrib values at deployment and node scope.
 * Read inside the caller's transaction when planning for apply, so the plan and its writes see one state.
 */
import { inChunks, type Client } from './db';
import { parseJson } from './codec';

export interface SiteRows {
  deployment: { id: number; name: string; state: string; parent: string | null; serviceNodeId: number } | null;
  parent: { id: number; name: string } | null;
  ancestorIds: number[];
  nodes: { id: number; name: string; tags: string[]; deploymentId: number; facts: Record<string, unknown> }[];
  nodeRoles: { id: number; roleId: number; nodeId: number; deploymentId: number; state: string; cohort: number }[];
  /** ancestor id → roleId → its first node-role there (lowest id, as binding picks). */
  rolesInAncestors: Map<number, Map<number, { id: number; cohort: number }>>;
  edges: { parentId: number; childId: number }[];
  /** attribId → JSON text (proposed, else committed). */
  deploymentAttribs: Map<number, string>;
  /** nodeId → attribId → JSON text. */
  nodeAttribs: Map<number, Map<number, string>>;
}

export function blueprintSiteRepo(prisma: Client) {
  async function deploymentByName(name: string) {
    return prisma.deployment.findUnique({
      where: { name },
      select: { id: true, name: true, state: true, parentId: true, parent: { select: { name: true } } },
    });
  }

  async function read(deploymentName: string, parentName: string): Promise<SiteRows> {
    const d = await deploymentByName(deploymentName);
    const parentRow = await deploymentByName(parentName);
    const ancestorIds: number[] = [];
    for (let p = parentRow?.parentId ?? null; p !== null;) {
      ancestorIds.push(p);
      const row = await prisma.deployment.findUnique({ where: { id: p }, select: { parentId: true } });
      p = row?.parentId ?? null;
    }
    const svc = d
      ? await prisma.node.findFirst({ where: { deploymentId: d.id, system: true }, select: { id: true } })
      : null;
    const homeIds = [...(d ? [d.id] : []), ...(parentRow ? [parentRow.id] : [])];
    const nodes = (
      await prisma.node.findMany({
        where: { deploymentId: { in: homeIds }, system: false, state: { not: 'retiring' } },
        select: { id: true, name: true, tags: true, deploymentId: true, facts: true },
      })
    ).map((n) => ({
      ...n,
      tags: parseJson<string[]>(n.tags, []),
      facts: parseJson<Record<string, unknown>>(n.facts, {}),
    }));
    const nodeRoles = await prisma.nodeRole.findMany({
      where: {
        OR: [
          ...(d ? [{ deploymentId: d.id }] : []),
          { node: { deploymentId: { in: homeIds }, system: false, state: { not: 'retiring' } } },
        ],
      },
      select: { id: true, roleId: true, nodeId: true, deploymentId: true, state: true, cohort: true },
    });
    const rolesInAncestors = new Map<number, Map<number, { id: number; cohort: number }>>();
    const chain = [...(parentRow ? [parentRow.id] : []), ...ancestorIds];
    if (chain.length) {
      const first = await prisma.nodeRole.groupBy({
        by: ['deploymentId', 'roleId'],
        where: { deploymentId: { in: chain } },
        _min: { id: true },
      });
      const cohorts = new Map<number, number>();
      await inChunks(
        first.map((r) => r._min.id!),
        async (ids) => {
          const rows = await prisma.nodeRole.findMany({
            where: { id: { in: ids } },
            select: { id: true, cohort: true },
          });
          for (const r of rows) cohorts.set(r.id, r.cohort);
        },
      );
      for (const r of first) {
        const m = rolesInAncestors.get(r.deploymentId) ?? new Map<number, { id: number; cohort: number }>();
        m.set(r.roleId, { id: r._min.id!, cohort: cohorts.get(r._min.id!) ?? 0 });
        rolesInAncestors.set(r.deploymentId, m);
      }
    }
    const edges = d
      ? await prisma.nodeRoleEdge.findMany({
          where: { soft: false, OR: [{ parent: { deploymentId: d.id } }, { child: { deploymentId: d.id } }] },
          select: { parentId: true, childId: true },
        })
      : [];
    const deploymentAttribs = new Map<number, string>();
    if (d) {
      const rows = await prisma.attribValue.findMany({
        where: { scope: 'deployment', targetId: d.id },
        select: { attribId: true, proposed: true, committed: true },
      });
      for (const r of rows) {
        const v = r.proposed ?? r.committed;
        if (v !== null) deploymentAttribs.set(r.attribId, v);
      }
    }
    const nodeAttribs = new Map<number, Map<number, string>>();
    await inChunks(
      nodes.map((n) => n.id),
      async (ids) => {
        const rows = await prisma.attribValue.findMany({
          where: { scope: 'node', targetId: { in: ids } },
          select: { attribId: true, targetId: true, proposed: true, committed: true },
        });
        for (const r of rows) {
          const v = r.proposed ?? r.committed;
          if (v === null) continue;
          const m = nodeAttribs.get(r.targetId) ?? new Map<number, string>();
          m.set(r.attribId, v);
          nodeAttribs.set(r.targetId, m);
        }
      },
    );
    return {
      deployment: d
        ? { id: d.id, name: d.name, state: d.state, parent: d.parent?.name ?? null, serviceNodeId: svc?.id ?? -1 }
        : null,
      parent: parentRow ? { id: parentRow.id, name: parentRow.name } : null,
      ancestorIds,
      nodes,
      nodeRoles,
      rolesInAncestors,
      edges,
      deploymentAttribs,
      nodeAttribs,
    };
  }

  return { read };
}
