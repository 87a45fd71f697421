/**
 * `anneal unbind DEPLOYMENT ROLE NODE [--force] [--yes]`: POST /deployments/{ref}/unbind. The role's
 * node-role on the node goes `removing` (its remove action runs once nothing that depends on it is
 * left), or is deleted at once when it never ran; with --force every one is deleted without running its
 * remove action (asks to confirm: confirm.ts). Prints which node-roles are removed, deleted or re-run;
 * `--json` prints the API's answer. ERR_NOT_BOUND when the role is not bound there.
 */
import type { Command } from 'commander';
import { seg, withFixes, type ApiClient } from '../client';
import { confirm } from '../confirm';
import { print } from '../output';
import { removalSummary, type RemovalIds } from './removal-text';

export function registerUnbind(program: Command, client: () => ApiClient): void {
  program
    .command('unbind <deployment> <role> <node>')
    .description(
      "unbind a role from a node: its node-role's remove action runs once what depends on it is gone " +
        '(`anneal converge DEPLOYMENT` follows it)',
    )
    .option('--force', 'delete the node-roles without running their remove actions (asks to confirm)')
    .option('--yes', 'confirm --force without asking (needed without a terminal)')
    .option('--json', 'print the API answer as JSON')
    .action(async (d: string, role: string, node: string, o: { force?: boolean; yes?: boolean; json?: boolean }) => {
      if (o.force)
        await confirm(
          {
            consequence: `unbinding ${role} from ${node} in ${d} with --force deletes its node-roles without running their remove actions (nothing is cleaned up on the node)`,
          },
          o.yes,
        );
      const res = await withFixes(
        client().post<RemovalIds>(`/deployments/${seg(d)}/unbind`, { role, node, ...(o.force ? { force: true } : {}) }),
        { ERR_NOT_BOUND: `see what is bound with \`anneal node-roles list --deployment ${d} --node ${node}\`` },
      );
      print(o.json, res, () =>
        process.stdout.write(
          `${d}: ${role} unbound from ${node}: ${removalSummary(res)}` +
            (res.removing?.length ? `; follow it with \`anneal converge ${d}\`` : '') +
            '\n',
        ),
      );
    });
}
