/**
 * What every lab end-to-end test needs: the prerequisite gate (skip locally, fail under CI=true), ssh to
 * a lab node with the lab's key, and running a command with its exit code and output.
 */
import { execFile, spawnSync } from 'node:child_process';
import { labPrerequisites } from '../../core/lab';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SshResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function missingPrograms(programs: string[]): string[] {
  return programs.filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
}

/**
 * Skips the suite when the lab (root, iproute2, sshd, ipmi_sim …) or one of `programs` is missing; with
 * CI=true it fails instead, naming what is missing: CI must never skip a lab test silently.
 */
export function requireLab(ctx: Mocha.Context, programs: string[] = []): void {
  const pre = labPrerequisites();
  const missing = [...pre.missing, ...missingPrograms(programs)];
  if (pre.ok && missing.length === 0) return;
  const why = `lab prerequisites missing (root: ${pre.root}, missing: ${missing.join(', ') || 'none'})`;
  if (process.env.CI === 'true') throw new Error(`the lab is required (CI) but ${why}`);
  console.warn(`    skipping: ${why}`);
  ctx.skip();
}

/** ssh arguments for root on a lab node with the lab's key, host keys not checked or kept. */
export function sshArgs(key: string, ip: string, command: string): string[] {
  return [
    ...['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'],
    ...['-o', 'ConnectTimeout=3', '-o', 'BatchMode=yes', `root@${ip}`, command],
  ];
}

/** Runs `command` on a lab node (blocking; for commands that do not talk back to this process). */
export function ssh(key: string, ip: string, command: string): SshResult {
  const res = spawnSync('ssh', sshArgs(key, ip, command), { encoding: 'utf8', timeout: 60_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Runs a program without blocking; resolves with its exit code (1 when it could not run) and output. */
export function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeout = 60_000,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
