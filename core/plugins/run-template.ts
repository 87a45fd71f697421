/**
 * Running a plugin's script template through the role's jig, for custom actions (the default apply does
 * the default apply uses it for `templates/<role>.sh.hbs`). Contract: resolves with the output when the
 * script exits 0; a non-zero exit is ERR_COMMAND_FAILED (terminal), or ERR_COMMAND_TRANSIENT (retried)
 * for an exit code listed in `transientExitCodes`, carrying the exit code and output tails; operational
 * failures (unreachable, timeout) are the executor's own errors, so the annealer retries them.
 */
import { AppError } from '../errors';
import type { Action, ExecResult, RoleContext } from './manifest';

export interface RunTemplateOptions {
  /** Template data; default the role's own (`{node, role, deployment, attribs}`). */
  data?: Record<string, unknown>;
  timeoutMs?: number;
  transientExitCodes?: readonly number[];
}

export async function runTemplate(
  ctx: RoleContext,
  template: string,
  opts: RunTemplateOptions = {},
): Promise<ExecResult> {
  const command = `bash ${template}`;
  const output = await ctx.exec.run(ctx.render(template, opts.data), {
    signal: ctx.signal,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  if (output.exitCode === 0) return { ...output, command };
  const transient = opts.transientExitCodes?.includes(output.exitCode) ?? false;
  throw new AppError(
    transient ? 'ERR_COMMAND_TRANSIENT' : 'ERR_COMMAND_FAILED',
    `${template} exited ${output.exitCode} on ${ctx.node.name}`,
    { details: { command, exitCode: output.exitCode, stdoutTail: output.stdout, stderrTail: output.stderr } },
  );
}

/** An action that runs one script template with the role's own data (e.g. a service's `remove`). */
export function scriptAction(template: string): Action {
  return async (ctx) => ({ done: true, output: await runTemplate(ctx, template) });
}
