/**
 * Running a plugin's script template through the role's jig, for custom actions (the default apply does
 * the same for `templates/<role>.sh.hbs`). Contract: resolves with the output when the script exits 0;
 * a non-zero exit is ERR_COMMAND_FAILED (terminal) carrying the exit code and output tails; operational
 * failures (unreachable, timeout) are the executor's own errors, so the annealer retries them.
 */
import { AppError } from '../errors';
import type { Action, ExecResult, RoleContext } from './manifest';

export async function runTemplate(
  ctx: RoleContext,
  template: string,
  data?: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<ExecResult> {
  const output = await ctx.exec.run(ctx.render(template, data), { signal: ctx.signal, timeoutMs });
  if (output.exitCode === 0) return output;
  throw new AppError('ERR_COMMAND_FAILED', `${template} exited ${output.exitCode} on ${ctx.node.name}`, {
    details: { exitCode: output.exitCode, stdoutTail: output.stdout, stderrTail: output.stderr },
  });
}

/** An action that runs one script template with the role's own data (e.g. a service's `remove`). */
export function scriptAction(template: string): Action {
  return async (ctx) => ({ done: true, output: await runTemplate(ctx, template) });
}
