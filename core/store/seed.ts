/**
 * Bulk creation for benchmarks and large tests: nodes and per-node chains of node-roles, written with
 * a handful of multi-row inserts instead of one binding per node-role. The result is what binding the
 * last role of `roleIds` on every node would produce when each role requires the previous one on the
 * same node, already committed (first layer todo, the rest blocked).
 */
import { atomic, type Client } from './db';
import { big } from './codec';

export function seedRepo(prisma: Client) {
  /** Creates committed, alive nodes in an otherwise empty deployment; returns the ids of all its nodes. */
  async function nodes(deploymentId: number, names: string[], now: number, tags: string[] = []): Promise<number[]> {
    const chunk = 2000;
    for (let i = 0; i < names.length; i += chunk) {
      await prisma.node.createMany({
        data: names.slice(i, i + chunk).map((name) => ({
          name,
          deploymentId,
          alive: true,
          state: 'committed',
          tags: JSON.stringify(tags),
          createdAt: big(now),
          updatedAt: big(now),
        })),
      });
    }
    const rows = await prisma.node.findMany({
      where: { deploymentId, system: false },
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    return rows.map((r) => r.id);
  }

  async function chains(deploymentId: number, roleIds: number[], nodeIds: number[], now: number): Promise<number> {
    const chunk = 1000;
    let created = 0;
    for (let i = 0; i < nodeIds.length; i += chunk) {
      const batch = nodeIds.slice(i, i + chunk);
      await atomic(prisma, async (tx) => {
        const rows = await tx.nodeRole.createManyAndReturn({
          data: batch.flatMap((nodeId) =>
            roleIds.map((roleId, layer) => ({
              deploymentId,
              roleId,
              nodeId,
              cohort: layer,
              state: layer === 0 ? 'todo' : 'blocked',
              updatedAt: big(now),
            })),
          ),
          select: { id: true, nodeId: true, cohort: true },
        });
        const byKey = new Map(rows.map((r) => [`${r.nodeId}:${r.cohort}`, r.id]));
        await tx.nodeRoleEdge.createMany({
          data: batch.flatMap((nodeId) =>
            roleIds.slice(1).map((_, i) => ({
              parentId: byKey.get(`${nodeId}:${i}`)!,
              childId: byKey.get(`${nodeId}:${i + 1}`)!,
              soft: false,
            })),
          ),
        });
        created += rows.length;
      });
    }
    for (const roleId of roleIds) {
      await prisma.deploymentRole.upsert({
        where: { deploymentId_roleId: { deploymentId, roleId } },
        create: { deploymentId, roleId },
        update: {},
      });
    }
    return created;
  }

  return { nodes, chains };
}
