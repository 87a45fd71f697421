/**
 * `anneal deployments list|show|status|commit|propose|waiting`. Reads take `--json` (the API's answer
 * unchanged). `status` prints the layer cake once; `converge` (converge.ts) follows it until done.
 */
import type { Command } from 'commander';
import { seg, type ApiClient } from '../client';
import { print, printFields, printTable } from '../output';
import { layerLine, type StatusDocument } from './converge-progress';

type Client = () => ApiClient;
type Row = Record<string, unknown>;

interface Waiting {
  items: { nodeRoleId?: number; node: string; role: string; state?: string; reasons: string[] }[];
}

/** The `deployments status` text: one line per layer, then what fails. */
export function printStatus(s: StatusDocument): void {
  const width = Math.max(...s.layers.map((l) => l.length));
  process.stdout.write(
    `${s.deployment.name} (${s.deployment.state}): ${s.counts.active}/${s.total} node-roles active${s.converged ? ', converged' : ''}\n`,
  );
  for (const layer of s.layers) {
    const t = s.layerTotals[layer];
    if (t) process.stdout.write(`  ${layerLine(layer, t, width)}\n`);
  }
  for (const f of s.failing)
    process.stdout.write(`  ✗ ${f.role} on ${f.node} (node-role ${f.nodeRoleId}): ${f.error?.message ?? 'failed'}\n`);
}

export function registerDeployments(program: Command, client: Client): void {
  const deployments = program.command('deployments').description('list, inspect, commit and propose deployments');
  deployments
    .command('list')
    .description('list deployments')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const items = await client().list<Row>('/deployments');
      print(o.json, { items }, () => printTable(items, ['id', 'name', 'state', 'parentId', 'description']));
    });
  deployments
    .command('show <deployment>')
    .description('show one deployment (id or name): its roles and node-roles per state')
    .option('--json', 'print JSON')
    .action(async (d: string, o: { json?: boolean }) => {
      const res = await client().get<Row>(`/deployments/${seg(d)}`);
      print(o.json, res, () => {
        const counts = Object.entries((res.nodeRoles ?? {}) as Record<string, number>).filter(([, n]) => n > 0);
        const nodeRoles = counts.map(([state, n]) => `${n} ${state}`).join(', ') || 'none';
        printFields({ ...res, nodeRoles }, [
          'id',
          'name',
          'description',
          'state',
          'parentId',
          'system',
          'roles',
          'nodeRoles',
        ]);
      });
    });
  deployments
    .command('status <deployment>')
    .description('node-roles per layer (the layer cake) and what fails, once; `anneal converge` follows it')
    .option('--json', 'print JSON')
    .action(async (d: string, o: { json?: boolean }) => {
      const res = await client().get<StatusDocument>(`/deployments/${seg(d)}/status`);
      print(o.json, res, printStatus);
    });
  deployments
    .command('waiting <deployment>')
    .description('the watchdog: every node-role that waits, and why')
    .option('--json', 'print JSON')
    .action(async (d: string, o: { json?: boolean }) => {
      const res = await client().get<Waiting>(`/deployments/${seg(d)}/waiting`);
      print(o.json, res, () => {
        for (const w of res.items) process.stdout.write(`${w.role} on ${w.node}: ${w.reasons.join('; ')}\n`);
        if (!res.items.length) process.stdout.write(`${d}: nothing waits\n`);
      });
    });
  for (const verb of ['commit', 'propose'] as const) {
    deployments
      .command(`${verb} <deployment>`)
      .description(
        verb === 'commit'
          ? 'commit the deployment: its proposed node-roles and attribs apply, and its node-roles start running'
          : 'propose the deployment: nothing new runs until the next commit',
      )
      .option('--json', 'print the API answer as JSON')
      .action(async (d: string, o: { json?: boolean }) => {
        const res = await client().post<Row>(`/deployments/${seg(d)}/${verb}`);
        print(o.json, res, (x) => process.stdout.write(`${String(x.name ?? d)}: ${String(x.state ?? verb)}\n`));
      });
  }
}
