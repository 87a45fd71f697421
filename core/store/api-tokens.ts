/**
 * API bearer tokens. Only the SHA-256 of a secret is stored; `findByHash` is the only lookup by secret.
 * Records never carry the hash out of the store.
 */
import type { TokenRole } from '../domain/auth';
import { notFound } from '../errors';
import type { Client } from './db';
import { big, num } from './codec';

export interface ApiTokenRecord {
  id: number;
  name: string;
  role: TokenRole;
  createdAt: number;
  createdBy: string;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

type Row = {
  id: number;
  name: string;
  role: string;
  createdAt: bigint;
  createdBy: string;
  lastUsedAt: bigint | null;
  revokedAt: bigint | null;
};

function record(r: Row): ApiTokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role as TokenRole,
    createdAt: num(r.createdAt),
    createdBy: r.createdBy,
    lastUsedAt: r.lastUsedAt === null ? null : num(r.lastUsedAt),
    revokedAt: r.revokedAt === null ? null : num(r.revokedAt),
  };
}

const visible = {
  id: true,
  name: true,
  role: true,
  createdAt: true,
  createdBy: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

export function apiTokensRepo(prisma: Client) {
  async function create(
    t: { name: string; role: TokenRole; hash: string; createdBy: string },
    now: number,
  ): Promise<ApiTokenRecord> {
    return record(await prisma.apiToken.create({ data: { ...t, createdAt: big(now) }, select: visible }));
  }

  async function find(ref: number | string): Promise<ApiTokenRecord | null> {
    const where = typeof ref === 'number' ? { id: ref } : { name: ref };
    const row = await prisma.apiToken.findUnique({ where, select: visible });
    return row ? record(row) : null;
  }

  /** Throws ERR_TOKEN_NOT_FOUND. */
  async function get(ref: number | string): Promise<ApiTokenRecord> {
    const t = await find(ref);
    if (!t) throw notFound('ERR_TOKEN_NOT_FOUND', 'token', ref);
    return t;
  }

  async function findByHash(hash: string): Promise<ApiTokenRecord | null> {
    const row = await prisma.apiToken.findUnique({ where: { hash }, select: visible });
    return row ? record(row) : null;
  }

  async function list(page = { offset: 0, limit: 1000 }): Promise<ApiTokenRecord[]> {
    const rows = await prisma.apiToken.findMany({
      select: visible,
      orderBy: { id: 'asc' },
      skip: page.offset,
      take: page.limit,
    });
    return rows.map(record);
  }

  async function count(): Promise<number> {
    return prisma.apiToken.count();
  }

  async function revoke(id: number, now: number): Promise<ApiTokenRecord> {
    await prisma.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: big(now) } });
    return get(id);
  }

  async function touch(id: number, now: number): Promise<void> {
    await prisma.apiToken.update({ where: { id }, data: { lastUsedAt: big(now) } });
  }

  return { create, find, get, findByHash, list, count, revoke, touch };
}
