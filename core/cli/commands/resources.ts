/** Read and change commands for nodes, deployments and node-roles, over the API. */
import type { Command } from 'commander';
import type { ApiClient } from '../client';
import { printJson, printTable } from '../output';

interface List<T> {
  items: T[];
}

interface NodeChecks {
  node: string;
  ok: boolean;
  passed: number;
  failed: number;
  checks: { role: string; name: string; ok: boolean; detail: string; remediation: string }[];
}

/** One line per check; a failed one is followed by what it saw and what to do. */
function printChecks(res: NodeChecks): void {
  for (const c of res.checks) {
    process.stdout.write(`${c.ok ? 'pass' : 'FAIL'}  ${c.role}: ${c.name}${c.ok ? '' : ` — ${c.detail}`}\n`);
    if (!c.ok) process.stdout.write(`      fix: ${c.remediation}\n`);
  }
  process.stdout.write(`${res.node}: ${res.passed} passed, ${res.failed} failed\n`);
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
  nodes
    .command('checks <node>')
    .description("run the node's ready checks; exits 1 when one fails")
    .option('--json', 'print JSON')
    .action(async (node: string, o: { json?: boolean }) => {
      const res = await client().get<NodeChecks>(`/nodes/${encodeURIComponent(node)}/checks`);
      if (o.json) printJson(res);
      else printChecks(res);
      if (!res.ok) process.exitCode = 1;
    });
  nodes
    .command('redeploy <node>')
    .description('install the node again (os-install and everything above it on the node run again)')
    .action(async (node: string) => printJson(await client().post(`/nodes/${encodeURIComponent(node)}/redeploy`)));
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
