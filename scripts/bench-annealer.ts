/**
 * `npm run bench:annealer -- --nodes N[,N…] [--db sqlite|postgres] [--json] [--concurrency C] [--batch B] [--teardown]`
 *
 * Converges N nodes × 6 layers of noop node-roles with the real annealer (claims, leases, run
 * records, batched completion) on a fresh database, then measures a raw baseline in the same run: the
 * same number of single-row state updates (three per node-role: todo→transition, transition→active,
 * child blocked→todo) through the same driver, in transactions of the annealer's batch size, without
 * the annealer. Prints node-role transitions per second (a transition = one node-role reaching
 * active), the ratio to the baseline, the cost per transition relative to the smallest N, and the
 * process's peak RSS.
 *
 * `--teardown` then tears the converged work down through the lifecycle code: on a copy of the
 * converged database (taken before the raw baseline touches it), a second anneal deletes the bench
 * deployment (`lifecycle.deleteDeployment`, not forced, so every one of the N × 6 node-roles is marked
 * `removing` and claimed and completed by the annealer — the bench roles have no remove action, so each
 * completes as "nothing to remove"), timed until `settle()` returns and the deployment is gone. Its
 * baseline: the same node-roles deleted from the original database (after the converge baseline) as
 * single-row DELETEs (edges cascade), children first, in transactions of the batch size. Prints removals
 * per second and the ratio to that baseline.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { boot } from '../core/boot';
import { loadConfig } from '../core/config';
import { silentLogger } from '../core/log';
import { freshDatabase, postgresAdminUrl, type TestDatabase } from '../test/helpers/engines';
import benchBarclamp, { benchLayers } from './bench/bench-barclamp';

const tsx = path.resolve(__dirname, '../node_modules/.bin/tsx');

interface Args {
  nodes: number[];
  db: 'sqlite' | 'postgres';
  json: boolean;
  concurrency: number;
  batch: number;
  teardown: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { nodes: [1000], db: 'sqlite', json: false, concurrency: 1000, batch: 256, teardown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${a} needs a value`);
      return next;
    };
    if (a === '--nodes')
      args.nodes = v()
        .split(',')
        .map((n) => Number(n));
    else if (a === '--db') args.db = v() as Args['db'];
    else if (a === '--json') args.json = true;
    else if (a === '--concurrency') args.concurrency = Number(v());
    else if (a === '--batch') args.batch = Number(v());
    else if (a === '--teardown') args.teardown = true;
    else
      throw new Error(
        `unknown argument ${a}; usage: --nodes N[,N] [--db sqlite|postgres] [--json] [--concurrency C] [--batch B] [--teardown]`,
      );
  }
  if (args.nodes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--nodes takes positive integers, e.g. --nodes 1000,10000');
  if (!['sqlite', 'postgres'].includes(args.db)) throw new Error('--db takes sqlite or postgres');
  return args;
}

async function rawBaseline(
  engine: 'sqlite' | 'postgresql',
  url: string,
  ids: number[],
  batch: number,
): Promise<number> {
  const steps = ['transition', 'active', 'todo'];
  if (engine === 'sqlite') {
    const db = new Database(url);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const stmt = db.prepare('UPDATE "NodeRole" SET "state" = ?, "updatedAt" = ? WHERE "id" = ?');
    const t0 = performance.now();
    for (let i = 0; i < ids.length; i += batch) {
      const slice = ids.slice(i, i + batch);
      for (const state of steps) db.transaction(() => slice.forEach((id) => stmt.run(state, Date.now(), id)))();
    }
    const ms = performance.now() - t0;
    db.close();
    return ms;
  }
  const c = new Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += batch) {
    const slice = ids.slice(i, i + batch);
    for (const state of steps) {
      await c.query('BEGIN');
      for (const id of slice)
        await c.query('UPDATE "NodeRole" SET "state" = $1, "updatedAt" = $2 WHERE "id" = $3', [state, Date.now(), id]);
      await c.query('COMMIT');
    }
  }
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

/**
 * The raw baseline for teardown: `ids` (children first) deleted as single-row DELETEs through the same
 * driver, in transactions of `batch`; edges go by the foreign keys' cascade, as in the store's delete.
 */
async function rawDeletes(engine: 'sqlite' | 'postgresql', url: string, ids: number[], batch: number): Promise<number> {
  if (engine === 'sqlite') {
    const db = new Database(url);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const stmt = db.prepare('DELETE FROM "NodeRole" WHERE "id" = ?');
    const t0 = performance.now();
    for (let i = 0; i < ids.length; i += batch) {
      const slice = ids.slice(i, i + batch);
      db.transaction(() => slice.forEach((id) => stmt.run(id)))();
    }
    const ms = performance.now() - t0;
    const left = (
      db
        .prepare('SELECT count(*) AS n FROM "NodeRole" WHERE "id" IN (SELECT value FROM json_each(?))')
        .get(JSON.stringify(ids)) as { n: number }
    ).n;
    db.close();
    if (left !== 0) throw new Error(`raw deletes left ${left} node-roles`);
    return ms;
  }
  const c = new Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += batch) {
    await c.query('BEGIN');
    for (const id of ids.slice(i, i + batch)) await c.query('DELETE FROM "NodeRole" WHERE "id" = $1', [id]);
    await c.query('COMMIT');
  }
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

/**
 * A copy of a closed database, byte for byte: SQLite's file after a checkpoint, PostgreSQL's
 * `CREATE DATABASE … TEMPLATE` (no connection to the original may be open).
 */
async function copyDatabase(db: TestDatabase): Promise<TestDatabase> {
  const { engine, url } = db.target;
  if (engine === 'sqlite') {
    const src = new Database(url);
    src.pragma('wal_checkpoint(TRUNCATE)');
    src.close();
    const dir = mkdtempSync(path.join(tmpdir(), 'anneal-bench-'));
    const copy = path.join(dir, 'anneal.db');
    copyFileSync(url, copy);
    return { target: { engine, url: copy }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  // On the server freshDatabase used, through its admin URL (TEST_POSTGRES_URL); names are ours (hex).
  const source = new URL(url).pathname.slice(1);
  const name = `${source}_copy`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: postgresAdminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name} TEMPLATE ${source}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  return {
    target: { engine, url: target.toString() },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Tears the converged bench deployment down in a fresh anneal on `db`: deleteDeployment (not forced),
 * then the annealer until settled. Times both together and checks every node-role went through a
 * removal and the deployment is gone.
 */
async function teardown(db: TestDatabase, deploymentId: number, total: number, args: Args) {
  const config = { ...loadConfig({}), database: db.target, maxConcurrent: args.concurrency, leaseMs: 60_000 };
  const anneal = await boot(config, { plugins: [benchBarclamp], log: silentLogger, batchSize: args.batch });
  try {
    const { store, annealer, services } = anneal;
    const before = await store.nodeRoles.countByState({ deploymentId });
    if (before.active !== total)
      throw new Error(`expected ${total} active node-roles, found ${JSON.stringify(before)}`);
    const t0 = performance.now();
    annealer.start();
    const marked = await services.lifecycle.deleteDeployment(deploymentId, {}, 'bench');
    const markMs = performance.now() - t0;
    await annealer.settle({ timeoutMs: 3_600_000 });
    const teardownMs = performance.now() - t0;
    if (marked.removing.length !== total || marked.deleted.length !== 0)
      throw new Error(
        `expected ${total} node-roles marked removing, got ${marked.removing.length} (${marked.deleted.length} deleted at once)`,
      );
    if (annealer.stats.completed !== total)
      throw new Error(`expected the annealer to complete ${total} removals, it completed ${annealer.stats.completed}`);
    const left = await store.nodeRoles.ids({ deploymentId });
    if (left.length) throw new Error(`${left.length} node-roles left after teardown`);
    if (await store.deployments.find(deploymentId))
      throw new Error('the bench deployment is still there after teardown');
    return { removals: total, markMs, teardownMs, peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6 };
  } finally {
    // Not anneal.close(): that stops service daemons in the configured data dir, which are not the bench's.
    await anneal.annealer.stop();
    await anneal.store.close().catch(() => undefined);
  }
}

interface TeardownResult {
  removals: number;
  markMs: number;
  teardownMs: number;
  peakRssMb: number;
  rawDeleteMs: number;
  removalsPerSec: number;
  rawDeletesPerSec: number;
  ratioToRaw: number;
  usPerRemoval: number;
}

async function runOnce(n: number, args: Args) {
  const engine = args.db === 'sqlite' ? 'sqlite' : 'postgresql';
  const db = await freshDatabase(engine);
  const config = { ...loadConfig({}), database: db.target, maxConcurrent: args.concurrency, leaseMs: 60_000 };
  const seeded = JSON.parse(
    execFileSync(tsx, [path.join(__dirname, 'bench/seed.ts'), engine, db.target.url, String(n)], { encoding: 'utf8' }),
  ) as { deploymentId: number; nodeRoles: number };
  const anneal = await boot(config, { plugins: [benchBarclamp], log: silentLogger, batchSize: args.batch });
  try {
    const { store } = anneal;
    const total = seeded.nodeRoles;
    const d = { id: seeded.deploymentId };

    const annealer = anneal.annealer;
    const t0 = performance.now();
    annealer.start();
    await annealer.settle({ timeoutMs: 3_600_000 });
    const annealMs = performance.now() - t0;
    const states = await store.nodeRoles.countByState({ deploymentId: d.id });
    if (states.active !== total)
      throw new Error(`expected ${total} active node-roles, found ${JSON.stringify(states)}`);
    await annealer.stop();
    const annealPeakRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;
    const ids = await store.nodeRoles.ids({ deploymentId: d.id });
    await store.close();
    // Teardown runs on a copy of the converged database: the raw baseline below rewrites its states.
    const converged = args.teardown ? await copyDatabase(db) : null;
    const rawMs = await rawBaseline(engine, db.target.url, ids, args.batch);
    let teardownResult: TeardownResult | null = null;
    if (converged) {
      try {
        if (!args.json) process.stderr.write(`tearing down ${n} nodes (${total} node-roles) on ${args.db}…\n`);
        const t = await teardown(converged, d.id, total, args);
        // Children first, as the annealer removes them (seeded ids run up the layers on each node).
        const rawDeleteMs = await rawDeletes(
          engine,
          db.target.url,
          [...ids].sort((a, b) => b - a),
          args.batch,
        );
        teardownResult = {
          ...t,
          rawDeleteMs,
          removalsPerSec: t.removals / (t.teardownMs / 1000),
          rawDeletesPerSec: t.removals / (rawDeleteMs / 1000),
          ratioToRaw: t.teardownMs / rawDeleteMs,
          usPerRemoval: (t.teardownMs * 1000) / t.removals,
        };
      } finally {
        await converged.drop();
      }
    }
    return {
      nodes: n,
      nodeRoles: total,
      annealPeakRssMb,
      annealMs,
      rawMs,
      transitionsPerSec: total / (annealMs / 1000),
      rawUpdatesPerSec: (3 * total) / (rawMs / 1000),
      ratioToRaw: annealMs / rawMs,
      usPerTransition: (annealMs * 1000) / total,
      teardown: teardownResult,
    };
  } finally {
    await anneal.store.close().catch(() => undefined);
    await db.drop();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const results = [];
  for (const n of args.nodes) {
    if (!args.json) process.stderr.write(`converging ${n} nodes × ${benchLayers.length} layers on ${args.db}…\n`);
    results.push(await runOnce(n, args));
  }
  const base = results[0]!;
  const peakRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;
  const rows = results.map((r) => ({
    ...r,
    costVsFirst: r.usPerTransition / base.usPerTransition,
    teardown: r.teardown && { ...r.teardown, costVsFirst: r.teardown.usPerRemoval / base.teardown!.usPerRemoval },
  }));
  const bound = `${benchLayers.join(', ')} on every node (noop, no remove action: a removal completes as "nothing to remove")`;
  if (args.json) {
    console.log(
      JSON.stringify(
        {
          db: args.db,
          concurrency: args.concurrency,
          batch: args.batch,
          bound,
          peakRssMb,
          results: rows,
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`db=${args.db} concurrency=${args.concurrency} batch=${args.batch}`);
  console.log(
    'nodes   node-roles  anneal s  transitions/s  raw s   raw updates/s  anneal÷raw  µs/transition  cost vs first',
  );
  for (const r of rows) {
    console.log(
      [
        String(r.nodes).padEnd(7),
        String(r.nodeRoles).padEnd(11),
        (r.annealMs / 1000).toFixed(2).padEnd(9),
        r.transitionsPerSec.toFixed(0).padEnd(14),
        (r.rawMs / 1000).toFixed(2).padEnd(7),
        r.rawUpdatesPerSec.toFixed(0).padEnd(14),
        r.ratioToRaw.toFixed(2).padEnd(11),
        r.usPerTransition.toFixed(0).padEnd(14),
        r.costVsFirst.toFixed(2),
      ].join(' '),
    );
  }
  if (args.teardown) {
    console.log(`teardown: lifecycle.deleteDeployment (not forced) → annealer settled; bound: ${bound}`);
    console.log(
      'nodes   removals  mark s  teardown s  removals/s  raw s   raw deletes/s  teardown÷raw  µs/removal  cost vs first',
    );
    for (const r of rows) {
      const t = r.teardown!;
      console.log(
        [
          String(r.nodes).padEnd(7),
          String(t.removals).padEnd(9),
          (t.markMs / 1000).toFixed(2).padEnd(7),
          (t.teardownMs / 1000).toFixed(2).padEnd(11),
          t.removalsPerSec.toFixed(0).padEnd(11),
          (t.rawDeleteMs / 1000).toFixed(2).padEnd(7),
          t.rawDeletesPerSec.toFixed(0).padEnd(14),
          t.ratioToRaw.toFixed(2).padEnd(13),
          t.usPerRemoval.toFixed(0).padEnd(11),
          t.costVsFirst.toFixed(2),
        ].join(' '),
      );
    }
  }
  console.log(
    `peak RSS ${peakRssMb.toFixed(0)} MB (after converging: ${rows.map((r) => `${r.nodes} nodes ${r.annealPeakRssMb.toFixed(0)} MB`).join(', ')}${
      args.teardown
        ? `; after tearing down: ${rows.map((r) => `${r.nodes} nodes ${r.teardown!.peakRssMb.toFixed(0)} MB`).join(', ')}`
        : ''
    })`,
  );
}

main().catch((err) => {
  console.error(`bench:annealer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
