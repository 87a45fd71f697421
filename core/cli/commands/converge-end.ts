/**
 * When `anneal converge` (and the demo) stop following a deployment's status. Contract:
 * - converged: every node-role active (or none left), for a deployment that is not being deleted; a
 *   deployment `deleting` is done only when it is gone (its status answers ERR_DEPLOYMENT_NOT_FOUND);
 * - stuck (`isStuck`): nothing is todo, running or removing, and some node-role failed to apply (`error`)
 *   or to remove (`remove-error`): waiting longer cannot help;
 * - stalled (`createStallWatch`): as stuck, except that node-roles are still `removing` while the counts
 *   have not changed for a while. A removing node-role waits for what depends on it, which a
 *   `remove-error` can hold forever; the status cannot tell that wait from a remove action still running,
 *   so an unchanged status for `STALL_MS` counts as stuck.
 */
import type { Counts, StatusDocument } from './converge-progress';

export const STALL_MS = 5000;

/** Node-roles that failed to apply or to remove. */
export function failedCount(c: Partial<Counts>): number {
  return (c.error ?? 0) + (c['remove-error'] ?? 0);
}

/** Nothing is todo, running or removing, and something failed: waiting longer cannot help. */
export function isStuck(s: StatusDocument): boolean {
  const c = s.counts;
  return c.todo + c.transition + (c.removing ?? 0) === 0 && failedCount(c) > 0;
}

export interface StallWatch {
  /** True once nothing is todo or running, something failed, and the counts stayed the same for `ms`. */
  stalled(s: StatusDocument): boolean;
}

export function createStallWatch(ms = STALL_MS, now = () => Date.now()): StallWatch {
  let key = '';
  let since = 0;
  return {
    stalled(s) {
      const c = s.counts;
      if (c.todo + c.transition > 0 || failedCount(c) === 0) {
        key = '';
        return false;
      }
      const k = JSON.stringify([s.total, c]);
      if (k !== key) {
        key = k;
        since = now();
        return false;
      }
      return now() - since >= ms;
    },
  };
}
