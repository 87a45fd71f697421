/**
 * Per-node secrets (the BMC password, …). The only reader is the power service, which hands the value
 * to a driver; no API, UI or log code path may call `get`. See docs/security.md.
 */
import type { Client } from './db';
import { big } from './codec';

export type NodeSecretName = 'bmc-password';

export function nodeSecretsRepo(prisma: Client) {
  /** The secret, or null when none is set. */
  async function get(nodeId: number, name: NodeSecretName): Promise<string | null> {
    const row = await prisma.nodeSecret.findUnique({ where: { nodeId_name: { nodeId, name } } });
    return row?.value ?? null;
  }

  /** Sets (or replaces) the secret; `null` removes it. */
  async function set(nodeId: number, name: NodeSecretName, value: string | null, now: number): Promise<void> {
    if (value === null) {
      await prisma.nodeSecret.deleteMany({ where: { nodeId, name } });
      return;
    }
    await prisma.nodeSecret.upsert({
      where: { nodeId_name: { nodeId, name } },
      create: { nodeId, name, value, updatedAt: big(now) },
      update: { value, updatedAt: big(now) },
    });
  }

  /** Which secrets a node has (names only), for showing `bmcPasswordSet` without the value. */
  async function names(nodeId: number): Promise<NodeSecretName[]> {
    const rows = await prisma.nodeSecret.findMany({ where: { nodeId }, select: { name: true } });
    return rows.map((r) => r.name as NodeSecretName);
  }

  return { get, set, names };
}
