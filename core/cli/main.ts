/**
 * The `anneal` command line. Commands that read or change state talk to a running server at
 * ANNEAL_URL; `server` runs one. Errors print one line, `anneal: <message>`, and exit non-zero.
 */
import { Command } from 'commander';
import { version } from '../../package.json';
import { CliError, createClient, type ApiClient } from './client';
import { registerConverge } from './commands/converge';
import { registerLab } from './commands/lab';
import { registerResourceCommands } from './commands/resources';

export function buildProgram(): Command {
  const program = new Command('anneal')
    .description('ready-state operations: walk nodes up the role graph')
    .version(version)
    .showHelpAfterError('(run with --help for usage)');
  let cached: ApiClient | undefined;
  const client = () => (cached ??= createClient());

  program
    .command('server')
    .description('run the anneal server (API + annealer) with the configuration in the environment')
    .action(async () => {
      await import('../main');
    });
  registerResourceCommands(program, client);
  registerConverge(program, client);
  registerLab(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const msg =
      err instanceof CliError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`anneal: ${msg}\n`);
    process.exitCode = 1;
  }
}
