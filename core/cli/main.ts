/**
 * The `anneal` command line (docs/cli.md). Commands that read or change state talk to a running server
 * at ANNEAL_URL with ANNEAL_TOKEN; `server` runs one; `lab` works on this host. Contract:
 * - every read command takes `--json` (the API's answer unchanged on stdout), and prints aligned text
 *   without it;
 * - an error prints one line on stderr, `anneal: <message> [<CODE>]`, followed on that line by what to
 *   do when the message does not say it (401, 403), and exits 1; converge exits 2 on timeout;
 * - a destructive or irreversible change (a delete, any --force) asks to confirm on a terminal unless
 *   `--yes`; refused (no terminal and no --yes, or not confirmed) it sends nothing and exits 2 (confirm.ts);
 * - a usage error (unknown command or option, missing argument) prints commander's message in one line
 *   with a pointer to `--help` and exits 1; `--help` works on every command and exits 0.
 */
import { Command } from 'commander';
import { version } from '../../package.json';
import { CliError, createClient, type ApiClient } from './client';
import { registerAttribs } from './commands/attribs';
import { registerBlueprints } from './commands/blueprints';
import { registerConverge } from './commands/converge';
import { registerDemo } from './commands/demo';
import { registerDeployments } from './commands/deployments';
import { registerLab } from './commands/lab';
import { registerNodeRoles } from './commands/node-roles';
import { registerNodes } from './commands/nodes';
import { registerPower } from './commands/power';
import { registerRoles } from './commands/roles';
import { registerSecrets } from './commands/secrets';
import { registerTokens } from './commands/tokens';
import { registerUnbind } from './commands/unbind';

export function buildProgram(): Command {
  const program = new Command('anneal')
    .description('ready-state operations: walk nodes up the role graph')
    .version(version)
    .configureOutput({
      outputError: (str, write) =>
        write(
          `anneal: ${str
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`,
        ),
    });
  let cached: ApiClient | undefined;
  const client = () => (cached ??= createClient());

  program
    .command('server')
    .description('run the anneal server (API + annealer) with the configuration in the environment')
    .action(async () => {
      await import('../main');
    });
  registerNodes(program, client);
  registerDeployments(program, client);
  registerRoles(program, client);
  registerNodeRoles(program, client);
  registerUnbind(program, client);
  registerAttribs(program, client);
  registerPower(program, client);
  registerTokens(program, client);
  registerConverge(program, client);
  registerBlueprints(program, client);
  registerSecrets(program, client);
  registerLab(program);
  registerDemo(program);
  return program;
}

/** The one line an error prints (without `anneal: `). */
export function errorLine(err: unknown): string {
  if (err instanceof CliError) return `${err.message} [${err.code}]${err.fix ? ` — ${err.fix}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`anneal: ${errorLine(err)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
