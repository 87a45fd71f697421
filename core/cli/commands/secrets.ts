/**
 * `anneal secrets list|set|delete`: site secrets, the values blueprints name by reference
 * (`{secretRef: NAME}`). `set NAME` reads the value from stdin (never argv, which `ps` shows to every
 * user), trimming one trailing newline; nothing ever prints a value back.
 */
import type { Command } from 'commander';
import { CliError, seg, type ApiClient } from '../client';
import { isoSeconds, print, printTable } from '../output';
import { readStdin } from '../stdin';

interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export function registerSecrets(program: Command, client: () => ApiClient): void {
  const secrets = program
    .command('secrets')
    .description('site secrets that blueprints refer to by name (values are write-only)');

  secrets
    .command('list')
    .description('the site secrets: names and times, never values')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const res = await client().get<{ items: SecretInfo[] }>('/secrets');
      print(o.json, res, () =>
        printTable(
          res.items.map((s) => ({ name: s.name, created: isoSeconds(s.createdAt), updated: isoSeconds(s.updatedAt) })),
          ['name', 'created', 'updated'],
        ),
      );
    });

  secrets
    .command('set <name>')
    .description('set a site secret from stdin (e.g. `printf %s "$PW" | anneal secrets set db-password`)')
    .action(async (name: string) => {
      if (process.stdin.isTTY) process.stderr.write(`value for ${name} (end with Ctrl-D): `);
      const value = (await readStdin()).replace(/\r?\n$/, '');
      if (!value) throw new CliError(`no value for secret ${name} on stdin: pipe it in`, 'ERR_INPUT_INVALID');
      const res = await client().put<{ changed: boolean }>(`/secrets/${seg(name)}`, { value });
      process.stdout.write(`secret ${name} ${res.changed ? 'set' : 'unchanged (same value)'}\n`);
    });

  secrets
    .command('delete <name>')
    .description('delete a site secret (blueprints that refer to it no longer plan here)')
    .action(async (name: string) => {
      await client().delete(`/secrets/${seg(name)}`);
      process.stdout.write(`secret ${name} deleted\n`);
    });
}
