/**
 * Mirrors the validated plugin registry into the database at boot (barclamps, roles and their
 * requires/precedes/wants edges, attrib definitions) so the API and SQL queries can see them.
 * Idempotent, and safe from several processes starting at once: the whole sync is one transaction,
 * serialized by an advisory lock on PostgreSQL (SQLite serializes writers). Roles and attribs that no
 * plugin declares any more are left in place (existing node-roles may reference them).
 */
import { atomic, type Client } from './db';
import type { Engine } from './engine';
import { big } from './codec';

type Tx = Client;
/** Arbitrary constant naming anneal's catalog-sync advisory lock on PostgreSQL. */
const catalogLockKey = 7_302_541;

export interface CatalogInput {
  plugins: readonly { name: string; kind: string; version: string; description: string }[];
  roles: readonly {
    name: string;
    plugin: string;
    description: string;
    flags: Iterable<string>;
    jig: string;
    cohort: number;
    requires: readonly string[];
    precedes: readonly string[];
    wants: readonly string[];
  }[];
  attribs: readonly {
    name: string;
    plugin: string;
    description: string;
    jsonSchema: unknown;
    hasDefault: boolean;
    default: unknown;
    secret: boolean;
  }[];
}

export interface CatalogIds {
  roleIds: Map<string, number>;
  attribIds: Map<string, number>;
}

export function catalogRepo(prisma: Client, engine: Engine) {
  async function sync(input: CatalogInput, now: number): Promise<CatalogIds> {
    return atomic(prisma, async (tx) => {
      if (engine === 'postgresql') await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${catalogLockKey})`);
      return syncIn(tx, input, now);
    });
  }

  async function syncIn(prisma: Tx, input: CatalogInput, now: number): Promise<CatalogIds> {
    const barclampIds = new Map<string, number>();
    for (const p of input.plugins) {
      const data = { kind: p.kind, version: p.version, description: p.description, updatedAt: big(now) };
      const row = await prisma.barclamp.upsert({
        where: { name: p.name },
        create: { name: p.name, ...data },
        update: data,
      });
      barclampIds.set(p.name, row.id);
    }
    const roleIds = new Map<string, number>();
    for (const r of input.roles) {
      const data = {
        description: r.description,
        barclampId: barclampIds.get(r.plugin)!,
        flags: JSON.stringify([...r.flags].sort()),
        jig: r.jig,
        cohort: r.cohort,
      };
      const row = await prisma.role.upsert({
        where: { name: r.name },
        create: { name: r.name, ...data },
        update: data,
      });
      roleIds.set(r.name, row.id);
    }
    const attribIds = new Map<string, number>();
    for (const a of input.attribs) {
      const data = {
        description: a.description,
        barclampId: barclampIds.get(a.plugin)!,
        schema: JSON.stringify(a.jsonSchema ?? {}),
        defaultValue: a.hasDefault ? JSON.stringify(a.default) : null,
        secret: a.secret,
      };
      const row = await prisma.attribDef.upsert({
        where: { name: a.name },
        create: { name: a.name, ...data },
        update: data,
      });
      attribIds.set(a.name, row.id);
    }
    const ids = [...roleIds.values()];
    await prisma.roleRequire.deleteMany({ where: { roleId: { in: ids } } });
    await prisma.rolePrecede.deleteMany({ where: { roleId: { in: ids } } });
    await prisma.roleWant.deleteMany({ where: { roleId: { in: ids } } });
    await prisma.roleRequire.createMany({
      data: input.roles.flatMap((r) =>
        r.requires.map((q) => ({ roleId: roleIds.get(r.name)!, requiredRoleId: roleIds.get(q)! })),
      ),
    });
    await prisma.rolePrecede.createMany({
      data: input.roles.flatMap((r) =>
        r.precedes.map((q) => ({ roleId: roleIds.get(r.name)!, precededRoleId: roleIds.get(q)! })),
      ),
    });
    await prisma.roleWant.createMany({
      data: input.roles.flatMap((r) =>
        r.wants.map((w) => ({ roleId: roleIds.get(r.name)!, attribId: attribIds.get(w)! })),
      ),
    });
    return { roleIds, attribIds };
  }

  async function ids(): Promise<CatalogIds> {
    // In sequence: on a transaction's client (one PostgreSQL connection) queries cannot overlap.
    const roles = await prisma.role.findMany({ select: { id: true, name: true } });
    const attribs = await prisma.attribDef.findMany({ select: { id: true, name: true } });
    return {
      roleIds: new Map(roles.map((r) => [r.name, r.id])),
      attribIds: new Map(attribs.map((a) => [a.name, a.id])),
    };
  }

  return { sync, ids };
}
