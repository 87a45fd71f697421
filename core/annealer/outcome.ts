/**
 * What happens to a node-role after a run: a pure function of (result, error kind, attempts, clock,
 * randomness), so every branch is unit-tested without fakes (controller-runtime's reconcile contract).
 *
 * | result                          | next state | effect                                                    |
 * |---------------------------------|------------|-----------------------------------------------------------|
 * | done                            | active     | children whose parents are all active become todo        |
 * | not yet (requeueAfterMs)        | todo       | runs again after the delay; attempts unchanged            |
 * | operational error (retryable)   | todo       | attempts + 1; exponential backoff with jitter             |
 * |   … attempts reach maxAttempts  | error      | descendants blocked until `retry`                         |
 * | user or unexpected error        | error      | at once; descendants blocked until `retry`                |
 */
import type { ErrorKind } from '../errors';

export interface RetryPolicy {
  /** First retry delay. */
  baseMs: number;
  /** Ceiling of a single delay. */
  maxMs: number;
  /** Attempts (the first run included) before an operational error becomes terminal. */
  maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 5 };

export type JobResult =
  | { kind: 'done' }
  | { kind: 'not-yet'; requeueAfterMs: number; reason: string }
  | { kind: 'failed'; errorKind: ErrorKind };

export type Decision =
  | { state: 'active'; attempts: 0 }
  | { state: 'todo'; nextRunAt: number; attempts: number; why: 'not-yet' | 'retry' }
  | { state: 'error'; attempts: number };

/** Delay before retry number `attempt` (1-based): base·2^(attempt−1), capped, with "equal jitter" in [d/2, d]. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(1, Math.max(0, random)));
}

export function decideOutcome(
  result: JobResult,
  attempts: number,
  now: number,
  policy: RetryPolicy,
  random: number,
): Decision {
  switch (result.kind) {
    case 'done':
      return { state: 'active', attempts: 0 };
    case 'not-yet':
      return { state: 'todo', nextRunAt: now + Math.max(0, result.requeueAfterMs), attempts, why: 'not-yet' };
    case 'failed': {
      const next = attempts + 1;
      if (result.errorKind !== 'operational' || next >= policy.maxAttempts) return { state: 'error', attempts: next };
      return { state: 'todo', nextRunAt: now + backoffMs(next, policy, random), attempts: next, why: 'retry' };
    }
  }
}
