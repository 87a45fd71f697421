/**
 * The `ssh` jig's executors: a pool of SSH connections, one per node, kept open between runs.
 *
 * run(script): the script (with a one-line preamble exporting `env`, values shell-quoted) is uploaded
 * over the connection's persistent SFTP session to /tmp/anneal-<random>.sh (mode 0700, O_EXCL), run
 * with `bash <path>` in one exec channel, and deletes itself as it starts. Contract as for the local
 * executor: resolves with the exit code and bounded output tails for any exit; rejects with
 *   - ERR_REMOTE_UNREACHABLE: refused, unroutable, handshake timeout, connection lost mid-run;
 *   - ERR_SSH_AUTH: the node rejects anneal's key (operational: retried);
 *   - ERR_SSH_HOST_KEY_CHANGED: the node presents a key other than the recorded one (user: terminal);
 *     nothing is uploaded or run;
 *   - ERR_REMOTE_TIMEOUT: timeoutMs passed or `signal` aborted; the run's process group on the node is
 *     killed first (see remoteCommand in ssh-script.ts).
 *
 * NOTE(latency), measured on loopback against OpenSSH 9.2 (scratch benchmark, medians of 200):
 *   - exec `true` 4.4 ms; script on stdin of `bash -s` 6.2 ms; SFTP upload + `bash <path>` 8.4 ms. The
 *     upload (open/write/close on the connection's open SFTP session) costs ~2 ms, so scripts stay
 *     uploaded over SFTP as DESIGN §5 says; a run through this pool is ~10 ms, a fresh connection ~65 ms.
 *   - Before TCP_NODELAY was set (ssh-connection.ts) every exec waited ~40 ms for a delayed ACK.
 *   - The remaining cost is the node's login shell: bash sources ~/.bashrc for every ssh command
 *     (Debian builds it with SSH_SOURCE_BASHRC). On this dev machine /root/.bashrc runs `pyenv init`,
 *     which alone takes ~140–280 ms, and lab nodes overlay the host's /root: that is the 140 ms per
 *     exec in notes/lab.md. Keeping nodes' shell startup files lean matters more than anything here.
 */
import { posix } from 'node:path';
import { AppError } from '../errors';
import { silentLogger } from '../log';
import type { ExecOptions, ExecResult, Executor } from '../plugins/manifest';
import type { HostKeyStore } from './host-keys';
import { connectSsh, unreachable, type SshConnection, type SshLogger, type SshTarget } from './ssh-connection';
import { Deadline, NotStarted, runOnce } from './ssh-run';
import { replaceFile, sftpError } from './ssh-sftp';

export type { SshTarget } from './ssh-connection';
export { createMemoryHostKeyStore, hostKeyFingerprint, type HostKeyStore, type MemoryHostKeyStore } from './host-keys';

export interface SshPoolOptions {
  username: string;
  /** PEM or OpenSSH private key text. Never logged. */
  privateKey: string;
  /** TCP connect + handshake + authentication; default 10 s. */
  connectTimeoutMs?: number;
  /** SSH keepalive interval; a connection is dropped after 3 unanswered keepalives. Default 15 s. */
  keepaliveMs?: number;
  /** Channels per connection (sshd MaxSessions, default 10): one is SFTP, one is kept for kills. */
  maxSessions?: number;
  hostKeys: HostKeyStore;
  log?: SshLogger;
}

export interface SshPool {
  executor(target: SshTarget): Executor;
  /**
   * Writes `content` to the absolute `remotePath` atomically (temp file beside it, chmod, rename over),
   * so readers never see a partial file; default mode 0644. Rejects ERR_REMOTE_UNREACHABLE for
   * connection failures and ERR_COMMAND_FAILED when the node refuses the write (e.g. no such directory).
   */
  uploadFile(target: SshTarget, remotePath: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Closes every connection; later calls reject with ERR_REMOTE_UNREACHABLE. */
  dispose(): Promise<void>;
}

interface Entry {
  promise: Promise<SshConnection>;
  conn: SshConnection | null;
}

export function createSshPool(opts: SshPoolOptions): SshPool {
  const log = opts.log ?? silentLogger;
  const cfg = {
    username: opts.username,
    privateKey: opts.privateKey,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    keepaliveMs: opts.keepaliveMs ?? 15_000,
    maxSessions: opts.maxSessions ?? 10,
    hostKeys: opts.hostKeys,
    log,
  };
  const entries = new Map<string, Entry>();
  let disposed = false;

  /**
   * The open connection to a target (one per node name and address), or a new one. NOTE(concurrency): callers arriving while a connect
   * is under way share its promise; a closed connection is replaced on the next use, and a failed
   * connect is forgotten so that the next use tries again (one attempt per use).
   */
  async function acquire(t: Required<SshTarget>): Promise<{ conn: SshConnection; reused: boolean }> {
    if (disposed) throw unreachable(t, 'cannot reach', new Error('the ssh pool is disposed'));
    const key = `${t.nodeName}@${t.host}:${t.port}`;
    const existing = entries.get(key);
    if (existing && !existing.conn?.closed) {
      const reused = existing.conn !== null;
      return { conn: await existing.promise, reused };
    }
    const entry: Entry = { promise: connectSsh(t, cfg), conn: null };
    entries.set(key, entry);
    const forget = () => {
      if (entries.get(key) === entry) entries.delete(key);
    };
    entry.promise.then((conn) => {
      entry.conn = conn;
      conn.onClose(forget);
      if (disposed) void conn.close();
    }, forget);
    return { conn: await entry.promise, reused: false };
  }

  /** Runs `attempt` on a connection; repeats it once on a fresh one if a reused connection had died. */
  async function withConnection<T>(
    t: Required<SshTarget>,
    deadline: Deadline | null,
    attempt: (conn: SshConnection) => Promise<T>,
  ): Promise<T> {
    for (let retry = 0; ; retry++) {
      const { conn, reused } = await (deadline ? deadline.race(acquire(t)) : acquire(t));
      try {
        return await attempt(conn);
      } catch (err) {
        if (!(err instanceof NotStarted)) throw err;
        if (retry === 0 && reused && conn.closed && !deadline?.signal.aborted) {
          log.debug({ node: t.nodeName, host: t.host }, 'ssh connection was dropped; reconnecting');
          continue;
        }
        throw err.error;
      }
    }
  }

  async function run(t: Required<SshTarget>, script: string, eo: ExecOptions): Promise<ExecResult> {
    const deadline = new Deadline(t, eo.timeoutMs, eo.signal);
    try {
      return await withConnection(t, deadline, (conn) => runOnce(conn, script, eo, deadline, log));
    } finally {
      deadline.dispose();
    }
  }

  async function uploadFile(
    target: SshTarget,
    remotePath: string,
    content: string | Buffer,
    mode = 0o644,
  ): Promise<void> {
    const t = normalize(target);
    if (!posix.isAbsolute(remotePath) || remotePath.endsWith('/')) {
      throw new AppError('ERR_INTERNAL', `uploadFile needs an absolute file path, got ${JSON.stringify(remotePath)}`);
    }
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    await withConnection(t, null, (conn) =>
      replaceFile(conn, remotePath, data, mode).catch((err: unknown) => {
        throw new NotStarted(sftpError(conn, `cannot write ${remotePath} on`, err));
      }),
    );
  }

  return {
    executor(target) {
      const t = normalize(target);
      return { run: (script, eo = {}) => run(t, script, eo) };
    },
    uploadFile,
    async dispose() {
      disposed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(
        all.map((e) =>
          e.promise.then(
            (c) => c.close(),
            () => undefined,
          ),
        ),
      );
    },
  };
}

function normalize(t: SshTarget): Required<SshTarget> {
  return { host: t.host, port: t.port ?? 22, nodeName: t.nodeName };
}
