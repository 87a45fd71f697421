/**
 * `npm run bench:annealer -- --nodes N[,N…] [--db sqlite|postgres] [--json] [--concurrency C]`
 *
 * Converges N nodes × 6 layers of noop node-roles with the real annealer (claims, leases, run
 * records, batched completion) on a fresh database, then measures a raw baseline in the same run: the
 * same number of single-row state updates (three per node-role: todo→transition, transition→active,
 * child blocked→todo) through the same driver, in transactions of the annealer's batch size, without
 * the annealer. Prints node-role transitions per second (a transition = one node-role reaching
 * active), the ratio to the baseline, the cost per transition relative to the smallest N, and the
 * process's peak RSS.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { boot } from '../core/boot';
import { loadConfig } from '../core/config';
import { silentLogger } from '../core/log';
import { freshDatabase } from '../test/helpers/engines';
import benchBarclamp, { benchLayers } from './bench/bench-barclamp';

const tsx = path.resolve(__dirname, '../node_modules/.bin/tsx');

interface Args {
  nodes: number[];
  db: 'sqlite' | 'postgres';
  json: boolean;
  concurrency: number;
  batch: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { nodes: [1000], db: 'sqlite', json: false, concurrency: 1000, batch: 256 };
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
    else
      throw new Error(
        `unknown argument ${a}; usage: --nodes N[,N] [--db sqlite|postgres] [--json] [--concurrency C] [--batch B]`,
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
    const rawMs = await rawBaseline(engine, db.target.url, ids, args.batch);
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
  const rows = results.map((r) => ({ ...r, costVsFirst: r.usPerTransition / base.usPerTransition }));
  if (args.json) {
    console.log(
      JSON.stringify(
        { db: args.db, concurrency: args.concurrency, batch: args.batch, peakRssMb, results: rows },
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
  console.log(
    `peak RSS ${peakRssMb.toFixed(0)} MB (after converging: ${rows.map((r) => `${r.nodes} nodes ${r.annealPeakRssMb.toFixed(0)} MB`).join(', ')})`,
  );
}

main().catch((err) => {
  console.error(`bench:annealer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
