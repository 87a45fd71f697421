/**
 * Install rows (the provisioner's network-boot installs). State changes are compare-and-set updates
 * (`where state in …`), so two anneal processes serving the same machine never move an install twice;
 * each mutator returns whether it changed the row. A missing install is ERR_INSTALL_NOT_FOUND.
 */
import type { InstallOs, InstallParams, InstallRecord, InstallState } from '../domain/installs';
import { pendingInstallStates } from '../domain/installs';
import { notFound } from '../errors';
import { atomic, type Client } from './db';
import { big, num, numOrNull, parseJson } from './codec';

interface InstallRow {
  id: number;
  nodeId: number;
  os: string;
  state: string;
  params: string;
  error: string | null;
  requestedBy: string;
  createdAt: bigint;
  updatedAt: bigint;
  bootedAt: bigint | null;
  configFetchedAt: bigint | null;
  completedAt: bigint | null;
}

function installRecord(r: InstallRow): InstallRecord {
  return {
    id: r.id,
    nodeId: r.nodeId,
    os: r.os as InstallOs,
    state: r.state as InstallState,
    params: parseJson<InstallParams>(r.params, {} as InstallParams),
    error: r.error,
    requestedBy: r.requestedBy,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    bootedAt: numOrNull(r.bootedAt),
    configFetchedAt: numOrNull(r.configFetchedAt),
    completedAt: numOrNull(r.completedAt),
  };
}

const pending = { in: [...pendingInstallStates] };

export function installsRepo(prisma: Client) {
  /**
   * Records a new install for the node's next network boot. In the same transaction every other
   * pending install of the node fails as superseded (a node installs one thing at a time); returns
   * the new install and the ids it superseded.
   */
  async function request(
    n: { nodeId: number; os: InstallOs; params: InstallParams; requestedBy: string },
    now: number,
  ): Promise<{ install: InstallRecord; superseded: number[] }> {
    return atomic(prisma, async (tx) => {
      const older = await tx.install.findMany({ where: { nodeId: n.nodeId, state: pending }, select: { id: true } });
      const row = await tx.install.create({
        data: {
          nodeId: n.nodeId,
          os: n.os,
          params: JSON.stringify(n.params),
          requestedBy: n.requestedBy,
          createdAt: big(now),
          updatedAt: big(now),
        },
      });
      if (older.length) {
        await tx.install.updateMany({
          where: { id: { in: older.map((o) => o.id) }, state: pending },
          data: { state: 'failed', error: `superseded by install ${row.id}`, tokenHash: null, updatedAt: big(now) },
        });
      }
      return { install: installRecord(row), superseded: older.map((o) => o.id) };
    });
  }

  async function get(id: number): Promise<InstallRecord> {
    const row = await prisma.install.findUnique({ where: { id } });
    if (!row) throw notFound('ERR_INSTALL_NOT_FOUND', 'install', id);
    return installRecord(row);
  }

  /** The node's most recent install, or null. */
  async function latestForNode(nodeId: number): Promise<InstallRecord | null> {
    const row = await prisma.install.findFirst({ where: { nodeId }, orderBy: { id: 'desc' } });
    return row ? installRecord(row) : null;
  }

  /** Every pending install with its node's MACs (few at a time: one per node being installed). */
  async function pendingWithMacs(): Promise<{ install: InstallRecord; macs: string[] }[]> {
    const rows = await prisma.install.findMany({
      where: { state: pending },
      include: { node: { select: { macs: true } } },
      orderBy: { id: 'asc' },
    });
    return rows.map(({ node, ...r }) => ({ install: installRecord(r), macs: parseJson<string[]>(node.macs, []) }));
  }

  async function byTokenHash(tokenHash: string): Promise<InstallRecord | null> {
    const row = await prisma.install.findUnique({ where: { tokenHash } });
    return row ? installRecord(row) : null;
  }

  /** The iPXE script was served with a new token (any earlier token of this install stops working). */
  async function markBooted(id: number, tokenHash: string, now: number): Promise<boolean> {
    const res = await prisma.install.updateMany({
      where: { id, state: pending },
      data: { state: 'booted', tokenHash, bootedAt: big(now), configFetchedAt: null, updatedAt: big(now) },
    });
    return res.count === 1;
  }

  async function markConfigFetched(id: number, now: number): Promise<boolean> {
    const res = await prisma.install.updateMany({
      where: { id, state: 'booted' },
      data: { state: 'config-fetched', configFetchedAt: big(now), updatedAt: big(now) },
    });
    return res.count === 1;
  }

  async function markComplete(id: number, now: number): Promise<boolean> {
    const res = await prisma.install.updateMany({
      where: { id, state: { in: ['booted', 'config-fetched'] } },
      data: { state: 'complete', completedAt: big(now), updatedAt: big(now) },
    });
    return res.count === 1;
  }

  return { request, get, latestForNode, pendingWithMacs, byTokenHash, markBooted, markConfigFetched, markComplete };
}
