/**
 * The ssh executor's host-key store, backed by the node's `sshHostKey` column: the fingerprint seen
 * on first contact is recorded; a different one later stops every run on that node until the key is
 * cleared (redeploying a node clears it).
 */
import type { HostKeyStore } from '../exec/ssh';
import type { Store } from '../store';

export function databaseHostKeyStore(store: Store, now: () => number): HostKeyStore {
  return {
    async get(nodeName) {
      return (await store.nodes.find(nodeName))?.sshHostKey ?? null;
    },
    async set(nodeName, fingerprint) {
      const node = await store.nodes.get(nodeName);
      await store.nodes.update(node.id, { sshHostKey: fingerprint }, now());
    },
  };
}
