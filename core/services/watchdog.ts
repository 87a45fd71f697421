/**
 * Why node-roles wait: every todo or blocked node-role of a scope with the reasons it is not running
 * and what to do. The annealer logs the same explanations for node-roles that wait too long.
 */
import { explainWaiting } from '../domain/watchdog';
import type { ServiceDeps } from './deps';

export interface WaitingNodeRole {
  nodeRoleId: number;
  node: string;
  role: string;
  state: 'todo' | 'blocked';
  reasons: string[];
}

export function watchdogService(deps: ServiceDeps) {
  async function waiting(
    filter: { deploymentId?: number; nodeId?: number } = {},
    limit = 1000,
  ): Promise<WaitingNodeRole[]> {
    const now = deps.now();
    const facts = await deps.store.watchdog.waiting(filter, limit);
    return facts.map((f) => ({
      nodeRoleId: f.id,
      node: f.node,
      role: f.role,
      state: f.state,
      reasons: explainWaiting(f, now),
    }));
  }
  return { waiting };
}
