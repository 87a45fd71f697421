/** What every service gets: the store, the validated registry, an injected clock, the annealer's wake-up and the power hammers. */
import type { Registry } from '../plugins/registry';
import type { PowerHammers } from './power';
import type { NodeRoleChecks } from '../annealer/run-checks';
import type { Store } from '../store';

export interface ServiceDeps {
  store: Store;
  registry: Registry;
  now(): number;
  /** Tells the annealer there may be new work (commit, retry, attrib change); a no-op without one. */
  wake(): void;
  /** Runs the ready checks of a node's active node-roles (the annealer's checkNode). */
  checkNode(nodeId: number): Promise<NodeRoleChecks[]>;
  /** anneal's managed SSH public key (authorized on every machine it installs); null without ANNEAL_SSH_KEY. */
  managedPublicKey: string | null;
  /** Power drivers, per-BMC limits and the reachability probe. */
  power: PowerHammers;
}

/** Who made a change, for the audit log. */
export type Actor = string;
