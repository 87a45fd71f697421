/** Read and change commands for nodes, deployments and node-roles, over the API. */
import type { Command } from 'commander';
import type { ApiClient } from '../client';
import { printJson, printTable } from '../output';

interface List<T> {
  items: T[];
}

export function registerResourceCommands(program: Command, client: () => ApiClient): void {
  const nodes = program.command('nodes').description('list and inspect nodes');
  nodes
    .command('list')
    .description('list nodes')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const res = await client().get<List<Record<string, unknown>>>('/nodes?limit=1000');
      if (o.json) printJson(res);
      else printTable(res.items, ['id', 'name', 'alive', 'available', 'state', 'bmcAddress']);
    });
  nodes
    .command('show <node>')
    .description('show one node (id or name)')
    .action(async (node: string) => printJson(await client().get(`/nodes/${encodeURIComponent(node)}`)));
  for (const verb of ['commit', 'propose'] as const) {
    nodes
      .command(`${verb} <node>`)
      .description(verb === 'commit' ? 'commit the node (its node-roles may run)' : 'pause the node')
      .action(async (node: string) => printJson(await client().post(`/nodes/${encodeURIComponent(node)}/${verb}`)));
  }

  const deployments = program.command('deployments').description('list, inspect, commit and propose deployments');
  deployments
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const res = await client().get<List<Record<string, unknown>>>('/deployments?limit=1000');
      if (o.json) printJson(res);
      else printTable(res.items, ['id', 'name', 'state', 'parentId', 'description']);
    });
  deployments
    .command('show <deployment>')
    .action(async (d: string) => printJson(await client().get(`/deployments/${encodeURIComponent(d)}`)));
  for (const verb of ['commit', 'propose'] as const) {
    deployments
      .command(`${verb} <deployment>`)
      .description(verb === 'commit' ? 'commit the deployment: its node-roles start running' : 'pause the deployment')
      .action(async (d: string) => printJson(await client().post(`/deployments/${encodeURIComponent(d)}/${verb}`)));
  }

  program
    .command('node-roles')
    .description('list node-roles')
    .option('--deployment <deployment>')
    .option('--node <node>')
    .option('--state <state>')
    .option('--json', 'print JSON')
    .action(async (o: { deployment?: string; node?: string; state?: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: '1000' });
      for (const k of ['deployment', 'node', 'state'] as const) if (o[k]) q.set(k, o[k]!);
      const res = await client().get<List<Record<string, unknown>>>(`/node-roles?${q}`);
      if (o.json) printJson(res);
      else printTable(res.items, ['id', 'node', 'role', 'state', 'attempts', 'runCount']);
    });
}
