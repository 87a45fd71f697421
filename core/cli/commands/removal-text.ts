/**
 * Text for the answers of the teardown routes (unbind, deployments delete, nodes move and delete): which
 * node-roles are being removed (their remove actions run), were deleted at once (never ran, or --force),
 * run again (a cluster lost a member) or were bound (a move). `--json` prints the answer instead.
 */

/** The id lists a teardown answer may carry; absent ones count as empty. */
export interface RemovalIds {
  removing?: number[];
  deleted?: number[];
  rerun?: number[];
  bound?: number[];
}

/** `node-role 7` or `node-roles 7, 8`. */
export function nodeRoleIds(ids: number[]): string {
  return `node-role${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`;
}

/** `removing node-roles 7, 8; deleted node-role 9; …`, the empty lists left out; `nothing to remove` if all are. */
export function removalSummary(a: RemovalIds): string {
  const parts = (
    [
      ['removing', a.removing],
      ['deleted', a.deleted],
      ['re-running', a.rerun],
      ['bound', a.bound],
    ] as const
  )
    .filter(([, ids]) => ids?.length)
    .map(([verb, ids]) => `${verb} ${nodeRoleIds(ids!)}${verb === 're-running' ? ' (a cluster lost a member)' : ''}`);
  return parts.join('; ') || 'nothing to remove';
}

/** A name from an answer field that may be a name or a record with one. */
export function nameOf(v: unknown, fallback = '-'): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  const name = (v as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : fallback;
}
