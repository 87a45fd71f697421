/**
 * One open SSH connection to one node (node-ssh for the handshake, its ssh2 client for channels),
 * with host key pinning, a persistent SFTP session, and limits on concurrent channels. Connection
 * failures are classified into AppErrors here: unreachable, authentication, host key changed.
 */
import { EventEmitter } from 'node:events';
import { NodeSSH } from 'node-ssh';
import { AppError, toAppError } from '../errors';
import type { Logger } from '../log';
import { hostKeyFingerprint, type HostKeyStore } from './host-keys';
import { connectCause } from './ssh-cause';

/** Where a node's sshd listens; `nodeName` selects the pinned host key. */
export interface SshTarget {
  host: string;
  port?: number;
  nodeName: string;
}

export type SshLogger = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface ConnectOptions {
  username: string;
  privateKey: string;
  connectTimeoutMs: number;
  keepaliveMs: number;
  /** Channels one connection may have open at once: sshd's MaxSessions (default 10). */
  maxSessions: number;
  hostKeys: HostKeyStore;
  log: SshLogger;
}

// Minimal shapes of the ssh2 objects used (node-ssh exposes its ssh2 client; ssh2 ships no types here).
export interface Channel extends EventEmitter {
  stderr: EventEmitter;
  end(data?: string | Buffer): void;
  close(): void;
}
/** How a remote command ended, as sshd reported it: `exit-status` (code) or `exit-signal` (e.g. KILL). */
export interface ChannelExit {
  code: number | null;
  signal: string | null;
}
/** An exec channel; `exitedWith` is set the moment ssh2 parses the command's exit, null until then. */
export interface ExecChannel extends Channel {
  readonly exitedWith: ChannelExit | null;
}
export interface Sftp extends EventEmitter {
  writeFile(path: string, data: Buffer, opts: { flag: string; mode: number }, cb: (err?: Error) => void): void;
  chmod(path: string, mode: number, cb: (err?: Error) => void): void;
  unlink(path: string, cb: (err?: Error) => void): void;
  rename(from: string, to: string, cb: (err?: Error) => void): void;
  ext_openssh_rename(from: string, to: string, cb: (err?: Error) => void): void;
  end(): void;
  _extensions?: Record<string, string>;
}
interface Ssh2Client extends EventEmitter {
  exec(command: string, cb: (err: Error | undefined, channel: Channel) => void): void;
  sftp(cb: (err: Error | undefined, sftp: Sftp) => void): void;
  setNoDelay(noDelay: boolean): void;
  end(): void;
}

/** A counting semaphore; a waiter whose signal aborts leaves the queue. */
export class Slots {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.free > 0) {
      this.free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiters = this.waiters.filter((w) => w !== grant);
          reject(signal!.reason);
        };
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(grant);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    };
  }
}

export interface SshConnection {
  readonly target: Required<SshTarget>;
  readonly closed: boolean;
  /** Script runs (sessions minus one for SFTP and one kept free for killing a run). */
  readonly runSlots: Slots;
  readonly killSlots: Slots;
  /**
   * Opens an exec channel; rejects ERR_REMOTE_UNREACHABLE when the channel cannot be opened. The
   * command's exit is captured from the start (`exitedWith`): it may arrive before this resolves.
   */
  exec(command: string): Promise<ExecChannel>;
  /** The connection's SFTP session, opened on first use and kept open. */
  sftp(): Promise<Sftp>;
  onClose(fn: () => void): void;
  close(): Promise<void>;
}

export function describeTarget(t: Required<SshTarget>): string {
  return `${t.nodeName} (${t.host}:${t.port})`;
}

function causeOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
}

/**
 * A failure on an open (or closing) connection. `details.reason` is the message without the node's
 * name and `details.hint` what to check: the annealer builds its operator message from them.
 */
export function unreachable(target: Required<SshTarget>, what: string, err: unknown): AppError {
  const cause = causeOf(err);
  return new AppError('ERR_REMOTE_UNREACHABLE', `${what} ${describeTarget(target)}: ${cause}`, {
    cause: err,
    details: {
      node: target.nodeName,
      host: target.host,
      port: target.port,
      reason: `ssh: ${what} ${target.host}:${target.port}: ${cause}`,
      hint: 'check that the node is powered on and its network link is up',
    },
  });
}

/** A connect that failed before authentication (refused, no route, timed out): ERR_REMOTE_UNREACHABLE. */
export function connectFailed(target: Required<SshTarget>, err: unknown, connectTimeoutMs: number): AppError {
  const { reason, hint } = connectCause(err, connectTimeoutMs);
  return new AppError('ERR_REMOTE_UNREACHABLE', `ssh to ${describeTarget(target)} ${reason}`, {
    cause: err,
    details: {
      node: target.nodeName,
      host: target.host,
      port: target.port,
      reason: `ssh to ${target.host}:${target.port} ${reason}`,
      hint,
    },
  });
}

/** Connects, verifies the host key against the store, authenticates; rejects with a classified AppError. */
export async function connectSsh(target: Required<SshTarget>, opts: ConnectOptions): Promise<SshConnection> {
  const { nodeName } = target;
  let hostKeyError: AppError | null = null;
  const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
    const presented = hostKeyFingerprint(key);
    const check = async () => {
      const recorded = await opts.hostKeys.get(nodeName);
      if (recorded === null) {
        await opts.hostKeys.set(nodeName, presented);
        opts.log.info({ node: nodeName, host: target.host, fingerprint: presented }, 'ssh host key recorded');
        return true;
      }
      if (recorded === presented) return true;
      hostKeyError = new AppError(
        'ERR_SSH_HOST_KEY_CHANGED',
        `host key of ${nodeName} changed; redeploy the node or clear its recorded key`,
        { details: { node: nodeName, host: target.host, port: target.port, recorded, presented } },
      );
      opts.log.warn({ node: nodeName, host: target.host, recorded, presented }, 'ssh host key changed');
      return false;
    };
    check().then(verify, (err: unknown) => {
      hostKeyError = toAppError(err);
      verify(false);
    });
  };

  const ssh = new NodeSSH();
  const connecting = ssh.connect({
    host: target.host,
    port: target.port,
    username: opts.username,
    privateKey: opts.privateKey,
    readyTimeout: opts.connectTimeoutMs,
    keepaliveInterval: opts.keepaliveMs,
    keepaliveCountMax: 3,
    hostVerifier,
  } as Parameters<NodeSSH['connect']>[0]);
  // node-ssh creates the client synchronously; an 'error' after the handshake must never go unheard.
  const client = ssh.connection as unknown as Ssh2Client;
  // NOTE(latency): ssh2 leaves Nagle on; every exec then waits out the peer's delayed ACK (~40 ms
  // per run on loopback, measured). The socket exists once connect() has been called.
  client.setNoDelay(true);
  client.on('error', (err: Error) => opts.log.debug({ node: nodeName, err: causeOf(err) }, 'ssh connection error'));
  try {
    await connecting;
  } catch (err) {
    ssh.dispose();
    if (hostKeyError) throw hostKeyError;
    const e = err as { level?: string; message?: string };
    if (e?.level === 'client-authentication') {
      throw new AppError(
        'ERR_SSH_AUTH',
        `authentication as ${opts.username} to ${describeTarget(target)} failed: the node does not accept anneal's key`,
        {
          cause: err,
          details: {
            node: nodeName,
            host: target.host,
            port: target.port,
            user: opts.username,
            reason: `ssh to ${target.host}:${target.port}: the node does not accept anneal's key for ${opts.username}`,
            hint: `add anneal's public key to ${opts.username}'s authorized_keys on the node`,
          },
        },
      );
    }
    if (/privateKey/.test(e?.message ?? '')) {
      throw new AppError('ERR_SSH_AUTH', `anneal's SSH private key cannot be used: ${e.message}`, { cause: err });
    }
    throw connectFailed(target, err, opts.connectTimeoutMs);
  }
  opts.log.debug({ node: nodeName, host: target.host, port: target.port }, 'ssh connected');
  return wrap(target, ssh, client, opts);
}

function wrap(target: Required<SshTarget>, ssh: NodeSSH, client: Ssh2Client, opts: ConnectOptions): SshConnection {
  let closed = false;
  let sftpSession: Promise<Sftp> | null = null;
  const closeListeners: Array<() => void> = [];
  const closedPromise = new Promise<void>((resolve) => {
    client.once('close', () => {
      closed = true;
      opts.log.debug({ node: target.nodeName, host: target.host }, 'ssh connection closed');
      for (const fn of closeListeners) fn();
      resolve();
    });
  });

  return {
    target,
    get closed() {
      return closed;
    },
    runSlots: new Slots(Math.max(1, opts.maxSessions - 2)),
    killSlots: new Slots(1),
    exec(command) {
      return new Promise((resolve, reject) => {
        const fail = (err: unknown) => reject(unreachable(target, 'cannot open a session on', err));
        if (closed) return fail(new Error('connection closed'));
        try {
          client.exec(command, (err, channel) => {
            if (err) return fail(err);
            // NOTE(race): when the client reads late (a busy host), sshd's reply to the exec request,
            // the output, the exit status and the close arrive in one read and ssh2 parses them in
            // one go: the 'exit' event fires before a listener attached after `await exec()` exists.
            // That lost exit made finished runs look like lost connections (and re-ran them).
            const ch = Object.assign(channel, { exitedWith: null as ChannelExit | null });
            channel.once('exit', (code?: number | null, signal?: string | null) => {
              ch.exitedWith = { code: code ?? null, signal: signal ?? null };
            });
            resolve(ch);
          });
        } catch (err) {
          fail(err);
        }
      });
    },
    sftp() {
      if (!sftpSession) {
        const opening = new Promise<Sftp>((resolve, reject) => {
          const fail = (err: unknown) => reject(unreachable(target, 'cannot open SFTP on', err));
          if (closed) return fail(new Error('connection closed'));
          try {
            client.sftp((err, sftp) => {
              if (err) return fail(err);
              const reset = () => {
                if (sftpSession === opening) sftpSession = null;
              };
              sftp.on('close', reset);
              sftp.on('error', reset);
              resolve(sftp);
            });
          } catch (err) {
            fail(err);
          }
        });
        opening.catch(() => {
          if (sftpSession === opening) sftpSession = null;
        });
        sftpSession = opening;
      }
      return sftpSession;
    },
    onClose(fn) {
      if (closed) fn();
      else closeListeners.push(fn);
    },
    async close() {
      if (closed) return;
      ssh.dispose();
      await Promise.race([closedPromise, new Promise((r) => setTimeout(r, 1000).unref())]);
    },
  };
}
