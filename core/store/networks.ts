/**
 * IPAM rows: networks, their ranges and allocations (core/domain/ipam.ts does the arithmetic,
 * core/services/networks.ts the rules). Allocations are unique per (network, address) and per
 * (network, node) in the database, so two concurrent allocations never hand out one address twice:
 * the loser gets a unique-constraint error, which the service retries or reports.
 */
import type { AllocationRecord, NetworkRecord, RangeRecord } from '../domain/ipam';
import { compareIpv4 } from '../domain/ipam';
import { notFound } from '../errors';
import type { Client } from './db';
import { big, num } from './codec';

interface NetworkRow {
  id: number;
  name: string;
  description: string;
  deploymentId: number;
  cidr: string;
  vlan: number | null;
  gateway: string | null;
  category: string;
  interface: string | null;
  createdAt: bigint;
  updatedAt: bigint;
}

function networkRecord(r: NetworkRow): NetworkRecord {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    deploymentId: r.deploymentId,
    cidr: r.cidr,
    vlan: r.vlan,
    gateway: r.gateway,
    category: r.category,
    interface: r.interface,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
  };
}

function rangeRecord(r: {
  id: number;
  networkId: number;
  name: string;
  first: string;
  last: string;
  createdAt: bigint;
}) {
  return { id: r.id, networkId: r.networkId, name: r.name, first: r.first, last: r.last, createdAt: num(r.createdAt) };
}

const allocationInclude = {
  network: { select: { name: true } },
  range: { select: { name: true } },
  node: { select: { name: true } },
} as const;

interface AllocationRow {
  id: number;
  networkId: number;
  rangeId: number | null;
  nodeId: number;
  address: string;
  createdBy: string;
  createdAt: bigint;
  network: { name: string };
  range: { name: string } | null;
  node: { name: string };
}

function allocationRecord(r: AllocationRow): AllocationRecord {
  return {
    id: r.id,
    networkId: r.networkId,
    network: r.network.name,
    rangeId: r.rangeId,
    range: r.range?.name ?? null,
    nodeId: r.nodeId,
    node: r.node.name,
    address: r.address,
    createdBy: r.createdBy,
    createdAt: num(r.createdAt),
  };
}

export type NewNetwork = Omit<NetworkRecord, 'id' | 'createdAt' | 'updatedAt'>;

/** Allocations sorted by network id, then address numerically (SQL sorts the text). */
function sorted(rows: AllocationRecord[]): AllocationRecord[] {
  return rows.sort((a, b) => a.networkId - b.networkId || compareIpv4(a.address, b.address));
}

export function networksRepo(prisma: Client) {
  async function find(ref: number | string): Promise<NetworkRecord | null> {
    const row =
      typeof ref === 'number'
        ? await prisma.network.findUnique({ where: { id: ref } })
        : await prisma.network.findUnique({ where: { name: ref } });
    return row ? networkRecord(row) : null;
  }

  async function get(ref: number | string): Promise<NetworkRecord> {
    const n = await find(ref);
    if (!n) throw notFound('ERR_NETWORK_NOT_FOUND', 'network', ref);
    return n;
  }

  async function create(n: NewNetwork, now: number): Promise<NetworkRecord> {
    return networkRecord(await prisma.network.create({ data: { ...n, createdAt: big(now), updatedAt: big(now) } }));
  }

  async function list(
    filter: { deploymentId?: number },
    page: { offset: number; limit: number },
  ): Promise<NetworkRecord[]> {
    const rows = await prisma.network.findMany({
      where: filter.deploymentId === undefined ? {} : { deploymentId: filter.deploymentId },
      orderBy: { id: 'asc' },
      skip: page.offset,
      take: page.limit,
    });
    return rows.map(networkRecord);
  }

  /** Deletes the network with its ranges (allocations must be gone: the service checks). */
  async function remove(id: number): Promise<void> {
    await prisma.network.delete({ where: { id } });
  }

  async function ranges(networkId: number): Promise<RangeRecord[]> {
    const rows = await prisma.range.findMany({ where: { networkId }, orderBy: { id: 'asc' } });
    return rows.map(rangeRecord);
  }

  async function createRange(
    r: { networkId: number; name: string; first: string; last: string },
    now: number,
  ): Promise<RangeRecord> {
    return rangeRecord(await prisma.range.create({ data: { ...r, createdAt: big(now) } }));
  }

  async function removeRange(id: number): Promise<void> {
    await prisma.range.delete({ where: { id } });
  }

  async function allocations(filter: {
    networkId?: number;
    nodeId?: number;
    rangeId?: number;
    /** Allocations of the nodes of this deployment (any network). */
    nodeDeploymentId?: number;
  }): Promise<AllocationRecord[]> {
    const rows = await prisma.allocation.findMany({
      where: {
        ...(filter.networkId === undefined ? {} : { networkId: filter.networkId }),
        ...(filter.nodeId === undefined ? {} : { nodeId: filter.nodeId }),
        ...(filter.rangeId === undefined ? {} : { rangeId: filter.rangeId }),
        ...(filter.nodeDeploymentId === undefined ? {} : { node: { deploymentId: filter.nodeDeploymentId } }),
      },
      include: allocationInclude,
    });
    return sorted(rows.map(allocationRecord));
  }

  async function createAllocation(
    a: { networkId: number; rangeId: number | null; nodeId: number; address: string; createdBy: string },
    now: number,
  ): Promise<AllocationRecord> {
    const row = await prisma.allocation.create({ data: { ...a, createdAt: big(now) }, include: allocationInclude });
    return allocationRecord(row);
  }

  async function removeAllocation(id: number): Promise<void> {
    await prisma.allocation.delete({ where: { id } });
  }

  return {
    find,
    get,
    create,
    list,
    remove,
    ranges,
    createRange,
    removeRange,
    allocations,
    createAllocation,
    removeAllocation,
  };
}
