/**
 * The power monitor keeps every managed node's `powerState` and `alive` current: each sweep reads the
 * BMC (through the per-BMC limits) and probes the SSH port of every node that has a BMC address or a
 * management address. A sweep never throws for node trouble: an unreadable BMC is logged once per
 * node and error code (again when it changes or recovers), and the node's power shows `unknown`.
 *
 * Runs in the server process next to the annealer (ANNEAL_POWER_POLL_MS; 0 turns it off). With several
 * anneal processes on one database each sweeps; the readings are idempotent writes.
 */
import { AppError } from '../errors';
import type { Logger } from '../log';
import type { NodeRecord } from '../domain/records';
import type { PowerService } from './power';
import type { ServiceDeps } from './deps';

export interface PowerMonitorOptions {
  intervalMs: number;
  /** Nodes read at the same time (BMC calls are further limited per BMC). */
  concurrency?: number;
  log: Logger;
}

export interface SweepResult {
  checked: number;
  changed: number;
  failed: number;
  ms: number;
}

export function createPowerMonitor(deps: ServiceDeps, power: PowerService, opts: PowerMonitorOptions) {
  const concurrency = opts.concurrency ?? 16;
  const lastError = new Map<number, string>();
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<SweepResult> | null = null;
  let running = false;

  async function observeOne(node: NodeRecord, result: SweepResult): Promise<void> {
    let reading;
    try {
      reading = await power.observe(node, 'anneal');
    } catch (err) {
      // Retired (deleted) since the sweep listed it: nothing to observe.
      if (err instanceof AppError && (err.code === 'ERR_CONFLICT' || err.code === 'ERR_NODE_NOT_FOUND')) return;
      throw err;
    }
    result.checked++;
    if (reading.changed) result.changed++;
    const code = reading.error?.code;
    if (code) result.failed++;
    if (code && lastError.get(node.id) !== code) {
      opts.log.warn({ node: node.name, code, err: reading.error!.message }, 'power monitor: BMC not readable');
      lastError.set(node.id, code);
    } else if (!code && lastError.delete(node.id)) {
      opts.log.info({ node: node.name }, 'power monitor: BMC readable again');
    }
  }

  /** One pass over every node with a BMC or a management address. */
  async function sweep(): Promise<SweepResult> {
    const started = deps.now();
    const result: SweepResult = { checked: 0, changed: 0, failed: 0, ms: 0 };
    const nodes = (await deps.store.nodes.list({ system: false }, { offset: 0, limit: 100_000 })).filter(
      (n) => n.bmcAddress || n.address,
    );
    let next = 0;
    const worker = async () => {
      while (next < nodes.length) await observeOne(nodes[next++]!, result);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, nodes.length) }, worker));
    result.ms = deps.now() - started;
    return result;
  }

  /** A sweep whose failure (the database, not a node) is logged; then the next one is scheduled. */
  function sweepThenSchedule(): void {
    current = sweep()
      .catch((err: unknown) => {
        opts.log.error({ err }, 'power monitor: sweep failed');
        return { checked: 0, changed: 0, failed: 0, ms: 0 };
      })
      .finally(() => {
        if (!running) return;
        timer = setTimeout(sweepThenSchedule, opts.intervalMs);
        timer.unref();
      });
  }

  return {
    sweep,
    /** Sweeps every `intervalMs` until stopped; the first sweep starts at once. */
    start(): void {
      if (running || opts.intervalMs <= 0) return;
      running = true;
      sweepThenSchedule();
    },
    /** Forgets what it logged about a node that is gone (retired). */
    forget(nodeId: number): void {
      lastError.delete(nodeId);
    },
    /** Stops sweeping; resolves when a sweep in progress has finished. */
    async stop(): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      await current?.catch(() => undefined);
    },
  };
}

export type PowerMonitor = ReturnType<typeof createPowerMonitor>;
