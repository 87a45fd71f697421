/**
 * `anneal deployments list|show|status|commit|propose|waiting|delete`. Reads take `--json` (the API's
 * answer unchanged). `status` prints the layer cake once; `converge` (converge.ts) follows it until done.
 * `delete` asks to confirm (confirm.ts), then DELETE /deployments/{ref}: the deployment goes `deleting`,
 * and it and its node-roles go once their remove actions ran (at once with --force); its nodes go back
 * to its parent.
 */
import type { Command } from 'commander';
import { seg, type ApiClient } from '../client';
import { confirm } from '../confirm';
import { print, printFields, printJson, printTable } from '../output';
import { failuresOf, type Failure } from './converge-failures';
import { layerLine, removalCounts, type StatusDocument } from './converge-progress';
import { removalSummary, type RemovalIds } from './removal-text';

type Client = () => ApiClient;
type Row = Record<string, unknown>;

interface Waiting {
  items: { nodeRoleId?: number; node: string; role: string; state?: string; reasons: string[] }[];
}

/** The `deployments status` text: one line per layer, then what fails (to apply or to remove). */
export function printStatus(s: StatusDocument, failures: Failure[]): void {
  const width = Math.max(...s.layers.map((l) => l.length));
  process.stdout.write(
    `${s.deployment.name} (${s.deployment.state}): ${s.counts.active}/${s.total} node-roles active` +
      `${removalCounts(s.counts)}${s.converged ? ', converged' : ''}\n`,
  );
  for (const layer of s.layers) {
    const t = s.layerTotals[layer];
    if (t) process.stdout.write(`  ${layerLine(layer, t, width)}\n`);
  }
  for (const f of failures)
    process.stdout.write(
      `  ✗ ${f.state === 'remove-error' ? 'remove ' : ''}${f.role} on ${f.node} (node-role ${f.nodeRoleId}): ` +
        `${f.error?.message ?? 'failed'}\n`,
    );
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
      const api = client();
      const res = await api.get<StatusDocument>(`/deployments/${seg(d)}/status`);
      if (o.json) return printJson(res);
      printStatus(res, await failuresOf(api, res));
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
  deployments
    .command('delete <deployment>')
    .description(
      'delete a deployment: its node-roles are removed from its nodes (their remove actions run), then it goes ' +
        'and its nodes return to its parent; asks to confirm',
    )
    .option('--force', 'delete its node-roles without running their remove actions')
    .option('--yes', 'confirm without asking (needed without a terminal)')
    .option('--json', 'print the API answer as JSON')
    .action(async (d: string, o: { force?: boolean; yes?: boolean; json?: boolean }) => {
      await confirm(
        {
          consequence: o.force
            ? `deleting deployment ${d} with --force deletes its node-roles without running their remove actions (nothing is cleaned up on its nodes) and cannot be undone`
            : `deleting deployment ${d} removes its node-roles from its nodes (their remove actions run), then the deployment, and cannot be undone`,
          typed: d,
          typedWhat: "the deployment's name",
        },
        o.yes,
      );
      const res = await client().delete<RemovalIds & { deployment: Row }>(
        `/deployments/${seg(d)}${o.force ? '?force=true' : ''}`,
      );
      print(o.json, res, () =>
        process.stdout.write(
          `${String(res.deployment?.name ?? d)}: ${String(res.deployment?.state ?? 'deleting')}: ${removalSummary(res)}; ` +
            `it goes when none is left (\`anneal converge ${d}\` follows it)\n`,
        ),
      );
    });
}
