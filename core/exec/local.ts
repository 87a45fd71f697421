/**
 * The `local` jig's executor: runs a script with bash on the admin host (stdin is the script, so no
 * value is ever spliced into a command line). Contract: resolves with exit code and output tails for
 * any exit code; rejects with ERR_REMOTE_TIMEOUT when the timeout or abort signal fires (the whole
 * process group is killed first).
 */
import { spawn } from 'node:child_process';
import { AppError } from '../errors';
import type { ExecOptions, ExecResult, Executor } from '../plugins/manifest';
import { outputTailBytes, TailBuffer } from './tail';

export function createLocalExecutor(baseEnv: Record<string, string | undefined> = process.env): Executor {
  return {
    run(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
      return new Promise((resolve, reject) => {
        const child = spawn('bash', ['-s'], {
          env: { ...baseEnv, ...opts.env },
          detached: true,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        const out = new TailBuffer(outputTailBytes);
        const err = new TailBuffer(outputTailBytes);
        let timedOut: string | null = null;
        const kill = (why: string) => {
          timedOut = why;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* already gone */
          }
        };
        const timer = opts.timeoutMs
          ? setTimeout(() => kill(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs)
          : null;
        const onAbort = () => kill('aborted');
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => err.push(c));
        child.on('error', (e) =>
          reject(new AppError('ERR_REMOTE_UNREACHABLE', `cannot start bash: ${e.message}`, { cause: e })),
        );
        child.on('close', (code, signal) => {
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          if (timedOut) {
            reject(
              new AppError('ERR_REMOTE_TIMEOUT', `local script ${timedOut}`, {
                details: { stdoutTail: out.toString(), stderrTail: err.toString() },
              }),
            );
            return;
          }
          resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: out.toString(), stderr: err.toString() });
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(script);
      });
    },
  };
}
