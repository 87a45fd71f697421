/** Reads the facts the watchdog explains, for every waiting (todo or blocked) node-role of a scope. */
import type { WaitingFacts } from '../domain/watchdog';
import type { Client } from './db';
import { num, numOrNull } from './codec';

export function watchdogRepo(prisma: Client) {
  async function waiting(
    filter: { deploymentId?: number; nodeId?: number },
    limit: number,
  ): Promise<(WaitingFacts & { id: number })[]> {
    const rows = await prisma.nodeRole.findMany({
      where: { ...filter, state: { in: ['todo', 'blocked'] } },
      orderBy: [{ cohort: 'asc' }, { id: 'asc' }],
      take: limit,
      include: {
        role: { select: { name: true } },
        deployment: { select: { name: true, state: true } },
        node: {
          select: {
            name: true,
            alive: true,
            available: true,
            state: true,
            leaseOwner: true,
            leaseUntil: true,
            nodeRoles: { where: { state: 'transition' }, select: { role: { select: { name: true } } }, take: 1 },
          },
        },
        parentEdges: {
          include: {
            parent: { select: { state: true, role: { select: { name: true } }, node: { select: { name: true } } } },
          },
        },
      },
    });
    return rows.map((r) => ({
      id: r.id,
      node: r.node.name,
      role: r.role.name,
      state: r.state as 'todo' | 'blocked',
      nextRunAt: num(r.nextRunAt),
      attempts: r.attempts,
      deployment: r.deployment,
      nodeFacts: {
        alive: r.node.alive,
        available: r.node.available,
        state: r.node.state,
        leaseOwner: r.node.leaseOwner,
        leaseUntil: numOrNull(r.node.leaseUntil),
      },
      parents: r.parentEdges.map((e) => ({
        role: e.parent.role.name,
        node: e.parent.node.name,
        state: e.parent.state,
      })),
      busyWith: r.node.nodeRoles[0]?.role.name ?? null,
    }));
  }

  return { waiting };
}
