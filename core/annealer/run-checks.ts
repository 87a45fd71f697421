/**
 * Runs the ready checks of a node's node-roles (DESIGN §2 "Ready"): each role's `check` action with the
 * same context its apply gets, one node-role after another (a node runs one thing at a time), each
 * bounded by CHECK_TIMEOUT_MS. Checks never change the node. A check that throws (unreachable node,
 * timeout, bad template) is reported as one failed check named after the role, with the error's code
 * (ERR_REMOTE_TIMEOUT, ERR_ATTRIB_INVALID, the executor's own, or ERR_CHECK_FAILED for anything that is not
 * an AppError), its message and a remediation line; this function itself never throws.
 */
import { AppError } from '../errors';
import type { CheckResult } from '../plugins/manifest';
import { roleContext, type RoleContextEnv } from './role-context';
import type { JobInput } from './run-job';

export const CHECK_TIMEOUT_MS = 30_000;

export interface NodeRoleChecks {
  nodeRoleId: number;
  role: string;
  checks: CheckResult[];
}

async function runOne(job: JobInput, env: RoleContextEnv): Promise<CheckResult[]> {
  const check = job.role.spec.actions!.check!;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CHECK_TIMEOUT_MS);
  try {
    if (job.missing.length) {
      throw new AppError(
        'ERR_ATTRIB_INVALID',
        `attribs ${job.missing.join(', ')} have no value and no default; set them on the deployment, node or node-role`,
      );
    }
    const ctx = roleContext(job, env, controller.signal);
    return await Promise.race([
      check(ctx),
      new Promise<never>((_, reject) =>
        controller.signal.addEventListener('abort', () =>
          reject(new AppError('ERR_REMOTE_TIMEOUT', `the check did not finish within ${CHECK_TIMEOUT_MS} ms`)),
        ),
      ),
    ]);
  } catch (err) {
    const e =
      err instanceof AppError
        ? err
        : new AppError('ERR_CHECK_FAILED', `the check threw: ${(err as Error)?.message ?? String(err)}`, {
            cause: err,
          });
    return [
      {
        name: job.role.name,
        ok: false,
        code: e.code,
        detail: e.message,
        remediation: `fix what the message says, then run the checks again (GET /api/v2/nodes/${job.node.name}/checks)`,
      },
    ];
  } finally {
    clearTimeout(timer);
  }
}

export async function runChecks(jobs: JobInput[], env: RoleContextEnv): Promise<NodeRoleChecks[]> {
  const out: NodeRoleChecks[] = [];
  for (const job of jobs) {
    out.push({ nodeRoleId: job.claim.id, role: job.role.name, checks: await runOne(job, env) });
  }
  return out;
}
