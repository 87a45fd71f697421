/**
 * The queue's upkeep: lease heartbeats, crash recovery, the stranded-child sweep, blocking
 * descendants of failures, and the counts `settle()` waits on. Every write is a compare-and-set on
 * state and lease, like the claims in queue.ts.
 */
import { atomic, type Client } from './db';
import { big, num } from './codec';

export function leasesRepo(prisma: Client, findRunnable: (now: number, limit: number) => Promise<unknown[]>) {
  /**
   * Safety net, run with crash recovery: any blocked node-role of a committed deployment whose parents
   * are all active becomes todo. Level-based: whatever raced, the state converges.
   */
  async function wakeStranded(now: number): Promise<number[]> {
    const stranded = await prisma.nodeRole.updateManyAndReturn({
      where: {
        state: 'blocked',
        deployment: { state: 'committed' },
        parentEdges: { none: { parent: { state: { not: 'active' } } } },
      },
      data: { state: 'todo', nextRunAt: big(now), updatedAt: big(now) },
      select: { id: true },
    });
    return stranded.map((s) => s.id);
  }

  /** Every todo descendant of `ids` becomes blocked (an error upstream must be fixed first). */
  async function blockDescendants(ids: number[], now: number): Promise<number[]> {
    const blocked: number[] = [];
    let frontier = ids;
    const seen = new Set(ids);
    while (frontier.length) {
      const edges = await prisma.nodeRoleEdge.findMany({
        where: { parentId: { in: frontier } },
        select: { childId: true },
      });
      frontier = [...new Set(edges.map((e) => e.childId))].filter((id) => !seen.has(id));
      frontier.forEach((id) => seen.add(id));
      if (!frontier.length) break;
      const changed = await prisma.nodeRole.updateManyAndReturn({
        where: { id: { in: frontier }, state: { in: ['todo', 'active'] } },
        data: { state: 'blocked', updatedAt: big(now) },
        select: { id: true },
      });
      blocked.push(...changed.map((c) => c.id));
    }
    return blocked;
  }

  /** Extends the leases of everything `worker` holds (long jobs call this through the heartbeat). */
  async function heartbeat(worker: string, nodeRoleIds: number[], nodeIds: number[], now: number, leaseMs: number) {
    if (nodeRoleIds.length === 0) return;
    const until = big(now + leaseMs);
    await atomic(prisma, async (tx) => {
      await tx.nodeRole.updateMany({
        where: { id: { in: nodeRoleIds }, leaseOwner: worker, state: { in: ['transition', 'removing'] } },
        data: { leaseUntil: until },
      });
      await tx.node.updateMany({ where: { id: { in: nodeIds }, leaseOwner: worker }, data: { leaseUntil: until } });
    });
  }

  /**
   * Crash recovery: node-roles in transition whose lease expired go back to todo (a removal stays
   * `removing`, unleased), and the runs their dead worker left open are closed as `lost`, ending no later
   * than the lease did.
   */
  async function recoverExpired(now: number): Promise<number[]> {
    const expired = await prisma.nodeRole.findMany({
      where: { state: { in: ['transition', 'removing'] }, leaseOwner: { not: null }, leaseUntil: { lt: big(now) } },
      select: { id: true, state: true, leaseOwner: true, leaseUntil: true },
    });
    const recovered: number[] = [];
    for (const nr of expired) {
      await atomic(prisma, async (tx) => {
        const n = await tx.nodeRole.updateMany({
          where: { id: nr.id, state: nr.state, leaseOwner: nr.leaseOwner, leaseUntil: { lt: big(now) } },
          data: {
            state: nr.state === 'transition' ? 'todo' : 'removing',
            leaseOwner: null,
            leaseUntil: null,
            nextRunAt: big(now),
            updatedAt: big(now),
          },
        });
        if (n.count !== 1) return;
        await tx.run.updateMany({
          where: { nodeRoleId: nr.id, status: 'running', worker: nr.leaseOwner ?? '' },
          data: {
            status: 'lost',
            endedAt: nr.leaseUntil ?? big(now),
            error: JSON.stringify({
              code: 'ERR_INTERNAL',
              kind: 'operational',
              message: `worker ${nr.leaseOwner} lost its lease (crashed or stalled); re-run`,
            }),
          },
        });
        recovered.push(nr.id);
      });
    }
    return recovered;
  }

  /**
   * Counts that tell `settle()` whether anything can still happen. Removals on alive nodes count as in
   * transition (they run or will); a removal waiting for a dead node does not.
   */
  async function pendingCounts(now: number) {
    const [transition, runnableNow, dueLater] = await Promise.all([
      prisma.nodeRole.count({
        where: {
          OR: [{ state: 'transition' }, { state: 'removing', node: { alive: true, available: true } }],
        },
      }),
      findRunnable(now, 1).then((r) => r.length),
      prisma.nodeRole.findFirst({
        where: {
          state: 'todo',
          nextRunAt: { gt: big(now) },
          deployment: { state: 'committed' },
          node: { alive: true, available: true, state: 'committed' },
        },
        orderBy: { nextRunAt: 'asc' },
        select: { nextRunAt: true },
      }),
    ]);
    return { transition, runnableNow, nextDueAt: dueLater ? num(dueLater.nextRunAt) : null };
  }

  return { wakeStranded, blockDescendants, heartbeat, recoverExpired, pendingCounts };
}
