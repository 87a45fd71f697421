/** Run records (one per attempt) and the audit log of events. */
import { notFound } from '../errors';
import type { EventRecord, RunRecord } from '../domain/records';
import type { Client } from './db';
import { big, eventRecord, runRecord } from './codec';

export interface NewEvent {
  actor: string;
  type: string;
  objectType: string;
  objectId?: number | null;
  data?: Record<string, unknown>;
}

export function runsRepo(prisma: Client) {
  async function list(
    filter: { nodeRoleId?: number; nodeId?: number; status?: string } = {},
    page = { offset: 0, limit: 1000 },
  ): Promise<RunRecord[]> {
    const rows = await prisma.run.findMany({
      where: filter,
      orderBy: { id: 'asc' },
      skip: page.offset,
      take: page.limit,
    });
    return rows.map(runRecord);
  }

  async function get(id: number): Promise<RunRecord> {
    const row = await prisma.run.findUnique({ where: { id } });
    if (!row) throw notFound('ERR_RUN_NOT_FOUND', 'run', id);
    return runRecord(row);
  }

  /** Every run of every node-role, for overlap checks: small projection, ordered by node-role and start. */
  async function intervals() {
    const rows = await prisma.run.findMany({
      select: { nodeRoleId: true, startedAt: true, endedAt: true, status: true, worker: true },
      orderBy: [{ nodeRoleId: 'asc' }, { startedAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((r) => ({
      ...r,
      startedAt: Number(r.startedAt),
      endedAt: r.endedAt === null ? null : Number(r.endedAt),
    }));
  }

  return { list, get, intervals };
}

export function eventsRepo(prisma: Client) {
  async function append(events: NewEvent[], now: number): Promise<void> {
    if (events.length === 0) return;
    await prisma.event.createMany({
      data: events.map((e) => ({
        at: big(now),
        actor: e.actor,
        type: e.type,
        objectType: e.objectType,
        objectId: e.objectId ?? null,
        data: JSON.stringify(e.data ?? {}),
      })),
    });
  }

  /** The newest event's id; 0 when there is none. */
  async function lastId(): Promise<number> {
    const row = await prisma.event.findFirst({ select: { id: true }, orderBy: { id: 'desc' } });
    return row?.id ?? 0;
  }

  async function list(
    filter: { afterId?: number; type?: string; objectType?: string; objectId?: number } = {},
    limit = 1000,
  ): Promise<EventRecord[]> {
    const rows = await prisma.event.findMany({
      where: {
        ...(filter.afterId !== undefined ? { id: { gt: filter.afterId } } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        ...(filter.objectType ? { objectType: filter.objectType } : {}),
        ...(filter.objectId !== undefined ? { objectId: filter.objectId } : {}),
      },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(eventRecord);
  }

  return { append, list, lastId };
}
