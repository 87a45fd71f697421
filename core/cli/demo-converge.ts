/**
 * The API side of `anneal demo`, through the CLI's client: the site's settings on the `system` deployment
 * (the README walkthrough's attribs), waiting for the lab nodes to register themselves, and converging
 * `system` the way `anneal converge` does: commit, then follow GET /deployments/system/status with its
 * per-layer progress (converge-progress.ts) and the same end conditions (converge-end.ts `isStuck`).
 *
 * Contract: `configureSystem` and `waitForNodes` throw CliError (the API's code, or ERR_CLI on a timeout);
 * `convergeSystem` does not throw for node-role failures: it returns the last status with `ok` false when
 * node-roles failed (nothing more can run) or the deadline passed. An aborted `signal` rejects either
 * wait with the abort reason.
 */
import { CliError, type ApiClient } from './client';
import { isStuck } from './commands/converge-end';
import { createProgress, type StatusDocument } from './commands/converge-progress';

/** The status document with the per-node part the demo reads (docs/api.md). */
export type SystemStatus = Omit<StatusDocument, 'nodes'> & {
  nodes: {
    name: string;
    layers: Record<string, { state: string; total: number }>;
    nodeRoles: { role: string; state: string }[];
  }[];
};

export interface ConvergeResult {
  ok: boolean;
  timedOut: boolean;
  status: SystemStatus;
  /** Nodes (of `nodes`) whose ready-node layer is active. */
  ready: number;
  ms: number;
}

const TOP = 'ready-node';

/** Waits `ms`; rejects with the abort reason as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** PUT …/attribs/<name> {value} for each attrib, then commits the deployment. */
export async function configureSystem(
  api: ApiClient,
  attribs: Record<string, unknown>,
  deployment = 'system',
): Promise<void> {
  for (const [name, value] of Object.entries(attribs)) {
    await api.put(`/deployments/${deployment}/attribs/${name}`, { value });
  }
  await api.post(`/deployments/${deployment}/commit`);
}

/**
 * Polls the status until every name in `names` is a node of `system` with ready-node bound and committed
 * (discovery binds and commits a node right after creating it: a node seen before that is not counted);
 * `progress` hears each new count.
 */
export async function waitForNodes(
  api: ApiClient,
  names: string[],
  opts: {
    timeoutMs: number;
    signal?: AbortSignal;
    progress: (registered: number) => void;
    /** What the error message says about the missing nodes (e.g. the last line of their BMC logs). */
    why: (missing: string[]) => string;
  },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = -1;
  for (;;) {
    const status = await api.get<SystemStatus>('/deployments/system/status');
    const bound = new Set(
      status.nodes
        .filter((n) => n.nodeRoles.some((nr) => nr.role === TOP) && n.nodeRoles.every((nr) => nr.state !== 'proposed'))
        .map((n) => n.name),
    );
    const registered = names.filter((n) => bound.has(n)).length;
    if (registered !== last) opts.progress((last = registered));
    if (registered === names.length) return;
    if (Date.now() > deadline) {
      const missing = names.filter((n) => !bound.has(n));
      throw new CliError(
        `lab nodes did not register within ${opts.timeoutMs / 1000} s: ${missing.join(', ')} missing (${opts.why(missing)})`,
      );
    }
    await sleep(250, opts.signal);
  }
}

/** How many of `nodes` have their ready-node layer active. */
export function readyCount(status: SystemStatus, nodes: string[]): number {
  return status.nodes.filter((n) => nodes.includes(n.name) && n.layers[TOP]?.state === 'active').length;
}

/**
 * Commits `system` and follows its status every 500 ms, with `anneal converge`'s progress on stderr,
 * until every node-role is active (ok when every one of `nodes` is at ready-node), nothing more can run
 * because node-roles failed, or `timeoutMs` passed.
 */
export async function convergeSystem(
  api: ApiClient,
  nodes: string[],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<ConvergeResult> {
  const t0 = Date.now();
  await api.post('/deployments/system/commit');
  const progress = createProgress();
  try {
    for (;;) {
      const status = await api.get<SystemStatus>('/deployments/system/status');
      progress.update(status);
      const ms = Date.now() - t0;
      const ready = readyCount(status, nodes);
      if (status.converged || status.total === 0 || isStuck(status)) {
        return { ok: status.converged && ready === nodes.length, timedOut: false, status, ready, ms };
      }
      if (ms > opts.timeoutMs) return { ok: false, timedOut: true, status, ready, ms };
      await sleep(500, opts.signal);
    }
  } finally {
    progress.stop();
  }
}
