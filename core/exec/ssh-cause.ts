/**
 * Why an SSH connection to a node failed, in words an operator can act on: a pure function of the
 * socket or ssh2 error. Every connection failure it describes is operational (the annealer retries it
 * with backoff, then stops with the reason and the hint).
 */

export interface ConnectCause {
  /** What happened, without the node's name: `refused the connection (ECONNREFUSED)`. */
  reason: string;
  /** What to check before retrying: `check that sshd runs on the node`. */
  hint: string;
}

const network = 'check that the node is powered on and its network link is up';

/**
 * Reads the error of a failed connect or of a connection that died: Node's socket codes (ECONNREFUSED,
 * EHOSTUNREACH, …) and ssh2's timeouts (`Timed out while waiting for handshake`, `Keepalive timeout`).
 * `connectTimeoutMs` is the limit that applied, for the timeout wording. Unknown errors keep their text.
 */
export function connectCause(err: unknown, connectTimeoutMs: number): ConnectCause {
  const e = err as { code?: unknown; message?: unknown; level?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return { reason: 'refused the connection (ECONNREFUSED)', hint: 'check that sshd runs on the node' };
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return { reason: `found no route to the node (${code})`, hint: network };
    case 'ENETUNREACH':
      return { reason: 'found no route to the node’s network (ENETUNREACH)', hint: network };
    case 'ETIMEDOUT':
      return { reason: 'got no answer: the TCP connect timed out (ETIMEDOUT)', hint: network };
    case 'ECONNRESET':
    case 'EPIPE':
      return { reason: `had the connection reset (${code})`, hint: 'check sshd and the network of the node' };
  }
  if (/timed out while waiting for handshake/i.test(message)) {
    return { reason: `got no answer within ${connectTimeoutMs} ms (connect timed out)`, hint: network };
  }
  if (/keepalive timeout/i.test(message)) {
    return { reason: 'stopped answering (ssh keepalive timed out)', hint: network };
  }
  return {
    reason: code && !message.includes(code) ? `failed: ${code}: ${message}` : `failed: ${message}`,
    hint: network,
  };
}
