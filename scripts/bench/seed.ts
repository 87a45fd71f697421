/**
 * Seeds a benchmark database in its own process, so the measuring process's peak RSS reflects the
 * annealer rather than the bulk inserts. Usage: tsx scripts/bench/seed.ts <sqlite|postgresql> <url> <nodes>
 */
import { boot } from '../../core/boot';
import { loadConfig } from '../../core/config';
import { silentLogger } from '../../core/log';
import benchBarclamp, { benchLayers } from './bench-barclamp';

async function main() {
  const [engine, url, nodes] = process.argv.slice(2);
  const n = Number(nodes);
  const anneal = await boot(
    { ...loadConfig({}), database: { engine: engine as 'sqlite' | 'postgresql', url: url! } },
    { plugins: [benchBarclamp], log: silentLogger },
  );
  const { store, services } = anneal;
  const d = await services.inventory.createDeployment({ name: 'bench' }, 'bench');
  const names = Array.from({ length: n }, (_, i) => `node-${String(i).padStart(6, '0')}.bench.lab`);
  const nodeIds = await store.seed.nodes(d.id, names, Date.now());
  const { roleIds } = await store.catalog.ids();
  const total = await store.seed.chains(
    d.id,
    benchLayers.map((l) => roleIds.get(l)!),
    nodeIds,
    Date.now(),
  );
  await store.deployments.setState(d.id, 'committed', Date.now());
  await anneal.close();
  process.stdout.write(JSON.stringify({ deploymentId: d.id, nodeRoles: total }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
