/**
 * Site secrets: values blueprints name by reference (`{secretRef: NAME}`). Write-only to the outside: the
 * API and CLI list names and times, never values; only the blueprints service reads values, to set the
 * secret attribs a blueprint refers to and to recognise them when it plans or exports. See docs/security.md.
 */
import type { Client } from './db';
import { big, num } from './codec';

export interface SiteSecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export function siteSecretsRepo(prisma: Client) {
  /** Sets or replaces; returns whether the value changed (a new secret counts as changed). */
  async function set(name: string, value: string, now: number): Promise<boolean> {
    const row = await prisma.siteSecret.findUnique({ where: { name } });
    if (row?.value === value) return false;
    await prisma.siteSecret.upsert({
      where: { name },
      create: { name, value, createdAt: big(now), updatedAt: big(now) },
      update: { value, updatedAt: big(now) },
    });
    return true;
  }

  /** Removes it; false when there was none. */
  async function remove(name: string): Promise<boolean> {
    return (await prisma.siteSecret.deleteMany({ where: { name } })).count > 0;
  }

  /** Names and times, sorted by name: what may be shown. */
  async function list(): Promise<SiteSecretInfo[]> {
    const rows = await prisma.siteSecret.findMany({
      select: { name: true, createdAt: true, updatedAt: true },
      orderBy: { name: 'asc' },
    });
    return rows.map((r) => ({ name: r.name, createdAt: num(r.createdAt), updatedAt: num(r.updatedAt) }));
  }

  /** Every value by name. Only for the blueprints service; never returned, logged or rendered. */
  async function values(): Promise<Map<string, string>> {
    const rows = await prisma.siteSecret.findMany({ select: { name: true, value: true } });
    return new Map(rows.map((r) => [r.name, r.value]));
  }

  return { set, remove, list, values };
}
