/**
 * Reachability probe: does anything accept a TCP connection at host:port within the timeout? Used by
 * the power monitor to keep a node's `alive` current (port 22: the ssh jig's way in). Never throws:
 * refused, unreachable, timed out and bad addresses all resolve `false`. Sends nothing but the TCP
 * handshake, and closes at once.
 */
import { connect } from 'node:net';

export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
