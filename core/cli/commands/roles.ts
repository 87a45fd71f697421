/**
 * `anneal roles list|show <name>`: the roles the loaded barclamps declare (read-only), in dependency
 * order. `--json` prints the API's answer unchanged.
 */
import type { Command } from 'commander';
import { seg, type ApiClient } from '../client';
import { print, printFields, printTable } from '../output';

type Row = Record<string, unknown>;

export function registerRoles(program: Command, client: () => ApiClient): void {
  const roles = program.command('roles').description('the roles the loaded barclamps declare');
  roles
    .command('list')
    .description('every role, each after what it requires')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const items = await client().list<Row>('/roles');
      print(o.json, { items }, () => printTable(items, ['name', 'plugin', 'jig', 'cohort', 'flags', 'requires']));
    });
  roles
    .command('show <name>')
    .description('one role: what it requires, precedes and wants, its flags and jig')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const role = await client().get<Row>(`/roles/${seg(name)}`);
      print(o.json, role, () =>
        printFields(role, ['name', 'plugin', 'description', 'jig', 'cohort', 'flags', 'requires', 'precedes', 'wants']),
      );
    });
}
