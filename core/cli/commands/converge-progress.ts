/**
 * Converge progress, one bar per layer of the layer cake (GET /deployments/{ref}/status), on stderr.
 *
 * - stderr is a terminal: a cli-progress MultiBar redrawn in place, one bar per layer (active/total).
 * - otherwise (CI logs, pipes): one plain line per layer whose counts changed, at most once per second
 *   (`flush` prints whatever changed since, so the last state is always in the log).
 * Both only write to stderr, so stdout stays for the result (`--json`).
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/**
 * Node-roles per state. `removing` (its remove action is queued or runs, once what depends on it is gone)
 * and `remove-error` (its remove action failed) are the way out: unbind, deployment delete, node move or
 * retire. A server from before teardown leaves them out; they read as 0.
 */
export type Counts = Record<'proposed' | 'blocked' | 'todo' | 'transition' | 'active' | 'error', number> &
  Partial<Record<'removing' | 'remove-error', number>>;

export interface LayerTotal {
  total: number;
  counts: Partial<Counts>;
}

/** GET /deployments/{ref}/status (docs/api.md); only what the CLI reads is typed. */
export interface StatusDocument {
  deployment: { id: number; name: string; state: string };
  layers: string[];
  nodes: unknown[];
  total: number;
  counts: Counts;
  layerTotals: Record<string, LayerTotal>;
  converged: boolean;
  failing: {
    nodeRoleId: number;
    node: string;
    role: string;
    layer: string;
    /** `error` or `remove-error`; servers from before teardown leave it out. */
    state?: string;
    attempts: number;
    error: { code: string; message: string; details?: Record<string, unknown> } | null;
  }[];
}

/**
 * `managed-node         3/4 active, 1 running, 2 removing`: the counts other than active that are not
 * zero, removals (`removing`, `remove-error`) last.
 */
export function layerLine(layer: string, t: LayerTotal, width = 0): string {
  const c = t.counts;
  const rest = (
    [
      ['transition', 'running'],
      ['todo', 'todo'],
      ['blocked', 'blocked'],
      ['proposed', 'proposed'],
      ['error', 'error'],
      ['removing', 'removing'],
      ['remove-error', 'remove-error'],
    ] as const
  )
    .filter(([k]) => (c[k] ?? 0) > 0)
    .map(([k, label]) => `, ${c[k]} ${label}`)
    .join('');
  return `${layer.padEnd(width)}  ${c.active ?? 0}/${t.total} active${rest}`;
}

/** `, 2 removing, 1 remove-error` for a headline; empty when nothing is on its way out. */
export function removalCounts(c: Partial<Counts>): string {
  return (['removing', 'remove-error'] as const)
    .filter((k) => (c[k] ?? 0) > 0)
    .map((k) => `, ${c[k]} ${k}`)
    .join('');
}

export interface ConvergeProgress {
  update(s: StatusDocument): void;
  /** Prints the last state (plain mode) or stops redrawing (terminal); call once, at the end. */
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, now = () => Date.now()): ConvergeProgress {
  return stream.isTTY ? terminalProgress(stream) : plainProgress(stream, now);
}

function terminalProgress(stream: NodeJS.WriteStream): ConvergeProgress {
  const multi = new MultiBar(
    {
      stream,
      format: ' {layer} |{bar}| {value}/{total} active{rest}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      barsize: 30,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, SingleBar>();
  let width = 0;
  return {
    update(s) {
      width = Math.max(width, ...s.layers.map((l) => l.length));
      for (const layer of s.layers) {
        const t = s.layerTotals[layer]!;
        const rest = layerLine('', t).replace(/^\s*\d+\/\d+ active/, '');
        const payload = { layer: layer.padEnd(width), rest };
        const bar = bars.get(layer);
        if (bar) {
          bar.setTotal(t.total);
          bar.update(t.counts.active ?? 0, payload);
        } else bars.set(layer, multi.create(t.total, t.counts.active ?? 0, payload));
      }
    },
    stop: () => multi.stop(),
  };
}

function plainProgress(stream: NodeJS.WriteStream, now: () => number): ConvergeProgress {
  const printed = new Map<string, string>();
  let last: StatusDocument | undefined;
  let lastAt = -Infinity;
  const flush = () => {
    if (!last) return;
    const width = Math.max(...last.layers.map((l) => l.length));
    for (const layer of last.layers) {
      const line = layerLine(layer, last.layerTotals[layer]!, width);
      if (printed.get(layer) === line) continue;
      printed.set(layer, line);
      stream.write(`${last.deployment.name}: ${line}\n`);
    }
    lastAt = now();
  };
  return {
    update(s) {
      last = s;
      if (now() - lastAt >= 1000) flush();
    },
    stop: flush,
  };
}
