/**
 * The way out (DESIGN §7b): marking node-roles for removal, claiming removals for the annealer, writing
 * their outcome, and finalizing deployments and nodes whose node-roles are all gone.
 *
 * Contracts:
 * - A node-role in `removing` runs its role's remove action only once nothing that depends on it is
 *   still being removed (children before parents) and its node is alive, leased like an apply (one job
 *   per node across processes; a dead worker's lease expires and the removal is claimed again).
 * - A removal that succeeds deletes the record, its edges and its node-role attrib values; its runs stay.
 *   Hard children that stay behind (members of a cluster that lost one member) run again after it.
 * - Finalizing is level-based: any deployment in `deleting` and any node in `retiring` without node-roles
 *   is finished whenever finalize runs (at mark time, after removals, at crash recovery).
 */
import { removalStates } from '../domain/vocabulary';
import { inChunks, type Client } from './db';
import { big } from './codec';
import { Prisma } from './generated/sqlite/client';
import { nodeRolesRepo } from './node-roles';
import type { NewEvent } from './runs-events';

/** What one mark asked for, by id. */
export interface MarkResult {
  /** Now `removing` (or already on the way out), children before parents. */
  removing: number[];
  /** Deleted at once: never committed (`proposed`) or forced. */
  deleted: number[];
  /** Hard children that stay (their cluster keeps other members) and run again once the removal is done. */
  rerun: number[];
}

export interface FinalizeResult {
  deployments: { id: number; name: string; parentId: number | null; nodes: string[] }[];
  nodes: { id: number; name: string; allocations: string[] }[];
}

interface Row {
  id: number;
  roleId: number;
  state: string;
  cohort: number;
}

const rowSelect = { id: true, roleId: true, state: true, cohort: true } as const;

/**
 * `state = s`, for a query that also names its rows by id. NOTE(perf): SQLite (no ANALYZE statistics)
 * plans `id IN (…) AND state = ?` on the (state, nextRunAt) index and so reads every row in that state
 * — all 60,000 node-roles of a 10,000-node teardown are `removing` — instead of the ids. Written as
 * NOT (state <> ?) the condition is the same but not an index term, so the ids' primary key is used.
 */
export const stateById = (state: string) => ({ NOT: { state: { not: state } } });

/** Events per INSERT: six bound values each, under SQLite's 999. */
const EVENT_ROWS = 150;

export function teardownRepo(prisma: Client) {
  const nodeRoles = nodeRolesRepo(prisma);

  /**
   * The node-roles that go with `rootIds`: the roots and, transitively, their hard children, except a
   * child of a cluster member that keeps another member of that cluster (it stays and runs again).
   */
  async function closure(rootIds: number[], clusterRoleIds: ReadonlySet<number>) {
    const rows = await prisma.nodeRole.findMany({ where: { id: { in: rootIds } }, select: rowSelect });
    const leaving = new Map<number, Row>(rows.map((r) => [r.id, r]));
    const staying = new Set<number>();
    let frontier = rows;
    while (frontier.length) {
      const edges = await prisma.nodeRoleEdge.findMany({
        where: { parentId: { in: frontier.map((r) => r.id) }, soft: false },
        select: { parentId: true, child: { select: rowSelect } },
      });
      const fresh = edges.filter((e) => !leaving.has(e.child.id));
      // Children reached through a cluster member: do they keep another member of that cluster?
      const viaCluster = fresh.filter((e) => clusterRoleIds.has(leaving.get(e.parentId)!.roleId));
      const memberParents = viaCluster.length
        ? await prisma.nodeRoleEdge.findMany({
            where: { childId: { in: viaCluster.map((e) => e.child.id) }, soft: false },
            select: { childId: true, parent: { select: { id: true, roleId: true } } },
          })
        : [];
      const next: Row[] = [];
      for (const e of fresh) {
        if (leaving.has(e.child.id)) continue;
        const clusterRole = leaving.get(e.parentId)!.roleId;
        const keepsMember =
          clusterRoleIds.has(clusterRole) &&
          memberParents.some(
            (m) => m.childId === e.child.id && m.parent.roleId === clusterRole && !leaving.has(m.parent.id),
          );
        if (keepsMember) {
          staying.add(e.child.id);
          continue;
        }
        leaving.set(e.child.id, e.child);
        staying.delete(e.child.id);
        next.push(e.child);
      }
      frontier = next;
    }
    return { leaving: [...leaving.values()], staying: [...staying] };
  }

  /** Hard children of `ids` that are not on their way out. */
  async function stayingChildren(ids: number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const edges = await prisma.nodeRoleEdge.findMany({
      where: { parentId: { in: ids }, soft: false, child: { state: { notIn: [...removalStates] } } },
      select: { childId: true },
    });
    return [...new Set(edges.map((e) => e.childId))].filter((id) => !ids.includes(id));
  }

  /** Deletes node-role records (edges cascade) and their node-role attrib values; runs stay. */
  async function deleteRecords(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await inChunks(ids, (chunk) =>
      prisma.attribValue.deleteMany({ where: { scope: 'node-role', targetId: { in: chunk } } }),
    );
    await inChunks(ids, (chunk) => prisma.nodeRole.deleteMany({ where: { id: { in: chunk } } }));
  }

  /**
   * Deletes records at once and runs again the hard children they leave behind (they see the smaller
   * cluster). Returns those children.
   */
  async function deleteNow(ids: number[], now: number): Promise<number[]> {
    const rerun = await stayingChildren(ids);
    await deleteRecords(ids);
    await nodeRoles.bump(rerun, now);
    return rerun;
  }

  /**
   * Marks `rootIds` and what goes with them (see closure) for removal. `proposed` node-roles never ran:
   * they are deleted at once, as is everything when `force` (no remove action runs). Idempotent: what is
   * already on its way out stays as it is (a failed removal is retried, not re-marked).
   */
  async function mark(
    rootIds: number[],
    opts: { clusterRoleIds: ReadonlySet<number>; force: boolean },
    now: number,
  ): Promise<MarkResult> {
    const { leaving, staying } = await closure(rootIds, opts.clusterRoleIds);
    const byCohortDesc = leaving.sort((a, b) => b.cohort - a.cohort || b.id - a.id);
    const gone = byCohortDesc.filter((r) => opts.force || r.state === 'proposed').map((r) => r.id);
    const goneSet = new Set(gone);
    const removing = byCohortDesc.filter((r) => !goneSet.has(r.id)).map((r) => r.id);
    const rerun = new Set(await deleteNow(gone, now));
    if (removing.length) {
      await inChunks(removing, (chunk) =>
        prisma.nodeRole.updateMany({
          where: { id: { in: chunk }, state: { notIn: [...removalStates] } },
          data: { state: 'removing', attempts: 0, lastError: null, nextRunAt: big(now), updatedAt: big(now) },
        }),
      );
      // Staying children run again once the removal is done (completeRemovals); nothing to do now.
      for (const id of staying) rerun.add(id);
    }
    return { removing, deleted: gone, rerun: [...rerun] };
  }

  /**
   * Removals that may run now: `removing` and due, not leased, nothing being removed depends on it, its
   * node alive, available, not leased and running nothing else. At most one per node, children first.
   *
   * NOTE(concurrency): "not leased" means no lease owner at all, not an expired lease. A removal stays
   * `removing` while it runs, so a dead worker's claim looks like a due removal once its lease expires;
   * taking it over then would leave the dead run `running` forever (an open run overlapping every later
   * one). It must first go through crash recovery (recoverExpired), which closes that run as `lost` and
   * clears the owner, as a crashed apply (stuck in `transition`) must.
   */
  async function findRemovable(now: number, limit: number): Promise<{ id: number; nodeId: number }[]> {
    const free = { OR: [{ leaseUntil: null }, { leaseUntil: { lt: big(now) } }] };
    const rows = await prisma.nodeRole.findMany({
      where: {
        state: 'removing',
        nextRunAt: { lte: big(now) },
        leaseOwner: null,
        node: { alive: true, available: true, ...free, nodeRoles: { none: { state: 'transition' } } },
        childEdges: { none: { child: { state: { in: [...removalStates] } } } },
      },
      orderBy: [{ cohort: 'desc' }, { nextRunAt: 'asc' }, { id: 'asc' }],
      take: limit * 4,
      select: { id: true, nodeId: true },
    });
    const seen = new Set<number>();
    return rows.filter((r) => !seen.has(r.nodeId) && seen.add(r.nodeId)).slice(0, limit);
  }

  /**
   * Writes successful removals owned by `worker`: audit events (node-role.removed), the records deleted,
   * staying children run again. Returns the ids removed and the children re-run.
   */
  async function completeRemovals(
    done: { id: number; runId: number }[],
    worker: string,
    actor: string,
    now: number,
  ): Promise<{ removed: number[]; rerun: number[] }> {
    if (done.length === 0) return { removed: [], rerun: [] };
    const owned = await prisma.nodeRole.findMany({
      where: { id: { in: done.map((d) => d.id) }, ...stateById('removing'), leaseOwner: worker },
      select: { id: true, deploymentId: true, node: { select: { name: true } }, role: { select: { name: true } } },
    });
    const ids = owned.map((o) => o.id);
    const runOf = new Map(done.map((d) => [d.id, d.runId]));
    await appendEvents(
      owned.map((o) => ({
        actor,
        type: 'node-role.removed',
        objectType: 'node-role',
        objectId: o.id,
        data: { node: o.node.name, role: o.role.name, deploymentId: o.deploymentId, runId: runOf.get(o.id) },
      })),
      now,
    );
    const rerun = await deleteNow(ids, now);
    return { removed: ids, rerun };
  }

  /**
   * NOTE(perf): a removal batch writes one event per node-role. Prisma's createMany spends ~0.2 ms of JS
   * per row here (measured: 44 ms for 256 events, most of a batch's completion); a parameterized multi-row
   * INSERT (Prisma.sql renders each engine's placeholders) writes the same rows for a fraction of that.
   */
  async function appendEvents(events: NewEvent[], now: number): Promise<void> {
    for (let i = 0; i < events.length; i += EVENT_ROWS) {
      const rows = events
        .slice(i, i + EVENT_ROWS)
        .map(
          (e) =>
            Prisma.sql`(${now}, ${e.actor}, ${e.type}, ${e.objectType}, ${e.objectId ?? null}, ${JSON.stringify(e.data ?? {})})`,
        );
      await prisma.$executeRaw`INSERT INTO "Event" ("at", "actor", "type", "objectType", "objectId", "data") VALUES ${Prisma.join(rows)}`;
    }
  }

  /**
   * Finishes what has nothing left to remove: a `deleting` deployment hands its nodes to its parent and
   * goes with its service node, networks (their allocations) and attrib values; a `retiring` node goes
   * with its allocations, secrets, installs and attrib values. Events and runs stay. Audited.
   */
  async function finalize(actor: string, now: number): Promise<FinalizeResult> {
    const result: FinalizeResult = { deployments: [], nodes: [] };
    const deployments = await prisma.deployment.findMany({
      where: { state: 'deleting', nodeRoles: { none: {} }, children: { none: {} } },
      select: { id: true, name: true, parentId: true },
    });
    for (const d of deployments) {
      const nodes = await prisma.node.findMany({
        where: { deploymentId: d.id, system: false },
        select: { id: true, name: true },
        orderBy: { id: 'asc' },
      });
      if (d.parentId !== null) {
        const parentId = d.parentId;
        await inChunks(
          nodes.map((n) => n.id),
          (chunk) =>
            prisma.node.updateMany({
              where: { id: { in: chunk } },
              data: { deploymentId: parentId, updatedAt: big(now) },
            }),
        );
      }
      const serviceNodes = await prisma.node.findMany({
        where: { deploymentId: d.id, system: true },
        select: { id: true },
      });
      await prisma.attribValue.deleteMany({
        where: {
          OR: [
            { scope: 'deployment', targetId: d.id },
            { scope: 'node', targetId: { in: serviceNodes.map((n) => n.id) } },
          ],
        },
      });
      await prisma.network.deleteMany({ where: { deploymentId: d.id } });
      await prisma.node.deleteMany({ where: { id: { in: serviceNodes.map((n) => n.id) } } });
      // Another process may have finished it first: then there is nothing to report.
      const deleted = await prisma.deployment.deleteMany({ where: { id: d.id, state: 'deleting' } });
      if (deleted.count === 0) continue;
      result.deployments.push({ ...d, nodes: nodes.map((n) => n.name) });
    }
    const nodes = await prisma.node.findMany({
      where: { state: 'retiring', nodeRoles: { none: {} } },
      select: { id: true, name: true, allocations: { select: { address: true } } },
    });
    for (const n of nodes) {
      await prisma.attribValue.deleteMany({ where: { scope: 'node', targetId: n.id } });
      const deleted = await prisma.node.deleteMany({ where: { id: n.id, state: 'retiring' } });
      if (deleted.count === 0) continue;
      result.nodes.push({ id: n.id, name: n.name, allocations: n.allocations.map((a) => a.address) });
    }
    await appendEvents(
      [
        ...result.deployments.map((d) => ({
          actor,
          type: 'deployment.deleted',
          objectType: 'deployment',
          objectId: d.id,
          data: { name: d.name, nodes: d.nodes, parentId: d.parentId },
        })),
        ...result.nodes.map((n) => ({
          actor,
          type: 'node.retired',
          objectType: 'node',
          objectId: n.id,
          data: { name: n.name, allocations: n.allocations },
        })),
      ],
      now,
    );
    return result;
  }

  return { closure, mark, findRemovable, completeRemovals, finalize };
}
