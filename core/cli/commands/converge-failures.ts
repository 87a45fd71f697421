/**
 * The failure report of `anneal converge` (stderr): for each failed node-role of the status document
 * (failed to apply: `error`; failed to remove: `remove-error`), its node, role, the command that ran, the
 * exit code, the last 20 lines of its stderr (stdout when stderr is empty), the error (whose message
 * names the cause and what to do) and the next step: `anneal node-roles retry ID`, and for a remove
 * error also `anneal unbind DEPLOYMENT ROLE NODE --force` (delete it without running its remove action).
 *
 * The command is the run's `command` (`bash <template> on <where>`, recorded when the action ran a script);
 * for an action that ran none, the role's apply or remove action and jig (GET /roles/{name}).
 */
import { seg, type ApiClient } from '../client';
import type { StatusDocument } from './converge-progress';

type Failing = StatusDocument['failing'][number];

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

/** A failed node-role with its state: `error` (failed to apply) or `remove-error` (failed to remove). */
export type Failure = Failing & { state: string };

interface NodeRoleView {
  id: number;
  node: string;
  role: string;
  state: string;
  attempts: number;
  lastError: Failing['error'];
}

/**
 * Every failed node-role of the status document, apply and remove failures, each with its state. The
 * state is the status document's, else (a server that does not send it) the node-role's when the
 * deployment has remove errors at all; remove errors the document's `failing` leaves out are read from
 * GET /node-roles?state=remove-error, their layer from the document's per-node rows.
 */
export async function failuresOf(api: ApiClient, s: StatusDocument): Promise<Failure[]> {
  const removeErrors = s.counts['remove-error'] ?? 0;
  const out: Failure[] = [];
  for (const f of s.failing) {
    let state = f.state ?? 'error';
    if (f.state === undefined && removeErrors > 0)
      state = await api.get<{ state: string }>(`/node-roles/${f.nodeRoleId}`).then(
        (nr) => nr.state,
        () => 'error',
      );
    out.push({ ...f, state });
  }
  if (out.filter((f) => f.state === 'remove-error').length >= removeErrors) return out;
  const layers = new Map<number, string>();
  for (const n of s.nodes as { nodeRoles?: { id: number; layer: string }[] }[])
    for (const nr of n.nodeRoles ?? []) layers.set(nr.id, nr.layer);
  const known = new Set(out.map((f) => f.nodeRoleId));
  for (const nr of await api.list<NodeRoleView>(`/node-roles?deployment=${s.deployment.id}&state=remove-error`))
    if (!known.has(nr.id))
      out.push({
        nodeRoleId: nr.id,
        node: nr.node,
        role: nr.role,
        layer: layers.get(nr.id) ?? 'other',
        attempts: nr.attempts,
        state: 'remove-error',
        error: nr.lastError,
      });
  return out;
}

/** The next step for a failed node-role. */
function nextStep(s: StatusDocument, f: Failing, removal: boolean): string {
  const retry = `\`anneal node-roles retry ${f.nodeRoleId}\``;
  if (!removal) return `fix the cause, then ${retry}`;
  return (
    `fix the cause, then ${retry} (runs the remove action again), or delete it without running it: ` +
    `\`anneal unbind ${s.deployment.name} ${f.role} ${f.node} --force\``
  );
}

export async function printFailures(api: ApiClient, s: StatusDocument): Promise<void> {
  const out = (line: string) => process.stderr.write(line + '\n');
  const blocked = s.counts.blocked;
  const removing = s.counts.removing ?? 0;
  const failures = await failuresOf(api, s);
  const removals = failures.filter((f) => f.state === 'remove-error').length;
  out(
    `${s.deployment.name}: ${failures.length} node-role(s) failed` +
      (removals ? ` (${removals} to remove)` : '') +
      (blocked ? `, ${blocked} blocked behind them` : '') +
      (removing ? `, ${removing} still removing` : '') +
      `; ${s.counts.active}/${s.total} active`,
  );
  const jigs = new Map<string, string>();
  for (const f of failures) {
    const isRemoval = f.state === 'remove-error';
    const runs = await api.list<RunView>(`/node-roles/${f.nodeRoleId}/runs`);
    const run = runs.at(-1);
    const details = (f.error?.details ?? {}) as { exitCode?: number; stderrTail?: string; stdoutTail?: string };
    let command = run?.command;
    if (!command) {
      if (!jigs.has(f.role)) jigs.set(f.role, (await api.get<{ jig: string }>(`/roles/${seg(f.role)}`)).jig);
      command = `${f.role} ${isRemoval ? 'remove' : 'apply'} (jig ${jigs.get(f.role)})`;
    }
    const exitCode = run?.exitCode ?? details.exitCode ?? null;
    const stderr = tail(run?.stderrTail || details.stderrTail || '');
    const stdout = stderr.length ? [] : tail(run?.stdoutTail || details.stdoutTail || '');
    out('');
    out(
      `✗ ${isRemoval ? `remove ${f.role} from` : `${f.role} on`} ${f.node} ` +
        `(node-role ${f.nodeRoleId}, layer ${f.layer}, attempt ${run?.attempt ?? f.attempts})`,
    );
    out(`  command:   ${command}`);
    out(`  exit code: ${exitCode ?? `none (${f.error?.code ?? 'no run'}: nothing exited)`}`);
    if (stderr.length) out(`  stderr (last ${TAIL_LINES} lines):\n${stderr.map((l) => `    ${l}`).join('\n')}`);
    else if (stdout.length)
      out(`  stderr: empty; stdout (last ${TAIL_LINES} lines):\n${stdout.map((l) => `    ${l}`).join('\n')}`);
    else out('  stderr: empty');
    out(`  error:     ${f.error?.message ?? run?.error?.message ?? 'unknown'}${f.error ? ` [${f.error.code}]` : ''}`);
    out(`  next:      ${nextStep(s, f, isRemoval)}`);
  }
}
