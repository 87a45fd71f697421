/**
 * `npm run bench:blueprints -- --nodes N[,N…] [--db sqlite|postgres] [--json]`
 *
 * Plans and applies a blueprint over N simulated nodes (the bench barclamp's noop roles) on a fresh
 * database. The site: N committed nodes in `system`, tagged `bench`, each with the first three bench
 * layers bound there (standing in for ready state). The blueprint: deployment `bench` with one group of
 * count N selecting tag `bench` and binding `layer-6` — so apply moves N nodes in and binds layers 4–6 on
 * each (3 × N node-roles, each layer-4 linked to the node's layer-3 in `system`) and commits.
 *
 * Timed (service calls, no HTTP; the annealer does not run): `plan` (reading the site, placement, the
 * binding simulation, the impacted set, the fingerprint), `apply` (the same plan again inside the
 * transaction plus every write and the commit), and `plan` again (must report 0 changes). Baseline, SQLite
 * only, in the same run: the same node-roles and edges inserted with better-sqlite3 prepared statements in
 * one transaction into a copy of the database taken before apply. Prints times, the apply/baseline ratio,
 * plan growth relative to the smallest N, and the peak RSS.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { boot } from '../core/boot';
import { loadConfig } from '../core/config';
import { silentLogger } from '../core/log';
import { freshDatabase } from '../test/helpers/engines';
import benchBarclamp, { benchLayers } from './bench/bench-barclamp';

interface Args {
  nodes: number[];
  db: 'sqlite' | 'postgres';
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { nodes: [1000, 10000], db: 'sqlite', json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${a} needs a value`);
      return next;
    };
    if (a === '--nodes') args.nodes = v().split(',').map(Number);
    else if (a === '--db') args.db = v() as Args['db'];
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a}; usage: --nodes N[,N] [--db sqlite|postgres] [--json]`);
  }
  if (args.nodes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--nodes takes positive integers');
  if (!['sqlite', 'postgres'].includes(args.db)) throw new Error('--db takes sqlite or postgres');
  return args;
}

const READY_LAYERS = 3;

interface Result {
  nodes: number;
  planMs: number;
  applyMs: number;
  replanMs: number;
  nodeRolesBound: number;
  baselineMs: number | null;
  peakRssMb: number;
}

/** The same rows apply wrote (node-roles of `deploymentId`, their edges), inserted raw into a copy. */
function rawBaseline(copy: string, source: string, deploymentId: number): number {
  const src = new Database(source, { readonly: true });
  const rows = src
    .prepare('SELECT "id","roleId","nodeId","cohort" FROM "NodeRole" WHERE "deploymentId" = ? ORDER BY "id"')
    .all(deploymentId) as { id: number; roleId: number; nodeId: number; cohort: number }[];
  const edges = src
    .prepare(
      'SELECT e."parentId", e."childId", e."soft" FROM "NodeRoleEdge" e JOIN "NodeRole" c ON c."id" = e."childId" WHERE c."deploymentId" = ?',
    )
    .all(deploymentId) as { parentId: number; childId: number; soft: number }[];
  src.close();
  const db = new Database(copy);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // The copy predates the deployment apply created: the rows go in without their foreign keys checked.
  db.pragma('foreign_keys = OFF');
  const insertRole = db.prepare(
    'INSERT INTO "NodeRole" ("id","deploymentId","roleId","nodeId","cohort","state","updatedAt") VALUES (?,?,?,?,?,\'proposed\',?)',
  );
  const insertEdge = db.prepare('INSERT INTO "NodeRoleEdge" ("parentId","childId","soft") VALUES (?,?,?)');
  const t0 = performance.now();
  db.transaction(() => {
    for (const r of rows) insertRole.run(r.id, deploymentId, r.roleId, r.nodeId, r.cohort, Date.now());
    for (const e of edges) insertEdge.run(e.parentId, e.childId, e.soft);
  })();
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

async function run(n: number, engine: 'sqlite' | 'postgresql'): Promise<Result> {
  const db = await freshDatabase(engine);
  const anneal = await boot(
    { ...loadConfig({}), database: db.target },
    { plugins: [benchBarclamp], log: silentLogger },
  );
  const tmp = mkdtempSync(path.join(tmpdir(), 'anneal-bench-bp-'));
  try {
    const { store, services } = anneal;
    const system = await services.inventory.ensureSystem('bench');
    const names = Array.from({ length: n }, (_, i) => `node-${String(i).padStart(6, '0')}.bench.lab`);
    const nodeIds = await store.seed.nodes(system.id, names, Date.now(), ['bench']);
    const { roleIds } = await store.catalog.ids();
    await store.seed.chains(
      system.id,
      benchLayers.slice(0, READY_LAYERS).map((l) => roleIds.get(l)!),
      nodeIds,
      Date.now(),
    );
    const blueprint = {
      apiVersion: 'anneal/v1',
      kind: 'Blueprint',
      metadata: { name: 'bench' },
      spec: {
        deployment: { name: 'bench', parent: 'system' },
        groups: [{ name: 'all', count: n, select: { tags: ['bench'] }, roles: [benchLayers.at(-1)!] }],
      },
    };
    let t = performance.now();
    const planned = await services.blueprints.plan({ blueprint });
    const planMs = performance.now() - t;
    if (planned.plan.bind.length !== n * (benchLayers.length - READY_LAYERS))
      throw new Error(`plan binds ${planned.plan.bind.length}, expected ${n * (benchLayers.length - READY_LAYERS)}`);
    const copy = path.join(tmp, 'before-apply.db');
    if (engine === 'sqlite') copyFileSync(db.target.url, copy);
    t = performance.now();
    const applied = await services.blueprints.apply(
      { blueprint: planned.blueprint, fingerprint: planned.fingerprint },
      'bench',
    );
    const applyMs = performance.now() - t;
    if (!applied.applied) throw new Error('apply applied nothing');
    t = performance.now();
    const again = await services.blueprints.plan({ blueprint });
    const replanMs = performance.now() - t;
    if (again.plan.changes !== 0) throw new Error(`re-plan reports ${again.plan.changes} changes, expected 0`);
    const d = await store.deployments.get('bench');
    const bound = await store.nodeRoles.count({ deploymentId: d.id });
    const baselineMs = engine === 'sqlite' ? rawBaseline(copy, db.target.url, d.id) : null;
    return {
      nodes: n,
      planMs,
      applyMs,
      replanMs,
      nodeRolesBound: bound,
      baselineMs,
      peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
    };
  } finally {
    await anneal.close();
    await db.drop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const engine = args.db === 'postgres' ? 'postgresql' : 'sqlite';
  const results: Result[] = [];
  for (const n of args.nodes) results.push(await run(n, engine));
  if (args.json) {
    process.stdout.write(JSON.stringify({ engine, results }, null, 2) + '\n');
    return;
  }
  const base = results[0]!;
  process.stdout.write(`bench:blueprints on ${engine} (plan and apply of one group over N nodes, layers 4–6 each)\n`);
  for (const r of results) {
    const growth = (r.planMs / base.planMs).toFixed(1);
    process.stdout.write(
      `N=${r.nodes}: plan ${r.planMs.toFixed(0)} ms, apply ${r.applyMs.toFixed(0)} ms ` +
        `(${r.nodeRolesBound} node-roles bound, ${((r.nodeRolesBound / r.applyMs) * 1000).toFixed(0)}/s), ` +
        `re-plan ${r.replanMs.toFixed(0)} ms (0 changes); ` +
        (r.baselineMs !== null
          ? `raw inserts ${r.baselineMs.toFixed(0)} ms (apply = ${(r.applyMs / r.baselineMs).toFixed(1)}× raw); `
          : '') +
        `plan growth vs N=${base.nodes}: ${growth}× for ${(r.nodes / base.nodes).toFixed(0)}× the nodes; ` +
        `peak RSS ${r.peakRssMb.toFixed(0)} MB\n`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
