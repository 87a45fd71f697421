/**
 * The failure report of `anneal converge` (stderr): for each failed node-role of the status document,
 * its node, role, the command that ran, the exit code, the last 20 lines of its stderr (stdout when
 * stderr is empty), the error (whose message names the cause and what to do) and the retry command.
 *
 * The command is the run's `command` (`bash <template> on <where>`, recorded when the action ran a script);
 * for an action that ran none, the role's apply action and jig (GET /roles/{name}).
 */
import { seg, type ApiClient } from '../client';
import type { StatusDocument } from './converge-progress';

export const TAIL_LINES = 20;

interface RunView {
  attempt: number;
  exitCode: number | null;
  stdoutTail: string;
  stderrTail: string;
  command?: string;
  error: { code: string; message: string } | null;
}

/** The last `n` non-empty-trailing lines of `text`; empty for blank text. */
export function tail(text: string, n = TAIL_LINES): string[] {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.length === 1 && lines[0] === '' ? [] : lines.slice(-n);
}

export async function printFailures(api: ApiClient, s: StatusDocument): Promise<void> {
  const out = (line: string) => process.stderr.write(line + '\n');
  const blocked = s.counts.blocked;
  out(
    `${s.deployment.name}: ${s.failing.length} node-role(s) failed` +
      (blocked ? `, ${blocked} blocked behind them` : '') +
      `; ${s.counts.active}/${s.total} active`,
  );
  const jigs = new Map<string, string>();
  for (const f of s.failing) {
    const runs = await api.list<RunView>(`/node-roles/${f.nodeRoleId}/runs`);
    const run = runs.at(-1);
    const details = (f.error?.details ?? {}) as { exitCode?: number; stderrTail?: string; stdoutTail?: string };
    let command = run?.command;
    if (!command) {
      if (!jigs.has(f.role)) jigs.set(f.role, (await api.get<{ jig: string }>(`/roles/${seg(f.role)}`)).jig);
      command = `${f.role} apply (jig ${jigs.get(f.role)})`;
    }
    const exitCode = run?.exitCode ?? details.exitCode ?? null;
    const stderr = tail(run?.stderrTail || details.stderrTail || '');
    const stdout = stderr.length ? [] : tail(run?.stdoutTail || details.stdoutTail || '');
    out('');
    out(
      `✗ ${f.role} on ${f.node} (node-role ${f.nodeRoleId}, layer ${f.layer}, attempt ${run?.attempt ?? f.attempts})`,
    );
    out(`  command:   ${command}`);
    out(`  exit code: ${exitCode ?? `none (${f.error?.code ?? 'no run'}: nothing exited)`}`);
    if (stderr.length) out(`  stderr (last ${TAIL_LINES} lines):\n${stderr.map((l) => `    ${l}`).join('\n')}`);
    else if (stdout.length)
      out(`  stderr: empty; stdout (last ${TAIL_LINES} lines):\n${stdout.map((l) => `    ${l}`).join('\n')}`);
    else out('  stderr: empty');
    out(`  error:     ${f.error?.message ?? run?.error?.message ?? 'unknown'}${f.error ? ` [${f.error.code}]` : ''}`);
    out(`  next:      fix the cause, then \`anneal node-roles retry ${f.nodeRoleId}\``);
  }
}
