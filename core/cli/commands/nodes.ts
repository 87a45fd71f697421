/**
 * `anneal nodes list|show|checks|commit|propose|redeploy|move|delete`. Reads take `--json` (the API's
 * answer unchanged); `checks` exits 1 when a check fails, printing what it saw and how to fix it.
 * `move` and `delete` (retire) are registered by nodes-lifecycle.ts.
 */
import type { Command } from 'commander';
import { seg, type ApiClient } from '../client';
import { print, printFields, printTable } from '../output';
import { registerNodesLifecycle } from './nodes-lifecycle';
import { registerNodesTags } from './nodes-tags';

type Client = () => ApiClient;
type Row = Record<string, unknown>;

interface NodeChecks {
  node: string;
  ok: boolean;
  passed: number;
  failed: number;
  checks: { role: string; name: string; ok: boolean; detail: string; remediation: string }[];
}

/** What `nodes show` prints, in this order. */
export const NODE_FIELDS = [
  'id',
  'name',
  'description',
  'deploymentId',
  'state',
  'alive',
  'available',
  'address',
  'macs',
  'bmcAddress',
  'bmcUsername',
  'bmcDriver',
  'powerState',
  'powerCheckedAt',
  'bootDevice',
  'tags',
  'createdAt',
  'updatedAt',
];

/** One line per check; a failed one is followed by what it saw and what to do. */
function printChecks(res: NodeChecks): void {
  for (const c of res.checks) {
    process.stdout.write(`${c.ok ? 'pass' : 'FAIL'}  ${c.role}: ${c.name}${c.ok ? '' : ` — ${c.detail}`}\n`);
    if (!c.ok) process.stdout.write(`      fix: ${c.remediation}\n`);
  }
  process.stdout.write(`${res.node}: ${res.passed} passed, ${res.failed} failed\n`);
}

export function registerNodes(program: Command, client: Client): void {
  const nodes = program.command('nodes').description('list, inspect, commit and check nodes');
  nodes
    .command('list')
    .description('list nodes')
    .option('--tag <tag>', 'only nodes with this tag')
    .option('--json', 'print JSON')
    .action(async (o: { tag?: string; json?: boolean }) => {
      const items = await client().list<Row>(o.tag ? `/nodes?tag=${encodeURIComponent(o.tag)}` : '/nodes');
      print(o.json, { items }, () =>
        printTable(items, ['id', 'name', 'state', 'alive', 'available', 'powerState', 'address', 'bmcAddress', 'tags']),
      );
    });
  nodes
    .command('show <node>')
    .description('show one node (id or name)')
    .option('--json', 'print JSON')
    .action(async (node: string, o: { json?: boolean }) => {
      const n = await client().get<Row>(`/nodes/${seg(node)}`);
      print(o.json, n, () => printFields(n, NODE_FIELDS));
    });
  nodes
    .command('checks <node>')
    .description("run the node's ready checks; exits 1 when one fails")
    .option('--json', 'print JSON')
    .action(async (node: string, o: { json?: boolean }) => {
      const res = await client().get<NodeChecks>(`/nodes/${seg(node)}/checks`);
      print(o.json, res, printChecks);
      if (!res.ok) process.exitCode = 1;
    });
  nodes
    .command('redeploy <node>')
    .description('install the node again (os-install and everything above it on the node run again)')
    .option('--json', 'print the API answer as JSON')
    .action(async (node: string, o: { json?: boolean }) => {
      const res = await client().post<Row>(`/nodes/${seg(node)}/redeploy`);
      print(o.json, res, () =>
        process.stdout.write(`${node}: redeploying; follow it with \`anneal node-roles list --node ${node}\`\n`),
      );
    });
  for (const verb of ['commit', 'propose'] as const) {
    nodes
      .command(`${verb} <node>`)
      .description(
        verb === 'commit'
          ? 'commit the node: its proposed node-roles and attribs apply, and its node-roles may run'
          : 'propose the node: nothing new runs on it until the next commit',
      )
      .option('--json', 'print the API answer as JSON')
      .action(async (node: string, o: { json?: boolean }) => {
        const res = await client().post<Row>(`/nodes/${seg(node)}/${verb}`);
        print(o.json, res, (n) => process.stdout.write(`${String(n.name ?? node)}: ${String(n.state ?? verb)}\n`));
      });
  }
  registerNodesLifecycle(nodes, client);
  registerNodesTags(nodes, client);
}
