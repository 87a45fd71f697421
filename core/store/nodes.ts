/** Node rows. Lookups by id or name; a missing node is ERR_NODE_NOT_FOUND. */
import { notFound } from '../errors';
import type { NodeRecord } from '../domain/records';
import { removalStates } from '../domain/vocabulary';
import { inChunks, type Client } from './db';
import { big, nodeRecord } from './codec';

export interface NewNode {
  name: string;
  description?: string;
  macs?: string[];
  bmcAddress?: string | null;
  bmcUsername?: string | null;
  bmcDriver?: NodeRecord['bmcDriver'];
  address?: string | null;
  alive?: boolean;
  available?: boolean;
  admin?: boolean;
  system?: boolean;
  deploymentId: number;
  facts?: Record<string, unknown>;
}

export type NodePatch = Partial<
  Pick<
    NodeRecord,
    | 'description'
    | 'alive'
    | 'available'
    | 'bmcAddress'
    | 'bmcUsername'
    | 'bmcDriver'
    | 'powerCheckedAt'
    | 'address'
    | 'sshHostKey'
    | 'powerState'
    | 'bootDevice'
    | 'macs'
    | 'facts'
    | 'tags'
    | 'state'
  >
>;

export function nodesRepo(prisma: Client) {
  async function create(n: NewNode, now: number): Promise<NodeRecord> {
    const row = await prisma.node.create({
      data: {
        name: n.name,
        description: n.description ?? '',
        macs: JSON.stringify(n.macs ?? []),
        bmcAddress: n.bmcAddress ?? null,
        bmcUsername: n.bmcUsername ?? null,
        bmcDriver: n.bmcDriver ?? 'ipmi',
        address: n.address ?? null,
        alive: n.alive ?? false,
        available: n.available ?? true,
        admin: n.admin ?? false,
        system: n.system ?? false,
        facts: JSON.stringify(n.facts ?? {}),
        deploymentId: n.deploymentId,
        createdAt: big(now),
        updatedAt: big(now),
      },
    });
    return nodeRecord(row);
  }

  async function find(ref: number | string): Promise<NodeRecord | null> {
    const row =
      typeof ref === 'number'
        ? await prisma.node.findUnique({ where: { id: ref } })
        : await prisma.node.findUnique({ where: { name: ref } });
    return row ? nodeRecord(row) : null;
  }

  async function get(ref: number | string): Promise<NodeRecord> {
    const n = await find(ref);
    if (!n) throw notFound('ERR_NODE_NOT_FOUND', 'node', ref);
    return n;
  }

  /** `tag`: nodes carrying that tag (tags are JSON text of restricted characters, so a quoted match is exact). */
  async function list(
    filter: { deploymentId?: number; system?: boolean; alive?: boolean; available?: boolean; tag?: string } = {},
    page = { offset: 0, limit: 1000 },
  ) {
    const { tag, ...where } = filter;
    const rows = await prisma.node.findMany({
      where: { ...where, ...(tag !== undefined ? { tags: { contains: JSON.stringify(tag) } } : {}) },
      orderBy: { id: 'asc' },
      skip: page.offset,
      take: page.limit,
    });
    return rows.map(nodeRecord);
  }

  async function byIds(ids: number[]): Promise<NodeRecord[]> {
    if (ids.length === 0) return [];
    return (await prisma.node.findMany({ where: { id: { in: ids } } })).map(nodeRecord);
  }

  async function update(id: number, patch: NodePatch, now: number): Promise<NodeRecord> {
    const { macs, facts, tags, powerCheckedAt, ...rest } = patch;
    const row = await prisma.node.update({
      where: { id },
      data: {
        ...rest,
        ...(powerCheckedAt !== undefined
          ? { powerCheckedAt: powerCheckedAt === null ? null : big(powerCheckedAt) }
          : {}),
        ...(macs ? { macs: JSON.stringify(macs) } : {}),
        ...(facts ? { facts: JSON.stringify(facts) } : {}),
        ...(tags ? { tags: JSON.stringify(tags) } : {}),
        updatedAt: big(now),
      },
    });
    return nodeRecord(row);
  }

  /** Commits every proposed node of a deployment in one statement; returns how many changed. */
  async function commitAll(deploymentId: number, now: number): Promise<number> {
    const res = await prisma.node.updateMany({
      where: { deploymentId, state: 'proposed' },
      data: { state: 'committed', updatedAt: big(now) },
    });
    return res.count;
  }

  async function serviceNode(deploymentId: number): Promise<NodeRecord | null> {
    const row = await prisma.node.findFirst({ where: { deploymentId, system: true } });
    return row ? nodeRecord(row) : null;
  }

  /**
   * Puts the node in another deployment. `rebind`: its new deployment's roles wait for removals still
   * under way on it (see {@link awaitingRebind}).
   */
  async function moveTo(id: number, deploymentId: number, now: number, rebind = false): Promise<void> {
    await prisma.node.update({ where: { id }, data: { deploymentId, rebind, updatedAt: big(now) } });
  }

  /** Puts many nodes in a deployment (a blueprint apply: nodes joining from the parent, nothing to remove). */
  async function moveMany(ids: number[], deploymentId: number, now: number): Promise<void> {
    await inChunks(ids, (chunk) =>
      prisma.node.updateMany({ where: { id: { in: chunk } }, data: { deploymentId, updatedAt: big(now) } }),
    );
  }

  /** Nodes moved while removals were under way on them whose removals have all finished. */
  async function awaitingRebind(): Promise<number[]> {
    const rows = await prisma.node.findMany({
      where: { rebind: true, nodeRoles: { none: { state: { in: [...removalStates] } } } },
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    return rows.map((r) => r.id);
  }

  async function clearRebind(id: number, now: number): Promise<void> {
    await prisma.node.update({ where: { id }, data: { rebind: false, updatedAt: big(now) } });
  }

  return {
    create,
    find,
    get,
    list,
    byIds,
    update,
    commitAll,
    serviceNode,
    moveTo,
    moveMany,
    awaitingRebind,
    clearRebind,
  };
}
