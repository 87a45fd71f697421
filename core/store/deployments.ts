/** Deployment rows: a tree under `system`. */
import { notFound } from '../errors';
import type { DeploymentRecord } from '../domain/records';
import type { DeploymentState } from '../domain/vocabulary';
import type { Client } from './db';
import { big, deploymentRecord } from './codec';

export function deploymentsRepo(prisma: Client) {
  async function find(ref: number | string): Promise<DeploymentRecord | null> {
    const row =
      typeof ref === 'number'
        ? await prisma.deployment.findUnique({ where: { id: ref } })
        : await prisma.deployment.findUnique({ where: { name: ref } });
    return row ? deploymentRecord(row) : null;
  }

  async function get(ref: number | string): Promise<DeploymentRecord> {
    const d = await find(ref);
    if (!d) throw notFound('ERR_DEPLOYMENT_NOT_FOUND', 'deployment', ref);
    return d;
  }

  async function create(
    d: { name: string; description?: string; parentId: number | null; system?: boolean; state?: DeploymentState },
    now: number,
  ): Promise<DeploymentRecord> {
    const row = await prisma.deployment.create({
      data: {
        name: d.name,
        description: d.description ?? '',
        parentId: d.parentId,
        system: d.system ?? false,
        state: d.state ?? 'proposed',
        createdAt: big(now),
        updatedAt: big(now),
      },
    });
    return deploymentRecord(row);
  }

  async function list(): Promise<DeploymentRecord[]> {
    return (await prisma.deployment.findMany({ orderBy: { id: 'asc' } })).map(deploymentRecord);
  }

  async function setState(id: number, state: DeploymentState, now: number): Promise<DeploymentRecord> {
    return deploymentRecord(await prisma.deployment.update({ where: { id }, data: { state, updatedAt: big(now) } }));
  }

  async function addRole(deploymentId: number, roleId: number): Promise<void> {
    await prisma.deploymentRole.upsert({
      where: { deploymentId_roleId: { deploymentId, roleId } },
      create: { deploymentId, roleId },
      update: {},
    });
  }

  async function roles(deploymentId: number): Promise<string[]> {
    const rows = await prisma.deploymentRole.findMany({
      where: { deploymentId },
      include: { role: { select: { name: true } } },
    });
    return rows.map((r) => r.role.name).sort();
  }

  return { find, get, create, list, setState, addRole, roles };
}
