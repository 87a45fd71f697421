/**
 * Node-role rows and their parent/child edges. State changes outside the annealer's queue (commit,
 * retry, re-run after an attrib change) live here; each keeps the invariant "todo ⇒ every parent
 * active" by deciding todo vs blocked in the same statement that checks the parents.
 */
import { notFound } from '../errors';
import type { NodeRoleRecord } from '../domain/records';
import { removalStates, type NodeRoleState } from '../domain/vocabulary';
import { atomic, inChunks, sqlInt as int, type Client } from './db';
import { big, nodeRoleInclude, nodeRoleRecord, parseJson } from './codec';

export interface NodeRoleFilter {
  deploymentId?: number;
  nodeId?: number;
  roleId?: number;
  state?: NodeRoleState;
}

export interface NodeRoleStateRow {
  id: number;
  state: NodeRoleState;
  nodeId: number;
  node: string;
  role: string;
  deploymentId: number;
}

const parentsActive = { parentEdges: { none: { parent: { state: { not: 'active' } } } } };
const someParentNotActive = { parentEdges: { some: { parent: { state: { not: 'active' } } } } };

export function nodeRolesRepo(prisma: Client) {
  async function find(id: number): Promise<NodeRoleRecord | null> {
    const row = await prisma.nodeRole.findUnique({ where: { id }, include: nodeRoleInclude });
    return row ? nodeRoleRecord(row) : null;
  }

  async function get(id: number): Promise<NodeRoleRecord> {
    const nr = await find(id);
    if (!nr) throw notFound('ERR_NODE_ROLE_NOT_FOUND', 'node-role', id);
    return nr;
  }

  /** Every node-role's state with its node, role and deployment, for the live event feed (one light query). */
  async function states(): Promise<NodeRoleStateRow[]> {
    const rows = await prisma.nodeRole.findMany({
      select: {
        id: true,
        state: true,
        nodeId: true,
        deploymentId: true,
        node: { select: { name: true } },
        role: { select: { name: true } },
      },
      orderBy: { id: 'asc' },
    });
    return rows.map((r) => ({
      id: r.id,
      state: r.state as NodeRoleState,
      nodeId: r.nodeId,
      node: r.node.name,
      role: r.role.name,
      deploymentId: r.deploymentId,
    }));
  }

  async function list(filter: NodeRoleFilter = {}, page = { offset: 0, limit: 100_000 }): Promise<NodeRoleRecord[]> {
    const rows = await prisma.nodeRole.findMany({
      where: filter,
      include: nodeRoleInclude,
      orderBy: [{ cohort: 'asc' }, { id: 'asc' }],
      skip: page.offset,
      take: page.limit,
    });
    return rows.map(nodeRoleRecord);
  }

  /** The walls (data a role's action recorded) of the given node-roles, by id. */
  async function walls(ids: number[]): Promise<Map<number, Record<string, unknown>>> {
    if (ids.length === 0) return new Map();
    const rows = await prisma.nodeRole.findMany({ where: { id: { in: ids } }, select: { id: true, wall: true } });
    return new Map(rows.map((r) => [r.id, parseJson<Record<string, unknown>>(r.wall, {})]));
  }

  async function ids(filter: NodeRoleFilter = {}): Promise<number[]> {
    return (await prisma.nodeRole.findMany({ where: filter, select: { id: true }, orderBy: { id: 'asc' } })).map(
      (r) => r.id,
    );
  }

  async function count(filter: NodeRoleFilter = {}): Promise<number> {
    return prisma.nodeRole.count({ where: filter });
  }

  async function countByState(filter: Omit<NodeRoleFilter, 'state'> = {}): Promise<Record<string, number>> {
    const groups = await prisma.nodeRole.groupBy({ by: ['state'], where: filter, _count: { _all: true } });
    return Object.fromEntries(groups.map((g) => [g.state, g._count._all]));
  }

  async function findByRoleNode(roleId: number, nodeId: number) {
    return prisma.nodeRole.findUnique({
      where: { roleId_nodeId: { roleId, nodeId } },
      select: { id: true, cohort: true, deploymentId: true },
    });
  }

  async function listByRole(deploymentId: number, roleId: number) {
    return prisma.nodeRole.findMany({
      where: { deploymentId, roleId },
      select: { id: true, cohort: true, nodeId: true },
      orderBy: { id: 'asc' },
    });
  }

  async function insert(
    nr: { deploymentId: number; roleId: number; nodeId: number; cohort: number },
    now: number,
  ): Promise<number> {
    const row = await prisma.nodeRole.create({
      data: { ...nr, state: 'proposed', updatedAt: big(now) },
      select: { id: true },
    });
    return row.id;
  }

  /**
   * Inserts many proposed node-roles of one deployment (a blueprint apply's bulk bind) and their edges;
   * `rows[].key` names each new one for `edges` (negative keys: new rows; others: existing node-role ids).
   * Returns new key → id.
   * NOTE(perf): multi-row INSERT … RETURNING with the values inlined (every one an integer, checked), so
   * no statement meets the engines' bound-parameter limits; Prisma's createMany cost ~0.5 ms a row here.
   */
  async function insertGraph(
    deploymentId: number,
    rows: { key: number; roleId: number; nodeId: number; cohort: number }[],
    edges: { parentId: number; childId: number; soft: boolean }[],
    now: number,
  ): Promise<Map<number, number>> {
    const ids = new Map<number, number>();
    const CHUNK = 2000;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const part = rows.slice(i, i + CHUNK);
      const values = part
        .map((r) => `(${int(deploymentId)},${int(r.roleId)},${int(r.nodeId)},${int(r.cohort)},'proposed',${int(now)})`)
        .join(',');
      const created = await prisma.$queryRawUnsafe<
        { id: number | bigint; roleId: number | bigint; nodeId: number | bigint }[]
      >(
        `INSERT INTO "NodeRole" ("deploymentId","roleId","nodeId","cohort","state","updatedAt") VALUES ${values} RETURNING "id","roleId","nodeId"`,
      );
      const byKey = new Map(created.map((c) => [`${Number(c.roleId)}:${Number(c.nodeId)}`, Number(c.id)]));
      for (const r of part) ids.set(r.key, byKey.get(`${r.roleId}:${r.nodeId}`)!);
    }
    const resolve = (k: number) => (k < 0 ? ids.get(k)! : k);
    const seen = new Set<string>();
    const data: string[] = [];
    for (const e of edges) {
      const [parentId, childId] = [int(resolve(e.parentId)), int(resolve(e.childId))];
      const k = `${parentId}:${childId}`;
      if (seen.has(k)) continue;
      seen.add(k);
      data.push(`(${parentId},${childId},${e.soft ? 'true' : 'false'})`);
    }
    for (let i = 0; i < data.length; i += CHUNK) {
      await prisma.$executeRawUnsafe(
        `INSERT INTO "NodeRoleEdge" ("parentId","childId","soft") VALUES ${data.slice(i, i + CHUNK).join(',')}`,
      );
    }
    return ids;
  }

  async function addEdges(edges: { parentId: number; childId: number; soft: boolean }[]): Promise<void> {
    if (edges.length === 0) return;
    const existing = await prisma.nodeRoleEdge.findMany({
      where: { childId: { in: [...new Set(edges.map((e) => e.childId))] } },
      select: { parentId: true, childId: true },
    });
    const have = new Set(existing.map((e) => `${e.parentId}:${e.childId}`));
    const fresh = edges.filter((e) => !have.has(`${e.parentId}:${e.childId}`));
    if (fresh.length) await prisma.nodeRoleEdge.createMany({ data: fresh });
  }

  async function childrenOf(parentIds: number[]) {
    return prisma.nodeRoleEdge.findMany({
      where: { parentId: { in: parentIds } },
      select: { parentId: true, childId: true },
    });
  }

  async function parentsOf(childIds: number[]) {
    const rows = await prisma.nodeRoleEdge.findMany({
      where: { childId: { in: childIds } },
      include: { parent: { include: nodeRoleInclude } },
    });
    return rows.map((r) => ({ childId: r.childId, soft: r.soft, parent: nodeRoleRecord(r.parent) }));
  }

  /** proposed → blocked, then → todo where every parent is active. Returns how many were committed. */
  async function commitProposed(scope: { deploymentId?: number; nodeId?: number }, now: number): Promise<number> {
    const ids = (await prisma.nodeRole.findMany({ where: { ...scope, state: 'proposed' }, select: { id: true } })).map(
      (r) => r.id,
    );
    if (ids.length === 0) return 0;
    await atomic(prisma, async (tx) => {
      await tx.nodeRole.updateMany({ where: { id: { in: ids } }, data: { state: 'blocked', updatedAt: big(now) } });
      await tx.nodeRole.updateMany({
        where: { id: { in: ids }, state: 'blocked', ...parentsActive },
        data: { state: 'todo', nextRunAt: big(now), updatedAt: big(now) },
      });
    });
    return ids.length;
  }

  /**
   * Marks node-roles for another run: generation + 1, then todo (parents active) or blocked. A
   * node-role in transition keeps running; its completion sees the new generation and runs it again.
   */
  async function bump(all: number[], now: number): Promise<void> {
    if (all.length === 0) return;
    await atomic(prisma, (tx) => inChunks(all, (ids) => bumpChunk(tx, ids, now)));
  }

  async function bumpChunk(client: Client, ids: number[], now: number): Promise<void> {
    const idle = { id: { in: ids }, state: { in: ['active', 'error', 'todo', 'blocked'] } };
    await atomic(client, async (tx) => {
      await tx.nodeRole.updateMany({
        where: { id: { in: ids }, state: { notIn: ['proposed', ...removalStates] } },
        data: { generation: { increment: 1 }, updatedAt: big(now) },
      });
      await tx.nodeRole.updateMany({
        where: { ...idle, ...parentsActive },
        data: { state: 'todo', attempts: 0, nextRunAt: big(now) },
      });
      await tx.nodeRole.updateMany({
        where: { ...idle, ...someParentNotActive },
        data: { state: 'blocked', attempts: 0 },
      });
    });
  }

  /** error → todo (or blocked while a parent is not active), attempts reset. Conflict if not in error. */
  async function retry(id: number, now: number): Promise<boolean> {
    return atomic(prisma, async (tx) => {
      const toTodo = await tx.nodeRole.updateMany({
        where: { id, state: 'error', ...parentsActive },
        data: { state: 'todo', attempts: 0, nextRunAt: big(now), lastError: null, updatedAt: big(now) },
      });
      const toBlocked = await tx.nodeRole.updateMany({
        where: { id, state: 'error', ...someParentNotActive },
        data: { state: 'blocked', attempts: 0, lastError: null, updatedAt: big(now) },
      });
      // A failed remove runs again.
      const toRemoving = await tx.nodeRole.updateMany({
        where: { id, state: 'remove-error' },
        data: { state: 'removing', attempts: 0, nextRunAt: big(now), lastError: null, updatedAt: big(now) },
      });
      return toTodo.count + toBlocked.count + toRemoving.count === 1;
    });
  }

  /** Nodes (name, address) with a node-role of `role` in the deployment that is not on its way out, by node id. */
  async function members(deploymentId: number, role: string): Promise<{ name: string; address: string | null }[]> {
    const rows = await prisma.nodeRole.findMany({
      where: { deploymentId, role: { name: role }, state: { notIn: [...removalStates] } },
      select: { node: { select: { name: true, address: true } } },
      orderBy: { nodeId: 'asc' },
    });
    return rows.map((r) => r.node);
  }

  /** A forced re-run of a destructive role: it counts as never having run (run-job then runs it). */
  async function forgetRuns(id: number, now: number): Promise<void> {
    await prisma.nodeRole.update({ where: { id }, data: { runCount: 0, updatedAt: big(now) } });
  }

  return {
    insertGraph,
    members,
    forgetRuns,
    states,
    walls,
    find,
    get,
    list,
    ids,
    count,
    countByState,
    findByRoleNode,
    listByRole,
    insert,
    addEdges,
    childrenOf,
    parentsOf,
    commitProposed,
    bump,
    retry,
  };
}
