/**
 * Attrib resolution (DESIGN §1): defaults < deployment < node < node-role. Pure.
 */
import type { AttribScope } from './vocabulary';

export interface ScopedValue {
  attrib: string;
  scope: AttribScope;
  targetId: number;
  value: unknown;
}

export interface AttribDefault {
  hasDefault: boolean;
  default: unknown;
}

export interface ResolveTarget {
  deploymentId: number;
  nodeId: number;
  nodeRoleId: number;
}

export interface Resolved {
  values: Record<string, unknown>;
  /** Wanted attribs with no default and no value at any scope. */
  missing: string[];
  /** Where each value came from, for run records and `anneal node-roles show`. */
  sources: Record<string, AttribScope | 'default'>;
}

const strength: Record<AttribScope, number> = { deployment: 1, node: 2, 'node-role': 3 };

function applies(v: ScopedValue, t: ResolveTarget): boolean {
  return (
    (v.scope === 'deployment' && v.targetId === t.deploymentId) ||
    (v.scope === 'node' && v.targetId === t.nodeId) ||
    (v.scope === 'node-role' && v.targetId === t.nodeRoleId)
  );
}

export function resolveAttribs(
  wants: readonly string[],
  defaults: (name: string) => AttribDefault,
  values: readonly ScopedValue[],
  target: ResolveTarget,
): Resolved {
  const out: Resolved = { values: {}, missing: [], sources: {} };
  for (const name of wants) {
    let best: ScopedValue | undefined;
    for (const v of values) {
      if (v.attrib !== name || !applies(v, target)) continue;
      if (!best || strength[v.scope] > strength[best.scope]) best = v;
    }
    if (best) {
      out.values[name] = best.value;
      out.sources[name] = best.scope;
      continue;
    }
    const d = defaults(name);
    if (d.hasDefault) {
      out.values[name] = d.default;
      out.sources[name] = 'default';
    } else {
      out.missing.push(name);
    }
  }
  return out;
}

/** Replaces the values of secret attribs for anything that leaves the process (runs, events, API). */
export function redactAttribs(
  values: Record<string, unknown>,
  isSecret: (name: string) => boolean,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, isSecret(k) ? '[redacted]' : v]));
}
