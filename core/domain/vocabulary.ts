/**
 * The field's vocabulary as types (DESIGN §1). Pure: no I/O.
 */
export const nodeRoleStates = ['proposed', 'blocked', 'todo', 'transition', 'active', 'error'] as const;
export type NodeRoleState = (typeof nodeRoleStates)[number];

export const deploymentStates = ['proposed', 'committed'] as const;
export type DeploymentState = (typeof deploymentStates)[number];

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

export const runStatuses = ['running', 'succeeded', 'failed', 'requeued', 'lost'] as const;
export type RunStatus = (typeof runStatuses)[number];

/** Power drivers (hammers) a node's BMC can be driven with. */
export const bmcDriverNames = ['ipmi', 'redfish', 'ssh'] as const;
export type BmcDriverName = (typeof bmcDriverNames)[number];

/** Power actions an operator can ask for; `status` only reads. */
export const powerActions = ['on', 'off', 'cycle', 'reset'] as const;
export type PowerActionName = (typeof powerActions)[number];
