/**
 * Attrib values per scope with proposed vs committed. Writes go to `proposed`; committing a
 * deployment or node promotes them to `committed`, which is what actions read.
 */
import type { AttribValueRecord } from '../domain/records';
import type { AttribScope } from '../domain/vocabulary';
import type { Client } from './db';
import { big, parseJson } from './codec';

export interface CommittedValue {
  attrib: string;
  scope: AttribScope;
  targetId: number;
  value: unknown;
}

export function attribsRepo(prisma: Client) {
  async function setProposed(attribId: number, scope: AttribScope, targetId: number, value: unknown, now: number) {
    const proposed = JSON.stringify(value);
    await prisma.attribValue.upsert({
      where: { attribId_scope_targetId: { attribId, scope, targetId } },
      create: { attribId, scope, targetId, proposed, updatedAt: big(now) },
      update: { proposed, updatedAt: big(now) },
    });
  }

  /**
   * Promotes proposed values of the given targets to committed. Returns the values whose committed
   * value actually changed (an unchanged re-commit re-runs nothing).
   */
  async function commit(targets: { scope: AttribScope; targetId: number }[], now: number): Promise<CommittedValue[]> {
    if (targets.length === 0) return [];
    // Pending proposals are few; the targets can be a whole deployment (70,000 at 10,000 nodes), more than
    // one statement may bind. So read the pending values and keep those of the targets.
    const wanted = new Set(targets.map((t) => `${t.scope}:${t.targetId}`));
    const pending = await prisma.attribValue.findMany({
      where: { proposed: { not: null } },
      include: { attrib: { select: { name: true } } },
    });
    const rows = pending.filter((r) => wanted.has(`${r.scope}:${r.targetId}`));
    const changed: CommittedValue[] = [];
    for (const r of rows) {
      await prisma.attribValue.update({
        where: { id: r.id },
        data: { committed: r.proposed, proposed: null, updatedAt: big(now) },
      });
      if (r.committed !== r.proposed) {
        changed.push({
          attrib: r.attrib.name,
          scope: r.scope as AttribScope,
          targetId: r.targetId,
          value: parseJson(r.proposed, null),
        });
      }
    }
    return changed;
  }

  /**
   * Writes a committed value directly (facts an action discovered, not an operator's proposal; a pending
   * proposal for the same attrib is left alone). Returns the change, or null when the value was already so.
   */
  async function setCommitted(
    attrib: { id: number; name: string },
    scope: AttribScope,
    targetId: number,
    value: unknown,
    now: number,
  ): Promise<CommittedValue | null> {
    const committed = JSON.stringify(value);
    const where = { attribId_scope_targetId: { attribId: attrib.id, scope, targetId } };
    const row = await prisma.attribValue.findUnique({ where });
    if (row?.committed === committed) return null;
    await prisma.attribValue.upsert({
      where,
      create: { attribId: attrib.id, scope, targetId, committed, updatedAt: big(now) },
      update: { committed, updatedAt: big(now) },
    });
    return { attrib: attrib.name, scope, targetId, value };
  }

  /** Committed values at any of the given targets, for resolving many node-roles at once. */
  async function committedFor(t: {
    deploymentIds: number[];
    nodeIds: number[];
    nodeRoleIds: number[];
  }): Promise<CommittedValue[]> {
    // NOTE: SQLite caps bound parameters per statement; large target lists are read in slices.
    const slice = 300;
    if (t.nodeIds.length > slice || t.nodeRoleIds.length > slice || t.deploymentIds.length > slice) {
      const out: CommittedValue[] = [];
      const n = Math.max(t.nodeIds.length, t.nodeRoleIds.length, t.deploymentIds.length);
      for (let i = 0; i < n; i += slice) {
        const part = (ids: number[]) => ids.slice(i, i + slice);
        out.push(
          ...(await committedFor({
            deploymentIds: part(t.deploymentIds),
            nodeIds: part(t.nodeIds),
            nodeRoleIds: part(t.nodeRoleIds),
          })),
        );
      }
      return out;
    }
    const or = [
      ...(t.deploymentIds.length ? [{ scope: 'deployment', targetId: { in: t.deploymentIds } }] : []),
      ...(t.nodeIds.length ? [{ scope: 'node', targetId: { in: t.nodeIds } }] : []),
      ...(t.nodeRoleIds.length ? [{ scope: 'node-role', targetId: { in: t.nodeRoleIds } }] : []),
    ];
    if (or.length === 0) return [];
    const rows = await prisma.attribValue.findMany({
      where: { OR: or, committed: { not: null } },
      include: { attrib: { select: { name: true } } },
    });
    return rows.map((r) => ({
      attrib: r.attrib.name,
      scope: r.scope as AttribScope,
      targetId: r.targetId,
      value: parseJson(r.committed, null),
    }));
  }

  async function list(scope: AttribScope, targetId: number): Promise<AttribValueRecord[]> {
    const rows = await prisma.attribValue.findMany({
      where: { scope, targetId },
      include: { attrib: { select: { name: true } } },
      orderBy: { id: 'asc' },
    });
    return rows.map((r) => ({
      attrib: r.attrib.name,
      scope: r.scope as AttribScope,
      targetId: r.targetId,
      proposed: parseJson(r.proposed, null),
      committed: parseJson(r.committed, null),
      hasProposed: r.proposed !== null,
      hasCommitted: r.committed !== null,
    }));
  }

  return { setProposed, setCommitted, commit, committedFor, list };
}
