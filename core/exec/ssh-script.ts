/**
 * What the ssh executor sends to a node, as pure functions: the preamble of an uploaded script, the
 * exec command that starts it, the command that kills it, and the parser that takes the script's
 * process id out of its stdout. No value is ever spliced into a shell line unquoted (shellQuote).
 */
import { constants } from 'node:os';
import { AppError } from '../errors';
import { shellQuote } from '../templates/render';

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The first line of every uploaded script: it deletes the script file (bash keeps reading it through
 * its open descriptor, so the file never outlives the run, even when the run is killed) and exports
 * the env values, each shell-quoted. Script line N is therefore reported by bash as line N+1 (more if
 * an env value contains newlines). Throws ERR_INTERNAL for a variable name a shell cannot carry.
 */
export function scriptPreamble(remotePath: string, env: Record<string, string> = {}): string {
  const names = Object.keys(env);
  const bad = names.filter((n) => !envName.test(n));
  if (bad.length > 0) throw new AppError('ERR_INTERNAL', `invalid environment variable name(s): ${bad.join(', ')}`);
  const exports = names.map((n) => `${n}=${shellQuote(env[n])}`).join(' ');
  return `rm -f -- ${shellQuote(remotePath)}${exports ? `; export ${exports}` : ''}\n`;
}

/**
 * The exec command, run by the login shell of the ssh user. sshd starts every session in its own
 * session and process group (setsid), whose id is the pid this command prints before anything else:
 * the whole run (bash, and every child that does not leave the group) is killed with
 * `kill -KILL -- -<pid>` (killCommand) when the client-side timeout or abort fires.
 *
 * NOTE: with a timeout, the script also runs under coreutils `timeout -s KILL`, a backstop a few
 * seconds later than the client's own deadline, so a run still dies when the admin host or its
 * connection is gone. `timeout` signals its own process group, which is the session's group here.
 */
export function remoteCommand(remotePath: string, marker: string, timeoutMs?: number): string {
  const run = `bash ${shellQuote(remotePath)}`;
  const head = `echo ${marker}$$`;
  if (!timeoutMs) return `${head}; exec ${run}`;
  const backstopSeconds = Math.ceil(timeoutMs / 1000) + 5;
  return (
    `${head}; if command -v timeout >/dev/null 2>&1; ` +
    `then exec timeout -s KILL ${backstopSeconds} ${run}; else exec ${run}; fi`
  );
}

export function killCommand(pid: number): string {
  return `kill -KILL -- -${Math.trunc(pid)} 2>/dev/null; true`;
}

/**
 * An exit status for any end of the remote process: the code, or 128 + signal number (as a shell
 * does). The signal may be named with or without `SIG` (ssh2 reports `SIGKILL`, the protocol `KILL`).
 */
export function exitStatus(code: number | null | undefined, signal: string | null | undefined): number {
  if (typeof code === 'number') return code;
  const num = signal ? (constants.signals as Record<string, number>)[`SIG${signal.replace(/^SIG/, '')}`] : undefined;
  return 128 + (num ?? 0);
}

const maxPreamble = 64 * 1024;

/**
 * Separates the pid line that remoteCommand prints from the script's stdout. Bytes before the marker
 * (from noisy shell startup files) and after the pid line are passed on as output. If no marker shows
 * up within 64 KiB, everything is passed on and the pid stays unknown.
 */
export class PidMarkerScanner {
  pid: number | null = null;
  private head: Buffer | null = Buffer.alloc(0);

  constructor(private readonly marker: string) {}

  /** Returns the part of `chunk` that is script output. */
  push(chunk: Buffer): Buffer {
    if (this.head === null) return chunk;
    const buf = Buffer.concat([this.head, chunk]);
    const at = buf.indexOf(this.marker);
    const eol = at < 0 ? -1 : buf.indexOf(0x0a, at);
    if (eol >= 0) {
      this.head = null;
      const pid = Number(buf.subarray(at + this.marker.length, eol).toString('latin1'));
      if (Number.isInteger(pid) && pid > 1) this.pid = pid;
      return Buffer.concat([buf.subarray(0, at), buf.subarray(eol + 1)]);
    }
    if (buf.length > maxPreamble) {
      this.head = null;
      return buf;
    }
    this.head = buf;
    return Buffer.alloc(0);
  }

  /** Whatever is still held back (the stream ended before a complete pid line). */
  flush(): Buffer {
    const rest = this.head ?? Buffer.alloc(0);
    this.head = null;
    return rest;
  }
}
