/**
 * Concurrency limits for the annealer.
 *
 * - Global cap and one job per node (the hot path): a counting semaphore and a per-node chain in
 *   this process; across processes one-per-node is enforced by the node lease taken at claim
 *   (core/store/queue.ts). NOTE: bottleneck was measured here at ~3 ms of scheduling overhead per job
 *   (its local datastore yields through setTimeout(0) several times per job), a ceiling of ~330
 *   jobs/s — below the annealer's 2,000 transitions/s target. See docs/architecture.md.
 * - Keyed limits (per BMC, per service): bottleneck groups, whose minTime/reservoir rate limiting is
 *   what those need and whose overhead is negligible next to an IPMI or service call.
 *
 * This is the only module that imports bottleneck.
 */
import Bottleneck from 'bottleneck';

export interface Limits {
  /**
   * Runs `job` once the global cap has room and no other job of `nodeId` runs in this process.
   * Resolves or rejects with the job's own result; never drops a job.
   */
  schedule<T>(nodeId: number, job: () => Promise<T>): Promise<T>;
  /** Jobs running or waiting. */
  readonly pending: number;
}

export function createLimits(opts: { maxConcurrent: number }): Limits {
  let running = 0;
  let pending = 0;
  const waiters: (() => void)[] = [];
  const nodeTails = new Map<number, Promise<unknown>>();

  async function acquire(): Promise<void> {
    if (running < opts.maxConcurrent) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiters.push(resolve));
  }

  function release(): void {
    const next = waiters.shift();
    if (next) next();
    else running--;
  }

  return {
    get pending() {
      return pending;
    },
    schedule<T>(nodeId: number, job: () => Promise<T>): Promise<T> {
      pending++;
      const previous = nodeTails.get(nodeId) ?? Promise.resolve();
      const run = previous
        .catch(() => undefined)
        .then(async () => {
          await acquire();
          try {
            return await job();
          } finally {
            release();
          }
        });
      const tail = run
        .catch(() => undefined)
        .finally(() => {
          pending--;
          if (nodeTails.get(nodeId) === tail) nodeTails.delete(nodeId);
        });
      nodeTails.set(nodeId, tail);
      return run;
    },
  };
}

export interface KeyedLimitOptions {
  /** Concurrent calls per key (e.g. 1 per BMC). */
  maxConcurrent: number;
  /** Minimum milliseconds between the starts of two calls with the same key. */
  minTimeMs?: number;
}

export interface KeyedLimits {
  schedule<T>(key: string, job: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** Per-key limiter (per-BMC, per-service). Idle keys are forgotten after a minute. */
export function createKeyedLimits(opts: KeyedLimitOptions): KeyedLimits {
  const group = new Bottleneck.Group({
    maxConcurrent: opts.maxConcurrent,
    minTime: opts.minTimeMs ?? 0,
    timeout: 60_000,
  });
  return {
    schedule: (key, job) => group.key(key).schedule(job),
    async stop() {
      await Promise.all(group.limiters().map((l) => l.limiter.stop({ dropWaitingJobs: false })));
    },
  };
}
