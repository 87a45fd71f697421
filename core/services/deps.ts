/** What every service gets: the store, the validated registry, an injected clock and the annealer's wake-up. */
import type { Registry } from '../plugins/registry';
import type { Store } from '../store';

export interface ServiceDeps {
  store: Store;
  registry: Registry;
  now(): number;
  /** Tells the annealer there may be new work (commit, retry, attrib change); a no-op without one. */
  wake(): void;
}

/** Who made a change, for the audit log. */
export type Actor = string;
