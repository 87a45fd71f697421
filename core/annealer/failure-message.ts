/**
 * The one line an operator reads for a failed run (the run's error and the node-role's lastError):
 * a pure function of the node, the role, the error and the outcome decided for it.
 *
 * Operational errors (unreachable, timeout, transient) are retried, so their line names the node, the
 * role, the cause, and either the attempt and the next try or, once the attempts are used up, how many
 * there were and what to check before `retry`:
 *
 *   n5.x.lab: test-remote: ssh to 10.231.0.15:22 refused the connection (ECONNREFUSED) after 3 attempts
 *     — check that sshd runs on the node, then retry
 *
 * Other errors are terminal at once and keep the message of their source unchanged (it names the node;
 * the node-role shows the role), so scripts and plugins control their own wording.
 */
import type { ErrorKind } from '../errors';

export interface FailureInput {
  node: string;
  role: string;
  error: { kind: ErrorKind; message: string; details?: unknown };
  /** Failed attempts so far, this one included. */
  attempts: number;
  maxAttempts: number;
  /** When the next attempt is due (ms from now), or null when the node-role goes to error. */
  retryInMs: number | null;
}

const defaultHint = 'fix the cause';

function detail(details: unknown, key: 'reason' | 'hint'): string | null {
  const v = (details as Record<string, unknown> | null | undefined)?.[key];
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function failureMessage(f: FailureInput): string {
  if (f.error.kind !== 'operational') return f.error.message;
  const reason = detail(f.error.details, 'reason') ?? f.error.message;
  const head = `${f.node}: ${f.role}: ${reason}`;
  if (f.retryInMs !== null)
    return `${head} (attempt ${f.attempts} of ${f.maxAttempts}; next in ${seconds(f.retryInMs)})`;
  const tries = f.attempts === 1 ? '1 attempt' : `${f.attempts} attempts`;
  return `${head} after ${tries} — ${detail(f.error.details, 'hint') ?? defaultHint}, then retry`;
}
