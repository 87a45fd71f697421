/**
 * `anneal nodes move NODE DEPLOYMENT` and `anneal nodes delete NODE` (retire). Contract:
 * - move: POST /nodes/{ref}/move. The node's node-roles in its deployment are removed (their remove
 *   actions run; deleted at once with --force, which asks to confirm) and the roles of the new deployment
 *   are bound on it. ERR_MOVE_INVALID (a service node, a retiring node, a deployment being deleted),
 *   ERR_DEPLOYMENT_NOT_FOUND.
 * - delete: asks to confirm (type the node's name; --yes does without), then DELETE /nodes/{ref}: the
 *   node goes `retiring`; it and its records go once its node-roles are removed (at once with --force).
 * Both print which node-roles are removed, deleted or bound; `--json` prints the API's answer.
 */
import type { Command } from 'commander';
import { seg, type ApiClient } from '../client';
import { confirm } from '../confirm';
import { print } from '../output';
import { nameOf, removalSummary, type RemovalIds } from './removal-text';

type Row = Record<string, unknown>;

export function registerNodesLifecycle(nodes: Command, client: () => ApiClient): void {
  nodes
    .command('move <node> <deployment>')
    .description(
      "move a node to another deployment: its node-roles are removed (their remove actions run) and the new deployment's roles are bound on it",
    )
    .option('--force', 'delete its node-roles without running their remove actions (asks to confirm)')
    .option('--yes', 'confirm --force without asking (needed without a terminal)')
    .option('--json', 'print the API answer as JSON')
    .action(async (node: string, d: string, o: { force?: boolean; yes?: boolean; json?: boolean }) => {
      if (o.force)
        await confirm(
          {
            consequence: `moving ${node} with --force deletes its node-roles in its deployment without running their remove actions (nothing is cleaned up on the node)`,
          },
          o.yes,
        );
      const res = await client().post<RemovalIds & { node: unknown; from: unknown; to: unknown; waiting?: boolean }>(
        `/nodes/${seg(node)}/move`,
        { deployment: d, ...(o.force ? { force: true } : {}) },
      );
      print(o.json, res, () => {
        const [from, to] = [nameOf(res.from), nameOf(res.to, d)];
        const follow = [...(res.removing?.length ? [from] : []), ...(res.bound?.length || res.waiting ? [to] : [])];
        const waiting = res.waiting ? `; ${to}'s roles are bound on it once those removals finish` : '';
        process.stdout.write(
          `${nameOf(res.node, node)}: moved from ${from} to ${to}: ${removalSummary(res)}${waiting}` +
            (follow.length ? `; follow it with ${follow.map((x) => `\`anneal converge ${x}\``).join(' and ')}` : '') +
            '\n',
        );
      });
    });
  nodes
    .command('delete <node>')
    .description(
      'retire a node: its node-roles are removed (their remove actions run), then the node and its records go; asks to confirm',
    )
    .option('--force', 'delete its node-roles without running their remove actions')
    .option('--yes', 'confirm without asking (needed without a terminal)')
    .option('--json', 'print the API answer as JSON')
    .action(async (node: string, o: { force?: boolean; yes?: boolean; json?: boolean }) => {
      await confirm(
        {
          consequence: o.force
            ? `retiring node ${node} with --force deletes its node-roles without running their remove actions (nothing is cleaned up on it), then the node, and cannot be undone`
            : `retiring node ${node} removes its node-roles (their remove actions run), then the node and its records, and cannot be undone`,
          typed: node,
          typedWhat: "the node's name",
        },
        o.yes,
      );
      const res = await client().delete<RemovalIds & { node: Row }>(
        `/nodes/${seg(node)}${o.force ? '?force=true' : ''}`,
      );
      print(o.json, res, () =>
        process.stdout.write(
          `${nameOf(res.node, node)}: ${String(res.node?.state ?? 'retiring')}: ${removalSummary(res)}; ` +
            `it goes when none is left (follow it with \`anneal node-roles list --node ${node}\`)\n`,
        ),
      );
    });
}
