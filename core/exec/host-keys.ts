/**
 * Host key pinning for the ssh executor (trust on first use). The pool records the SHA256 fingerprint
 * of a node's host key the first time it connects, and refuses any other key afterwards with
 * ERR_SSH_HOST_KEY_CHANGED, before authenticating or running anything.
 */
import { createHash } from 'node:crypto';

/**
 * Where recorded host key fingerprints live, by node name. `get` resolves null for a node never
 * contacted (or whose key was cleared). Errors thrown here fail the connection attempt as they are
 * (an AppError such as ERR_DATABASE_UNAVAILABLE keeps its code and kind).
 */
export interface HostKeyStore {
  get(nodeName: string): Promise<string | null>;
  set(nodeName: string, fingerprint: string): Promise<void>;
}

/** An in-memory store (tests, benchmarks); `delete` clears a node's key as a redeploy would. */
export interface MemoryHostKeyStore extends HostKeyStore {
  delete(nodeName: string): void;
  entries(): Record<string, string>;
}

export function createMemoryHostKeyStore(initial: Record<string, string> = {}): MemoryHostKeyStore {
  const keys = new Map(Object.entries(initial));
  return {
    get: async (nodeName) => keys.get(nodeName) ?? null,
    set: async (nodeName, fingerprint) => {
      keys.set(nodeName, fingerprint);
    },
    delete: (nodeName) => {
      keys.delete(nodeName);
    },
    entries: () => Object.fromEntries(keys),
  };
}

/**
 * The OpenSSH-style fingerprint of a public key blob (SSH wire format): `SHA256:` + unpadded base64
 * of its SHA-256, the same string `ssh-keygen -lf` prints for the key.
 */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}
