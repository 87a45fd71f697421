/**
 * One script run on an open connection: upload, exec, collect output tails and the exit, and on
 * timeout or abort kill the run's process group on the node before rejecting ERR_REMOTE_TIMEOUT.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { ExecOptions, ExecResult } from '../plugins/manifest';
import {
  describeTarget,
  unreachable,
  type ExecChannel,
  type SshConnection,
  type SshLogger,
  type SshTarget,
} from './ssh-connection';
import { exitStatus, killCommand, PidMarkerScanner, remoteCommand, scriptPreamble } from './ssh-script';
import { createFile, removeQuietly, sftpError } from './ssh-sftp';
import { outputTailBytes, TailBuffer } from './tail';

/** How long after a timeout or abort a run waits for its channel to close once the kill is sent. */
const killGraceMs = 5000;

/** A failure before the script could have started: safe to repeat on a fresh connection. */
export class NotStarted extends Error {
  constructor(readonly error: unknown) {
    super('not started');
  }
}

/**
 * Runs `script` once on `conn`. Rejects NotStarted (wrapping the AppError) when it failed before the
 * exec channel opened, so nothing ran; any other rejection is final.
 */
export async function runOnce(
  conn: SshConnection,
  script: string,
  eo: ExecOptions,
  deadline: Deadline,
  log: SshLogger,
): Promise<ExecResult> {
  const nonce = randomBytes(12).toString('hex');
  const path = `/tmp/anneal-${nonce}.sh`;
  const body = Buffer.from(scriptPreamble(path, eo.env) + script);
  const release = await conn.runSlots.acquire(deadline.signal).catch((e: unknown) => {
    throw new NotStarted(e);
  });
  try {
    try {
      const sftp = await deadline.race(conn.sftp());
      await deadline.race(createFile(sftp, path, body, 0o700));
    } catch (err) {
      void removeQuietly(conn, path);
      throw new NotStarted(sftpError(conn, 'cannot upload the script to', err));
    }
    const marker = `ANNEAL_PID_${nonce}=`;
    // Not raced against the deadline: once requested, the channel may start the script, so a
    // cancellation must wait for it to open and kill the run (stream handles an aborted deadline).
    const channel = await conn.exec(remoteCommand(path, marker, eo.timeoutMs)).catch((err: unknown) => {
      void removeQuietly(conn, path);
      throw new NotStarted(err);
    });
    return await stream(conn, channel, marker, deadline, log);
  } finally {
    release();
  }
}

function stream(
  conn: SshConnection,
  channel: ExecChannel,
  marker: string,
  deadline: Deadline,
  log: SshLogger,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const scanner = new PidMarkerScanner(marker);
    const out = new TailBuffer(outputTailBytes);
    const err = new TailBuffer(outputTailBytes);
    let killWanted = false;
    let killing: Promise<void> | null = null;
    let grace: NodeJS.Timeout | null = null;
    const startKill = () => {
      if (killing || scanner.pid === null) return;
      killing = killRemote(conn, scanner.pid, log);
    };
    const onCancel = () => {
      killWanted = true;
      startKill();
      grace = setTimeout(() => {
        log.warn({ node: conn.target.nodeName, pid: scanner.pid }, 'ssh run did not end after its kill; closing it');
        channel.close();
      }, killGraceMs);
    };
    channel.on('data', (chunk: Buffer) => {
      out.push(scanner.push(chunk));
      if (killWanted) startKill();
    });
    channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    channel.on('close', () => {
      if (grace) clearTimeout(grace);
      deadline.signal.removeEventListener('abort', onCancel);
      out.push(scanner.flush());
      const stdout = out.toString();
      const stderr = err.toString();
      const exit = channel.exitedWith;
      if (deadline.signal.aborted) {
        void Promise.resolve(killing).then(() => reject(deadline.error({ stdoutTail: stdout, stderrTail: stderr })));
      } else if (!exit) {
        reject(unreachable(conn.target, 'lost the connection to', new Error('the run ended without an exit status')));
      } else {
        resolve({ exitCode: exitStatus(exit.code, exit.signal), stdout, stderr });
      }
    });
    channel.end();
    if (deadline.signal.aborted) onCancel();
    else deadline.signal.addEventListener('abort', onCancel, { once: true });
  });
}

/**
 * Kills a run's process group with a second exec, on the slot kept free for it. Bounded, and only
 * logged on failure: a dead connection cannot kill (the remote `timeout` backstop still will).
 */
async function killRemote(conn: SshConnection, pid: number, log: SshLogger): Promise<void> {
  const release = await conn.killSlots.acquire();
  try {
    const channel = await conn.exec(killCommand(pid));
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, killGraceMs);
      channel.on('close', () => {
        clearTimeout(t);
        resolve();
      });
      channel.on('data', () => undefined);
      channel.stderr.on('data', () => undefined);
      channel.end();
    });
  } catch (err) {
    log.warn({ node: conn.target.nodeName, pid, err: String(err) }, 'ssh could not kill a run');
  } finally {
    release();
  }
}

/** A run's timeout and abort signal as one AbortSignal whose reason is an ERR_REMOTE_TIMEOUT. */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | null;
  private why = '';
  private readonly onAbort = () => this.cancel('was aborted');

  constructor(
    private readonly target: Required<SshTarget>,
    timeoutMs: number | undefined,
    private readonly outer: AbortSignal | undefined,
  ) {
    this.timer = timeoutMs ? setTimeout(() => this.cancel(`timed out after ${timeoutMs} ms`), timeoutMs) : null;
    if (outer?.aborted) this.cancel('was aborted');
    else outer?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  error(tails?: { stdoutTail: string; stderrTail: string }): AppError {
    const t = this.target;
    return new AppError('ERR_REMOTE_TIMEOUT', `script on ${describeTarget(t)} ${this.why}`, {
      details: {
        ...tails,
        node: t.nodeName,
        reason: `ssh: the script on ${t.host}:${t.port} ${this.why}`,
        hint: "check why the script hangs on the node, or raise the role's timeout",
      },
    });
  }

  /** Settles as `p`, or rejects with the timeout error as soon as the deadline passes. */
  race<T>(p: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onAbort);
  }

  private cancel(why: string): void {
    if (this.controller.signal.aborted) return;
    this.why = why;
    this.controller.abort(this.error());
  }
}
