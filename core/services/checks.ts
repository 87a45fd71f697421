/**
 * Ready checks of a node (DESIGN §2 "Ready"): every active node-role whose role defines a `check` runs
 * it now, on the node, read-only. The answer lists each check with pass/fail, what it saw and the
 * remediation line; `ok` is true when every check passed (a node with nothing to check is ok).
 */
import type { NodeRoleChecks } from '../annealer/run-checks';
import type { Store } from '../store';

/** The checks service stands on the annealer, which runs checks inside its per-node limit and lease. */
export interface ChecksDeps {
  store: Store;
  checkNode(nodeId: number): Promise<NodeRoleChecks[]>;
}

export interface NodeCheck {
  role: string;
  nodeRoleId: number;
  name: string;
  ok: boolean;
  detail: string;
  remediation: string;
}

export interface NodeChecks {
  node: string;
  ok: boolean;
  passed: number;
  failed: number;
  checks: NodeCheck[];
}

export function checksService(deps: ChecksDeps) {
  /** Runs the node's checks. Throws ERR_NODE_NOT_FOUND; check failures are results, not errors. */
  async function forNode(ref: number | string): Promise<NodeChecks> {
    const node = await deps.store.nodes.get(ref);
    const results = await deps.checkNode(node.id);
    const checks = results.flatMap((r) => r.checks.map((c) => ({ role: r.role, nodeRoleId: r.nodeRoleId, ...c })));
    const failed = checks.filter((c) => !c.ok).length;
    return { node: node.name, ok: failed === 0, passed: checks.length - failed, failed, checks };
  }

  return { forNode };
}
