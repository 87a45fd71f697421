/**
 * Jigs: how a role's action executes. `noop` has no executor (an apply that tries to run a script
 * fails with ERR_JIG_UNKNOWN), `local` runs scripts on the admin host, `ssh` on the node at its
 * management address through the pooled ssh executor (available when an SSH key is configured).
 * The default apply of a local/ssh role renders templates/<role>.sh.hbs and runs it; a non-zero exit
 * is ERR_COMMAND_FAILED (terminal) unless the role lists the code as transient (ERR_COMMAND_TRANSIENT).
 */
import { AppError } from '../errors';
import { createLocalExecutor } from '../exec/local';
import type { SshPool } from '../exec/ssh';
import type { Action, ActionResult, Executor, NodeView, RoleContext } from '../plugins/manifest';
import { runTemplate } from '../plugins/run-template';
import type { LoadedRole } from '../plugins/registry';
import type { JigName } from '../domain/vocabulary';

const noopExecutor: Executor = {
  run: () =>
    Promise.reject(
      new AppError('ERR_JIG_UNKNOWN', 'the noop jig cannot run scripts; give the role jig "local" or "ssh"'),
    ),
};

/** Returns the executor a role's jig uses on a node, or throws ERR_JIG_UNKNOWN saying what is missing. */
export type Jigs = (jig: JigName, node: NodeView) => Executor;

export function createJigs(opts: { localEnv?: Record<string, string | undefined>; ssh?: SshPool | null } = {}): Jigs {
  const local = createLocalExecutor(opts.localEnv);
  return (jig, node) => {
    if (jig === 'noop') return noopExecutor;
    if (jig === 'local') return local;
    if (!opts.ssh) {
      throw new AppError(
        'ERR_JIG_UNKNOWN',
        'the ssh jig needs a key: set ANNEAL_SSH_KEY to the private key file anneal uses to reach nodes',
      );
    }
    if (!node.address) {
      throw new AppError(
        'ERR_JIG_UNKNOWN',
        `node ${node.name} has no management address: set its address so the ssh jig can reach it`,
      );
    }
    return opts.ssh.executor({ host: node.address, port: 22, nodeName: node.name });
  };
}

export function defaultApply(role: LoadedRole): Action {
  if (role.jig === 'noop' || !role.scriptTemplate) return async () => ({ done: true });
  const template = role.scriptTemplate;
  const opts = { timeoutMs: role.timeoutMs, transientExitCodes: role.transientExitCodes };
  return async (ctx: RoleContext): Promise<ActionResult> => ({
    done: true,
    output: await runTemplate(ctx, template, opts),
  });
}
