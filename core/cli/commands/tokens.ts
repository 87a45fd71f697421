/**
 * `anneal tokens list|create|revoke` (admin tokens only) and `anneal whoami` (any token). A created
 * token's secret is shown once: alone on its stdout line (so `$(anneal tokens create …)` captures just
 * it), with a note on stderr that it will not be shown again; `--json` prints the record with `token`.
 * The server keeps only a hash of it.
 */
import type { Command } from 'commander';
import { CliError, seg, type ApiClient } from '../client';
import { print, printFields, printTable } from '../output';

type Client = () => ApiClient;

interface TokenRecord {
  id: number;
  name: string;
  role: string;
  createdAt: unknown;
  lastUsedAt: unknown;
  revokedAt: unknown;
  createdBy: string | null;
  token?: string;
}

export const TOKEN_ROLES = ['admin', 'operator', 'read-only'] as const;

export function registerTokens(program: Command, client: Client): void {
  const tokens = program.command('tokens').description('API tokens (admin): list, create, revoke');
  tokens
    .command('list')
    .description('every token, revoked ones too (never the secrets)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const items = await client().list<TokenRecord>('/tokens');
      print(o.json, { items }, () =>
        printTable(items as unknown as Record<string, unknown>[], [
          'id',
          'name',
          'role',
          'createdBy',
          'createdAt',
          'lastUsedAt',
          'revokedAt',
        ]),
      );
    });
  tokens
    .command('create <name>')
    .description('create a token and print its secret once (admin | operator | read-only)')
    .requiredOption('--role <role>', 'admin | operator | read-only')
    .option('--json', 'print the record with its secret as JSON')
    .action(async (name: string, o: { role: string; json?: boolean }) => {
      if (!(TOKEN_ROLES as readonly string[]).includes(o.role))
        throw new CliError(`--role is one of ${TOKEN_ROLES.join(', ')}, not "${o.role}"`, 'ERR_INPUT_INVALID');
      const t = await client().post<TokenRecord>('/tokens', { name, role: o.role });
      print(o.json, t, () => process.stdout.write(`${t.token}\n`));
      process.stderr.write(
        `token ${t.name} (${t.role}, id ${t.id}) created: keep it now, it will not be shown again (use it as ANNEAL_TOKEN)\n`,
      );
    });
  tokens
    .command('revoke <token>')
    .description('revoke a token by id or name: it stops working at once')
    .option('--json', 'print the API answer as JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      const t = await client().delete<TokenRecord>(`/tokens/${seg(ref)}`);
      print(o.json, t, () => process.stdout.write(`token ${t.name} (${t.role}, id ${t.id}) revoked\n`));
    });
  program
    .command('whoami')
    .description("the calling token's name and role")
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const me = await client().get<{ name: string; role: string }>('/whoami');
      print(o.json, me, () => printFields(me, ['name', 'role']));
    });
}
