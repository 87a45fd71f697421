/**
 * What planning a blueprint reads from the store, in a few lean queries (no per-node round trips): the
 * deployment and its parent chain, the candidate nodes (the deployment's and its parent's, not service or
 * retiring nodes), their node-roles in any deployment and the deployment's own, the hard edges touching
 * the deployment, which roles each ancestor has, and the attrib values at deployment and node scope.
 * Read inside the caller's transaction when planning for apply, so the plan and its writes see one state.
 */
import { inChunks, sqlInt as int, type Client } from './db';
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
    // NOTE(perf): raw SELECTs — at 10,000 nodes Prisma's row mapping costs more than the queries. Every
    // inlined value is an id (an integer, checked).
    const home = homeIds.map(int).join(',') || '0';
    const nodes = (
      await prisma.$queryRawUnsafe<{ id: unknown; name: string; tags: string; deploymentId: unknown; facts: string }[]>(
        `SELECT "id","name","tags","deploymentId","facts" FROM "Node" WHERE "deploymentId" IN (${home}) AND "system" = false AND "state" <> 'retiring'`,
      )
    ).map((n) => ({
      id: Number(n.id),
      name: n.name,
      deploymentId: Number(n.deploymentId),
      tags: parseJson<string[]>(n.tags, []),
      facts: parseJson<Record<string, unknown>>(n.facts, {}),
    }));
    const nodeRoles = (
      await prisma.$queryRawUnsafe<
        { id: unknown; roleId: unknown; nodeId: unknown; deploymentId: unknown; state: string; cohort: unknown }[]
      >(
        `SELECT nr."id", nr."roleId", nr."nodeId", nr."deploymentId", nr."state", nr."cohort" FROM "NodeRole" nr ` +
          `JOIN "Node" n ON n."id" = nr."nodeId" WHERE ` +
          (d ? `nr."deploymentId" = ${int(d.id)} OR ` : '') +
          `(n."deploymentId" IN (${home}) AND n."system" = false AND n."state" <> 'retiring')`,
      )
    ).map((r) => ({
      id: Number(r.id),
      roleId: Number(r.roleId),
      nodeId: Number(r.nodeId),
      deploymentId: Number(r.deploymentId),
      state: r.state,
      cohort: Number(r.cohort),
    }));
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
      ? (
          await prisma.$queryRawUnsafe<{ parentId: unknown; childId: unknown }[]>(
            `SELECT e."parentId", e."childId" FROM "NodeRoleEdge" e JOIN "NodeRole" p ON p."id" = e."parentId" ` +
              `JOIN "NodeRole" c ON c."id" = e."childId" WHERE e."soft" = false AND ` +
              `(p."deploymentId" = ${int(d.id)} OR c."deploymentId" = ${int(d.id)})`,
          )
        ).map((e) => ({ parentId: Number(e.parentId), childId: Number(e.childId) }))
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
