/**
 * Process plumbing for the lab: run a command and collect its output, start a detached daemon, inspect
 * and stop processes through /proc, and a small concurrency pool. Commands get a minimal environment (no
 * proxy variables, no secrets) unless the caller passes one; secrets go in `env`, never in `args`.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { AppError } from '../errors';

export const BASE_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Resolve with the result for a non-zero exit instead of throwing. */
  allowFail?: boolean;
}

const tail = (s: string, n = 2000) => (s.length > n ? s.slice(-n) : s);

/**
 * Runs `cmd args` and resolves with its exit code and output. Throws ERR_LAB_COMMAND_FAILED when it
 * cannot start, times out (default 60 s, process killed) or, unless `allowFail`, exits non-zero; the
 * error's details carry the command line and the tail of stderr.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...BASE_ENV, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const fail = (message: string, code: number | null, cause?: unknown) =>
      reject(
        new AppError('ERR_LAB_COMMAND_FAILED', message, {
          details: { command: [cmd, ...args].join(' '), exitCode: code, stderrTail: tail(stderr.trim()) },
          cause,
        }),
      );
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(`cannot run ${cmd}: ${e.message}`, null, e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exit = code ?? (signal ? 128 : 1);
      if (timedOut) return fail(`${cmd} timed out`, null);
      if (exit !== 0 && !opts.allowFail) {
        const why = stderr.trim().split('\n').slice(-1)[0] ?? '';
        return fail(`${cmd} ${args.slice(0, 3).join(' ')} exited ${exit}${why ? `: ${why}` : ''}`, exit);
      }
      resolve({ code: exit, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Starts a long-running process in its own session, stdout and stderr appended to `logFile`, not tied
 * to this process (it survives our exit). Returns its pid.
 */
export function spawnDetached(cmd: string, args: string[], logFile: string, env: Record<string, string> = {}): number {
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(cmd, args, {
      env: { ...BASE_ENV, ...env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new AppError('ERR_LAB_COMMAND_FAILED', `cannot start ${cmd}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The argv of a running process, or null when it is gone. */
export function cmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
  } catch {
    return null;
  }
}

/** `mnt:[4026532…]` for a process, or null. */
export function mntNs(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/** Inode of the network namespace of a process, or null. */
export function netNsInode(pid: number): number | null {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return null;
  }
}

/** True when the process exists and is not a zombie (an exited child its parent has not reaped yet). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== '';
  } catch {
    return false;
  }
}

/** Every pid on the host, except this process. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((p) => p !== process.pid);
}

/** Sends SIGTERM, waits up to `graceMs` for the processes to go, then SIGKILLs the rest. Returns how many were signalled. */
export async function stopPids(pids: number[], graceMs = 2000): Promise<number> {
  const targets = [...new Set(pids)].filter((p) => p > 1 && p !== process.pid && alive(p));
  for (const p of targets) signal(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = targets;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(alive);
  }
  for (const p of left) signal(p, 'SIGKILL');
  if (left.length > 0) await sleep(50);
  return targets.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new AppError('ERR_LAB_COMMAND_FAILED', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Runs `fn` over `items` with at most `limit` at a time. Every item runs even when some fail; then the
 * first failure is thrown (with the others in its details).
 */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) {
    const first = errors[0];
    if (first instanceof AppError && errors.length > 1) {
      throw new AppError(first.code, `${first.message} (and ${errors.length - 1} more failures)`, {
        details: {
          first: first.details,
          others: errors.slice(1).map((e) => (e instanceof Error ? e.message : String(e))),
        },
        cause: first,
      });
    }
    throw first;
  }
  return results;
}
