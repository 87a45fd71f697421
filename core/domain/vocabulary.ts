/**
 * The field's vocabulary as types (DESIGN §1). Pure: no I/O.
 */
/**
 * Node-role states. The way up: proposed → blocked/todo → transition → active (or error). The way out
 * (unbind, teardown, move, retire): `removing` (waits until nothing that depends on it is left, then runs
 * its role's remove action; the record goes when it succeeds) or `remove-error` (the remove failed;
 * retry runs it again, force deletes the record without running it).
 */
export const nodeRoleStates = [
  'proposed',
  'blocked',
  'todo',
  'transition',
  'active',
  'error',
  'removing',
  'remove-error',
] as const;
export type NodeRoleState = (typeof nodeRoleStates)[number];

/** States of a node-role on its way out. */
export const removalStates: readonly NodeRoleState[] = ['removing', 'remove-error'];

/** `deleting`: its node-roles are being removed; the record goes (nodes back to the parent) when none is left. */
export const deploymentStates = ['proposed', 'committed', 'deleting'] as const;
export type DeploymentState = (typeof deploymentStates)[number];

/** `retiring`: its node-roles are being removed; the record, allocations and secrets go when none is left. */
export const nodeStates = ['proposed', 'committed', 'retiring'] as const;
export type NodeState = (typeof nodeStates)[number];

export const roleFlags = [
  'implicit',
  'cluster',
  'discovery',
  'bootstrap',
  'milestone',
  'destructive',
  'service',
  'powersave',
] as const;
export type RoleFlag = (typeof roleFlags)[number];

/** How an action executes: on the node over SSH, on the admin host, or not at all. */
export const jigNames = ['noop', 'local', 'ssh'] as const;
export type JigName = (typeof jigNames)[number];

/** Attrib scopes, from weakest to strongest; reads resolve defaults < deployment < node < node-role. */
export const attribScopes = ['deployment', 'node', 'node-role'] as const;
export type AttribScope = (typeof attribScopes)[number];

/** Which action of a role a run ran. */
export const runActions = ['apply', 'remove'] as const;
export type RunAction = (typeof runActions)[number];

export const runStatuses = ['running', 'succeeded', 'failed', 'requeued', 'lost'] as const;
export type RunStatus = (typeof runStatuses)[number];

/** Power drivers (hammers) a node's BMC can be driven with. */
export const bmcDriverNames = ['ipmi', 'redfish', 'ssh'] as const;
export type BmcDriverName = (typeof bmcDriverNames)[number];

/** Power actions an operator can ask for; `status` only reads. */
export const powerActions = ['on', 'off', 'cycle', 'reset'] as const;
export type PowerActionName = (typeof powerActions)[number];

/** The name of a deployment's service node (the phantom node that hosts its service roles). */
export function serviceNodeName(deployment: string): string {
  return `${deployment}.service.anneal.internal`;
}
