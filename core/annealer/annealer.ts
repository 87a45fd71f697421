/**
 * The annealer: the reconcile loop that walks committed node-roles up the graph until everything is
 * active (DESIGN §3). Level-based: it finds work by querying the database (woken early by commits,
 * retries and completions, and by a poll as a safety net), so a restart or a second process picks up
 * exactly where the state says.
 *
 * Contracts:
 * - A node-role runs only after a successful claim (compare-and-set with a lease); its result is
 *   written only while this worker still holds the lease. Leases are extended by a heartbeat while
 *   jobs run; if this process dies they expire and another (or the restarted) process re-runs them.
 * - Results are buffered for a few milliseconds and written in batches; a crash loses at most the
 *   unwritten batch, which then re-runs (actions are idempotent).
 * - `stop()` aborts running actions, writes what finished, and releases nothing else: unfinished
 *   claims expire like a crash's.
 */
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolveAttribs } from '../domain/attribs';
import { explainWaiting } from '../domain/watchdog';
import type { AdminHooks, NodeView } from '../plugins/manifest';
import type { Registry } from '../plugins/registry';
import type { Store } from '../store';
import type { ClaimedNodeRole, Completion } from '../store/queue';
import { silentLogger, type Logger } from '../log';
import type { SshPool } from '../exec/ssh';
import { createJigs, type Jigs } from './jigs';
import { createLimits, type Limits } from './limits';
import { defaultRetryPolicy, type RetryPolicy } from './outcome';
import { runJob, type JobInput } from './run-job';
import { adminUnavailable } from './role-context';
import { nodeView } from './node-view';
import { runChecks, type NodeRoleChecks } from './run-checks';
import { AppError } from '../errors';

export interface AnnealerOptions {
  store: Store;
  registry: Registry;
  now?: () => number;
  random?: () => number;
  workerId?: string;
  /** Jobs in flight in this process. */
  maxConcurrent?: number;
  /** How long a claim stays valid without a heartbeat. */
  leaseMs?: number;
  /** Safety-net poll interval when nothing wakes the loop. */
  pollMs?: number;
  /** Largest number of node-roles claimed in one transaction. */
  batchSize?: number;
  /** A todo node-role waiting longer than this is logged with the watchdog's reasons. */
  watchdogMs?: number;
  retry?: Partial<RetryPolicy>;
  log?: Logger;
  /** Environment for `local` jig scripts. */
  localEnv?: Record<string, string | undefined>;
  /** The ssh jig's connection pool; without one, ssh roles fail with ERR_JIG_UNKNOWN. */
  ssh?: SshPool | null;
  /** anneal's services for actions (power, facts, installs); without them the hooks fail. */
  admin?: (node: NodeView) => AdminHooks;
  /** Told after a write that recorded audit events (errors, removals, finished teardowns). */
  onAudit?: () => void;
  /** Told after node-roles were removed, and at each recovery pass: moves waiting for removals may go on. */
  onRemoved?: () => void;
  /** How long a node's checks wait for the node to be free of other work (its lease). */
  checkWaitMs?: number;
}

export interface AnnealerStats {
  claimed: number;
  completed: number;
  inFlight: number;
}

export class Annealer {
  readonly workerId: string;
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxConcurrent: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly admin: (node: NodeView) => AdminHooks;
  private readonly batchSize: number;
  private readonly retry: RetryPolicy;
  private readonly log: Logger;
  private readonly jigs: Jigs;
  private limits: Limits;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private shutdown = new AbortController();
  private readonly inFlight = new Map<number, ClaimedNodeRole>();
  private buffer: Completion[] = [];
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private lastRecovery = 0;
  private lastHeartbeat = 0;
  private lastWatchdog = 0;
  /** How long a todo node-role may wait before the watchdog logs why. */
  private readonly watchdogMs: number;
  private roleNames = new Map<number, string>();
  private deploymentNames = new Map<number, string>();
  readonly stats: AnnealerStats = { claimed: 0, completed: 0, inFlight: 0 };
  private failure: unknown = null;
  private readonly onAudit: () => void;
  private readonly onRemoved: () => void;
  private readonly checkWaitMs: number;

  constructor(opts: AnnealerOptions) {
    this.store = opts.store;
    this.registry = opts.registry;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.maxConcurrent = opts.maxConcurrent ?? 64;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 500;
    this.batchSize = opts.batchSize ?? 256;
    this.watchdogMs = opts.watchdogMs ?? 60_000;
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.log = opts.log ?? silentLogger;
    this.jigs = createJigs({ localEnv: opts.localEnv, ssh: opts.ssh });
    this.admin = opts.admin ?? adminUnavailable;
    this.limits = createLimits({ maxConcurrent: this.maxConcurrent });
    this.onAudit = opts.onAudit ?? (() => undefined);
    this.onRemoved = opts.onRemoved ?? (() => undefined);
    this.checkWaitMs = opts.checkWaitMs ?? 60_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.shutdown = new AbortController();
    // Every job in flight listens for shutdown; the cap is maxConcurrent, not a leak.
    setMaxListeners(this.maxConcurrent + 16, this.shutdown.signal);
    this.limits = createLimits({ maxConcurrent: this.maxConcurrent });
    this.loopDone = this.loop().catch((err) => {
      this.failure = err;
      this.running = false;
      this.log.error({ err }, 'annealer loop stopped on an error');
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return this.loopDone;
    this.running = false;
    this.shutdown.abort();
    this.wake();
    await this.loopDone;
    while (this.inFlight.size > 0 || this.buffer.length > 0 || this.flushing) {
      await this.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * Runs the ready checks of the node's active node-roles whose role has a `check` action, in cohort
   * order (see run-checks.ts). Never beside an apply or a remove on the same node: the checks hold the
   * node's lease (the one claims take, across processes) and run inside this process's per-node limit.
   * Waits up to checkWaitMs for the node to be free, then throws ERR_NODE_BUSY. Changes no node-role.
   */
  async checkNode(nodeId: number): Promise<NodeRoleChecks[]> {
    const holder = `${this.workerId}:check:${randomBytes(3).toString('hex')}`;
    return this.limits.schedule(nodeId, async () => {
      const deadline = Date.now() + this.checkWaitMs;
      while (!(await this.store.queue.leaseNode(nodeId, holder, this.now(), this.leaseMs))) {
        if (Date.now() > deadline) {
          throw new AppError(
            'ERR_NODE_BUSY',
            `node ${nodeId} stayed busy (a role is running on it) for ${this.checkWaitMs} ms: run the checks again when it is idle`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      try {
        return await this.runNodeChecks(nodeId);
      } finally {
        await this.store.queue.releaseNode(nodeId, holder);
      }
    });
  }

  private async runNodeChecks(nodeId: number): Promise<NodeRoleChecks[]> {
    const active = (await this.store.nodeRoles.list({ nodeId }, { offset: 0, limit: 10_000 })).filter(
      (nr) => nr.state === 'active' && this.registry.role(nr.role).spec.actions?.check,
    );
    const jobs = await this.prepare(
      active.map((nr) => ({
        id: nr.id,
        nodeId: nr.nodeId,
        roleId: nr.roleId,
        deploymentId: nr.deploymentId,
        generation: nr.generation,
        attempts: nr.attempts,
        runCount: nr.runCount,
        runId: 0,
        attempt: 0,
        startedAt: this.now(),
        remove: false,
      })),
    );
    return runChecks(jobs, {
      registry: this.registry,
      jigs: this.jigs,
      now: this.now,
      log: this.log,
      admin: this.admin,
    });
  }

  /** New work may exist: run the loop now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Resolves once nothing can run any more: no job in flight, no claimable node-role, nothing in
   * transition anywhere and no retry scheduled. Rejects after `timeoutMs` with the watchdog's view.
   */
  async settle(opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let quietRounds = 0;
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.inFlight.size === 0 && this.buffer.length === 0 && !this.flushing) {
        const p = await this.store.queue.pendingCounts(this.now());
        if (p.transition === 0 && p.runnableNow === 0 && p.nextDueAt === null) {
          if (++quietRounds >= 2) return;
        } else quietRounds = 0;
      } else quietRounds = 0;
      if (Date.now() > deadline) {
        throw new Error(
          `annealer did not settle within ${opts.timeoutMs ?? 60_000} ms (${this.inFlight.size} in flight)`,
        );
      }
      this.wake();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async loop(): Promise<void> {
    await this.recover();
    while (this.running) {
      this.woken = false;
      const now = this.now();
      if (now - this.lastRecovery > this.leaseMs / 2) await this.recover();
      if (now - this.lastHeartbeat > this.leaseMs / 3) await this.heartbeat();
      if (now - this.lastWatchdog > this.watchdogMs) await this.watchdog();
      let room = this.maxConcurrent - this.inFlight.size;
      let again = false;
      if (room > 0) {
        // Removals first: a node being torn down should not start new applies.
        const want = Math.min(room, this.batchSize);
        const removable = await this.store.teardown.findRemovable(now, want);
        if (removable.length) {
          const claimed = await this.store.queue.claim(removable, this.workerId, this.now(), this.leaseMs, 'remove');
          if (claimed.length) await this.dispatch(claimed);
          room -= claimed.length;
          again = removable.length === want || claimed.length === 0;
        }
      }
      if (room > 0) {
        const want = Math.min(room, this.batchSize);
        const candidates = await this.store.queue.findRunnable(now, want);
        if (candidates.length) {
          const claimed = await this.store.queue.claim(candidates, this.workerId, this.now(), this.leaseMs);
          if (claimed.length) await this.dispatch(claimed);
          // A full batch means more is probably waiting. Losing every candidate means another worker
          // won them: look again at once, after a short random pause so workers fall out of step.
          if (claimed.length === 0) await new Promise((r) => setTimeout(r, 5 + this.random() * 20));
          again ||= candidates.length === want || claimed.length === 0;
        }
      }
      // Otherwise wait for a completion, a wake-up or the poll, so results accumulate into batches
      // instead of one query per node-role.
      if (!again && !this.woken && this.running) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private async recover(): Promise<void> {
    this.lastRecovery = this.now();
    // Safety net (level-based): teardowns whose last removal another process wrote, or that crashed.
    const finished = await this.store.transaction((tx) =>
      tx.teardown.finalize(`annealer:${this.workerId}`, this.now()),
    );
    if (finished.deployments.length || finished.nodes.length) {
      this.log.info(
        { deployments: finished.deployments.map((d) => d.name), nodes: finished.nodes.map((n) => n.name) },
        'teardown finished',
      );
      this.onAudit();
    }
    this.onRemoved();
    const stranded = await this.store.queue.wakeStranded(this.now());
    if (stranded.length)
      this.log.warn({ nodeRoleIds: stranded }, 'blocked node-roles with every parent active were woken');
    const recovered = await this.store.queue.recoverExpired(this.now());
    if (recovered.length) {
      this.log.warn(
        { nodeRoleIds: recovered },
        'leases expired (a worker crashed or stalled): node-roles returned to todo',
      );
      await this.store.events.append(
        [
          {
            actor: `annealer:${this.workerId}`,
            type: 'node-roles.recovered',
            objectType: 'node-role',
            data: { nodeRoleIds: recovered },
          },
        ],
        this.now(),
      );
    }
  }

  /** Logs why todo node-roles that have been due for longer than watchdogMs are not running. */
  private async watchdog(): Promise<void> {
    const now = this.now();
    this.lastWatchdog = now;
    const waiting = await this.store.watchdog.waiting({}, 200);
    for (const w of waiting) {
      if (w.state !== 'todo' || now - w.nextRunAt < this.watchdogMs) continue;
      this.log.warn(
        { nodeRoleId: w.id, node: w.node, role: w.role, reasons: explainWaiting(w, now) },
        'node-role waiting',
      );
    }
  }

  private async heartbeat(): Promise<void> {
    this.lastHeartbeat = this.now();
    const claims = [...this.inFlight.values()];
    await this.store.queue.heartbeat(
      this.workerId,
      claims.map((c) => c.id),
      claims.map((c) => c.nodeId),
      this.now(),
      this.leaseMs,
    );
  }

  /** Loads what the claimed jobs need in a few batched reads, then schedules them under the limits. */
  private async dispatch(claimed: ClaimedNodeRole[]): Promise<void> {
    this.stats.claimed += claimed.length;
    for (const c of claimed) this.inFlight.set(c.id, c);
    this.stats.inFlight = this.inFlight.size;
    const jobs = await this.prepare(claimed);
    for (const job of jobs) {
      this.limits
        .schedule(job.claim.nodeId, () =>
          runJob(job, {
            registry: this.registry,
            jigs: this.jigs,
            now: this.now,
            random: this.random,
            retry: this.retry,
            log: this.log,
            admin: this.admin,
            shutdown: this.shutdown.signal,
          }),
        )
        .then((completion) => this.enqueue(completion))
        .catch((err) =>
          this.log.error(
            { err, nodeRoleId: job.claim.id },
            'job scheduling failed; its lease will expire and it will re-run',
          ),
        );
    }
  }

  private async prepare(claimed: ClaimedNodeRole[]): Promise<JobInput[]> {
    const missingRoles = claimed.some((c) => !this.roleNames.has(c.roleId));
    if (missingRoles) this.roleNames = new Map([...(await this.store.catalog.ids()).roleIds].map(([n, id]) => [id, n]));
    for (const depId of new Set(claimed.map((c) => c.deploymentId))) {
      if (!this.deploymentNames.has(depId))
        this.deploymentNames.set(depId, (await this.store.deployments.get(depId)).name);
    }
    const nodes = new Map(
      (await this.store.nodes.byIds([...new Set(claimed.map((c) => c.nodeId))])).map((n) => [n.id, n]),
    );
    const wantsAny = claimed.some((c) => this.registry.role(this.roleNames.get(c.roleId)!).wants.length > 0);
    const values = !wantsAny
      ? []
      : await this.store.attribs.committedFor({
          deploymentIds: [...new Set(claimed.map((c) => c.deploymentId))],
          nodeIds: [...nodes.keys()],
          nodeRoleIds: claimed.map((c) => c.id),
        });
    // Walls only for actions that may read them (custom apply or check); default script applies never do.
    const walls = await this.store.nodeRoles.walls(
      claimed.filter((c) => this.registry.role(this.roleNames.get(c.roleId)!).spec.actions).map((c) => c.id),
    );
    const defaults = (name: string) => {
      const a = this.registry.attribs.get(name);
      return { hasDefault: a?.hasDefault ?? false, default: a?.default };
    };
    return claimed.map((claim) => {
      const role = this.registry.role(this.roleNames.get(claim.roleId)!);
      const n = nodes.get(claim.nodeId)!;
      const node = nodeView(n);
      const resolved = resolveAttribs(role.wants, defaults, values, {
        deploymentId: claim.deploymentId,
        nodeId: claim.nodeId,
        nodeRoleId: claim.id,
      });
      return {
        claim,
        role,
        node,
        deployment: this.deploymentNames.get(claim.deploymentId)!,
        attribs: resolved.values,
        missing: resolved.missing,
        generation: claim.generation,
        wall: walls.get(claim.id) ?? {},
      };
    });
  }

  private enqueue(completion: Completion): void {
    this.buffer.push(completion);
    if (this.buffer.length >= this.batchSize || this.buffer.length >= this.inFlight.size) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), 5);
  }

  /** Writes buffered results; one flush at a time, in arrival order. */
  private async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private async write(batch: Completion[]): Promise<void> {
    const now = this.now();
    try {
      const result = await this.store.queue.complete(batch, this.workerId, now);
      if (result.lost.length)
        this.log.warn({ nodeRoleIds: result.lost }, 'lease lost before the result was written; result dropped');
      for (const d of result.finalized.deployments)
        this.log.info({ deployment: d.name, nodes: d.nodes }, 'deployment deleted; its nodes are back in its parent');
      for (const n of result.finalized.nodes) this.log.info({ node: n.name }, 'node retired');
      if (result.errored.length || result.removed.length || batch.some((c) => c.kind === 'error')) this.onAudit();
      if (result.removed.length) this.onRemoved();
    } catch (err) {
      this.log.error(
        { err, count: batch.length },
        'writing results failed; those node-roles will re-run when their leases expire',
      );
    } finally {
      for (const c of batch) this.inFlight.delete(c.claim.id);
      this.stats.completed += batch.length;
      this.stats.inFlight = this.inFlight.size;
      this.wake();
    }
  }
}
