/**
 * Concurrency limits (the only module that imports bottleneck): a global cap on jobs in flight and at
 * most one job per node in this process. Across processes, one-per-node is enforced by the node lease
 * taken at claim (core/store/queue.ts); per-BMC and per-service limits join here as keyed groups.
 */
import Bottleneck from 'bottleneck';

export interface Limits {
  /** Runs `job` when both the global and the per-node limit allow; rejects only if `job` does. */
  schedule<T>(nodeId: number, job: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export function createLimits(opts: { maxConcurrent: number }): Limits {
  const global = new Bottleneck({ maxConcurrent: opts.maxConcurrent });
  const perNode = new Bottleneck.Group({ maxConcurrent: 1 });
  return {
    schedule: (nodeId, job) => perNode.key(String(nodeId)).schedule(() => global.schedule(job)),
    async stop() {
      await global.stop({ dropWaitingJobs: false });
      await Promise.all(perNode.limiters().map((l) => l.limiter.stop({ dropWaitingJobs: false })));
    },
  };
}
