/**
 * Runs one claimed node-role and turns what happened into a Completion for the queue. Never throws:
 * every error becomes a recorded outcome (a thrown non-AppError is an unexpected error, like a
 * recovered panic). An apply claim runs `actions.apply` (destructive roles that already ran once succeed
 * without running again, unless a forced re-run reset their runs); a remove claim runs `actions.remove`
 * (none: `removed`, "nothing to remove"), with the same retry policy. A failed run's recorded message is
 * failureMessage's operator line (node, role, cause, attempts, next step).
 */
import { AppError, toAppError } from '../errors';
import { redactAttribs } from '../domain/attribs';
import type { NodeView } from '../plugins/manifest';
import type { LoadedRole } from '../plugins/registry';
import type { ClaimedNodeRole, Completion, RunFinish } from '../store/queue';
import { decideOutcome, type JobResult, type RetryPolicy } from './outcome';
import { defaultApply } from './jigs';
import { failureMessage } from './failure-message';
import { roleContext, type RoleContextEnv } from './role-context';

export interface JobInput {
  claim: ClaimedNodeRole;
  role: LoadedRole;
  node: NodeView;
  deployment: string;
  attribs: Record<string, unknown>;
  missing: string[];
  /** The claim's generation (also on `claim`), for the action's context. */
  generation: number;
  /** The node-role's wall as of the claim; `{}` for roles whose apply is the default (never read). */
  wall: Record<string, unknown>;
}

export interface JobEnv extends RoleContextEnv {
  random(): number;
  retry: RetryPolicy;
  /** Aborted when the annealer stops. */
  shutdown: AbortSignal;
}

/** Where a role's scripts run, appended to the recorded command. */
function where(role: LoadedRole, node: NodeView): string {
  if (role.jig === 'ssh') return ` on ${node.address ?? node.name} over ssh`;
  return role.jig === 'local' ? ' on the admin host' : '';
}

function finish(
  status: RunFinish['status'],
  inputs: string,
  out?: { exitCode: number; stdout: string; stderr: string; command?: string },
  error?: AppError,
  at = '',
): RunFinish {
  const details = (error?.details ?? {}) as {
    exitCode?: number;
    stdoutTail?: string;
    stderrTail?: string;
    command?: string;
  };
  const command = out?.command ?? details.command;
  return {
    status,
    exitCode: out?.exitCode ?? details.exitCode ?? null,
    stdoutTail: out?.stdout ?? details.stdoutTail ?? '',
    stderrTail: out?.stderr ?? details.stderrTail ?? '',
    command: command ? command + at : null,
    inputs,
    error: error ? JSON.stringify({ code: error.code, kind: error.kind, message: error.message }) : null,
  };
}

export async function runJob(job: JobInput, env: JobEnv): Promise<Completion> {
  const { claim, role, node } = job;
  const inputs = JSON.stringify({
    attribs: redactAttribs(job.attribs, (n) => env.registry.attribs.get(n)?.secret ?? false),
  });
  if (claim.remove && !role.spec.actions?.remove) {
    // The role declares nothing to undo on the node (`noRemove`): the record simply goes.
    return { kind: 'removed', claim, run: { ...finish('succeeded', inputs), stdoutTail: 'nothing to remove' } };
  }
  if (!claim.remove && role.flags.has('destructive') && claim.runCount > 0) {
    return {
      kind: 'active',
      claim,
      run: { ...finish('succeeded', inputs), stdoutTail: 'destructive role already ran; not run again' },
    };
  }
  // NOTE: AbortSignal.timeout() keeps its timer (and through it the whole job) alive until it fires,
  // 10 minutes by default; measured as the annealer's main memory growth. This timer is cleared.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, role.timeoutMs);
  const onShutdown = () => controller.abort();
  env.shutdown.addEventListener('abort', onShutdown, { once: true });
  const signal = controller.signal;
  let result: JobResult;
  let run: RunFinish;
  let failure: AppError | null = null;
  let wall: Record<string, unknown> | undefined;
  try {
    if (job.missing.length) {
      throw new AppError(
        'ERR_ATTRIB_INVALID',
        `attribs ${job.missing.join(', ')} have no value and no default; set them on the deployment, node or node-role`,
      );
    }
    const ctx = roleContext(job, env, signal);
    const action = claim.remove ? role.spec.actions!.remove! : (role.spec.actions?.apply ?? defaultApply(role));
    const out = await Promise.race([
      action(ctx),
      new Promise<never>((_, reject) =>
        signal.addEventListener(
          'abort',
          () =>
            reject(
              timedOut
                ? new AppError('ERR_REMOTE_TIMEOUT', `${role.name} timed out after ${role.timeoutMs} ms`, {
                    details: {
                      reason: `the action did not finish within the role's timeout (${role.timeoutMs} ms)`,
                      hint: "check why it hangs on the node, or raise the role's timeoutMs",
                    },
                  })
                : new AppError('ERR_REMOTE_TIMEOUT', 'annealer stopping'),
            ),
          { once: true },
        ),
      ),
    ]);
    if (out.done) {
      result = { kind: 'done' };
      run = finish('succeeded', inputs, out.output, undefined, where(role, node));
      wall = out.wall;
    } else {
      result = { kind: 'not-yet', requeueAfterMs: out.requeueAfterMs, reason: out.reason };
      wall = out.wall;
      run = { ...finish('requeued', inputs), stdoutTail: `not yet: ${out.reason}` };
    }
  } catch (err) {
    const e = toAppError(err);
    if (e.code === 'ERR_INTERNAL')
      env.log.error({ err, node: node.name, role: role.name }, 'action threw an unexpected error');
    result = { kind: 'failed', errorKind: e.kind };
    run = finish('failed', inputs, undefined, e, where(role, node));
    failure = e;
  } finally {
    clearTimeout(timer);
    env.shutdown.removeEventListener('abort', onShutdown);
  }
  const now = env.now();
  const decision = decideOutcome(result, claim.attempts, now, env.retry, env.random());
  if (failure) {
    // The recorded message is the operator's line: node, role, cause, and what happens next.
    const message = failureMessage({
      node: node.name,
      role: role.name,
      error: failure,
      attempts: decision.attempts,
      maxAttempts: env.retry.maxAttempts,
      retryInMs: decision.state === 'todo' ? decision.nextRunAt - now : null,
    });
    run = { ...run, error: JSON.stringify({ code: failure.code, kind: failure.kind, message }) };
  }
  if (decision.state === 'active' && claim.remove) return { kind: 'removed', claim, run };
  if (decision.state === 'active') return { kind: 'active', claim, run, ...(wall ? { wall } : {}) };
  if (decision.state === 'todo')
    return {
      kind: 'requeue',
      claim,
      run,
      nextRunAt: decision.nextRunAt,
      attempts: decision.attempts,
      ...(wall ? { wall } : {}),
    };
  return { kind: 'error', claim, run, attempts: decision.attempts };
}
