/**
 * The one registry of stable error codes. Every code is documented in docs/errors.md (a test checks
 * both directions). `kind` drives the annealer: user → error at once, operational → retry with
 * backoff, unexpected → error and log with stack.
 */
export type ErrorKind = 'user' | 'operational' | 'unexpected';

export interface ErrorCodeSpec {
  status: number;
  kind: ErrorKind;
  description: string;
}

export const errorCodes = {
  ERR_INPUT_INVALID: { status: 400, kind: 'user', description: 'The request body, query or path failed validation.' },
  ERR_JSON_MALFORMED: { status: 400, kind: 'user', description: 'The request body is not valid JSON.' },
  ERR_BODY_TOO_LARGE: { status: 413, kind: 'user', description: 'The request body exceeds the size limit.' },
  ERR_UNAUTHENTICATED: { status: 401, kind: 'user', description: 'No valid bearer token was presented.' },
  ERR_FORBIDDEN: { status: 403, kind: 'user', description: "The token's role may not perform this action." },
  ERR_NOT_FOUND: { status: 404, kind: 'user', description: 'No such route.' },
  ERR_NODE_NOT_FOUND: { status: 404, kind: 'user', description: 'No node has that id or name.' },
  ERR_DEPLOYMENT_NOT_FOUND: { status: 404, kind: 'user', description: 'No deployment has that id or name.' },
  ERR_ROLE_NOT_FOUND: { status: 404, kind: 'user', description: 'No role has that id or name.' },
  ERR_NODE_ROLE_NOT_FOUND: { status: 404, kind: 'user', description: 'No node-role has that id.' },
  ERR_RUN_NOT_FOUND: { status: 404, kind: 'user', description: 'No run has that id.' },
  ERR_ATTRIB_NOT_FOUND: { status: 404, kind: 'user', description: 'No attrib has that name.' },
  ERR_BARCLAMP_NOT_FOUND: { status: 404, kind: 'user', description: 'No barclamp has that name.' },
  ERR_TOKEN_NOT_FOUND: { status: 404, kind: 'user', description: 'No API token has that id or name.' },
  ERR_INSTALL_NOT_FOUND: {
    status: 404,
    kind: 'user',
    description: 'No install matches: the node has none, or the token is unknown, superseded or spent.',
  },
  ERR_ARTIFACT_NOT_FOUND: {
    status: 404,
    kind: 'user',
    description: 'The install has no artifact of that name (each OS has its own set).',
  },
  ERR_NETWORK_NOT_FOUND: { status: 404, kind: 'user', description: 'No network has that id or name.' },
  ERR_RANGE_NOT_FOUND: { status: 404, kind: 'user', description: 'The network has no range of that name.' },
  ERR_ALLOCATION_NOT_FOUND: {
    status: 404,
    kind: 'user',
    description: 'The network has no allocation of that address.',
  },
  ERR_ADDRESS_TAKEN: {
    status: 409,
    kind: 'user',
    description: 'The address is already allocated on that network, or the node already has another one there.',
  },
  ERR_RANGE_EXHAUSTED: { status: 409, kind: 'user', description: 'Every address of the range is allocated.' },
  ERR_ADDRESS_OUTSIDE: {
    status: 422,
    kind: 'user',
    description: 'The address is not a host address of the network, is its gateway, or is outside the named range.',
  },
  ERR_CONFLICT: { status: 409, kind: 'user', description: 'The object was changed concurrently or already exists.' },
  ERR_NAME_TAKEN: { status: 409, kind: 'user', description: 'Another object already has that name.' },
  ERR_STATE_INVALID: {
    status: 409,
    kind: 'user',
    description: 'The object is not in a state that allows this action (e.g. retry of an active node-role).',
  },
  ERR_NOT_BOUND: {
    status: 404,
    kind: 'user',
    description: 'The role is not bound on that node in that deployment: there is nothing to unbind.',
  },
  ERR_FORCE_REQUIRED: {
    status: 409,
    kind: 'user',
    description:
      'The action is destructive or skips cleanup (re-running a destructive role that ran, forcing a removal): repeat it with force.',
  },
  ERR_FORCE_INVALID: {
    status: 422,
    kind: 'user',
    description: 'force was given where it means nothing (e.g. re-running a role that is not destructive).',
  },
  ERR_DEPLOYMENT_PROTECTED: {
    status: 409,
    kind: 'user',
    description: 'The system deployment cannot be deleted; nodes leave it by moving or retiring.',
  },
  ERR_BLUEPRINT_INVALID: {
    status: 400,
    kind: 'user',
    description:
      'The blueprint (or overlay, or saved plan) is not valid: YAML, format, unknown roles, attribs or groups, values failing their schema, a secret given as a value.',
  },
  ERR_PLACEMENT_UNSATISFIABLE: {
    status: 422,
    kind: 'user',
    description: "A group's count cannot be met: too few nodes here match its selector.",
  },
  ERR_BLUEPRINT_CONFLICT: {
    status: 409,
    kind: 'user',
    description:
      "The blueprint's deployment exists under another parent or is being deleted, or its parent does not exist.",
  },
  ERR_PLAN_STALE: {
    status: 409,
    kind: 'user',
    description: 'The saved plan was made from another state of the site: what it was made from has changed since.',
  },
  ERR_SECRET_NOT_FOUND: {
    status: 422,
    kind: 'user',
    description: 'A blueprint refers to a site secret that is not set here.',
  },
  ERR_MOVE_INVALID: {
    status: 422,
    kind: 'user',
    description: 'The node cannot move there (a service node, a retiring node, or a deployment being deleted).',
  },
  ERR_NODE_BUSY: {
    status: 409,
    kind: 'operational',
    description: 'Something else ran on the node for longer than the checks wait; run them again when it is idle.',
  },
  ERR_CHECK_FAILED: {
    status: 502,
    kind: 'operational',
    description:
      'A ready check could not run to its end (it threw, timed out or the node was busy); the cause is attached.',
  },
  ERR_BIND_INVALID: {
    status: 422,
    kind: 'user',
    description:
      'The role cannot be bound there (e.g. a service role on a normal node, or a deployment without a service node).',
  },
  ERR_ATTRIB_INVALID: { status: 422, kind: 'user', description: 'An attrib value fails the attrib schema.' },
  ERR_ATTRIB_NOT_WANTED: {
    status: 422,
    kind: 'user',
    description: 'The attrib cannot be set on a node-role whose role does not want it.',
  },
  ERR_TEMPLATE_RENDER: {
    status: 422,
    kind: 'user',
    description: 'A template referenced a missing value or failed to render (strict mode).',
  },
  ERR_PLUGIN_INVALID: {
    status: 500,
    kind: 'unexpected',
    description: 'A barclamp or workload manifest failed validation at boot; the message names plugin, role and field.',
  },
  ERR_PLUGIN_DUPLICATE: { status: 500, kind: 'unexpected', description: 'Two plugins, roles or attribs share a name.' },
  ERR_PLUGIN_REQUIRES_UNRESOLVED: {
    status: 500,
    kind: 'unexpected',
    description: 'A role requires or precedes a role that no plugin declares.',
  },
  ERR_PLUGIN_CYCLE: {
    status: 500,
    kind: 'unexpected',
    description: 'The role graph has a cycle; the message prints it.',
  },
  ERR_PLUGIN_ATTRIB_UNKNOWN: {
    status: 500,
    kind: 'unexpected',
    description: 'A role wants an attrib nobody declares.',
  },
  ERR_PLUGIN_ATTRIB_DEFAULT: {
    status: 500,
    kind: 'unexpected',
    description: "An attrib's default value fails the attrib's own schema.",
  },
  ERR_PLUGIN_TEMPLATE: {
    status: 500,
    kind: 'unexpected',
    description: 'A plugin template is missing or does not compile.',
  },
  ERR_REMOTE_UNREACHABLE: { status: 502, kind: 'operational', description: 'The node could not be reached.' },
  ERR_REMOTE_TIMEOUT: {
    status: 504,
    kind: 'operational',
    description: 'The action did not finish within its timeout.',
  },
  ERR_SSH_AUTH: {
    status: 502,
    kind: 'operational',
    description: "The node rejected anneal's SSH key (or the key cannot be used).",
  },
  ERR_SSH_HOST_KEY_CHANGED: {
    status: 502,
    kind: 'user',
    description: 'The node presented a different SSH host key from the one recorded on first contact; nothing was run.',
  },
  ERR_COMMAND_FAILED: {
    status: 500,
    kind: 'user',
    description: "The action's script exited non-zero; the run records exit code and output tails.",
  },
  ERR_COMMAND_TRANSIENT: {
    status: 503,
    kind: 'operational',
    description: 'The script exited with a code its action marks transient; it will be retried.',
  },
  ERR_POWER_UNREACHABLE: {
    status: 502,
    kind: 'operational',
    description: "The node's BMC did not answer.",
  },
  ERR_POWER_NOT_CONFIGURED: {
    status: 409,
    kind: 'user',
    description: 'The node has no BMC address, user or password to reach its BMC with.',
  },
  ERR_POWER_AUTH: { status: 422, kind: 'user', description: "The node's BMC rejected its credentials." },
  ERR_POWER_FAILED: {
    status: 502,
    kind: 'operational',
    description: 'The BMC answered a power or boot request with an error.',
  },
  ERR_JIG_UNKNOWN: { status: 500, kind: 'user', description: "The role's jig is not available in this server." },
  ERR_DATABASE_UNAVAILABLE: { status: 503, kind: 'operational', description: 'The database could not be reached.' },
  ERR_LAB_PREREQUISITE: {
    status: 500,
    kind: 'user',
    description: 'The lab cannot run on this host: not root, or a program it needs is missing.',
  },
  ERR_LAB_NOT_FOUND: { status: 404, kind: 'user', description: 'No lab has that name in the state directory.' },
  ERR_LAB_NODE_NOT_FOUND: { status: 404, kind: 'user', description: 'The lab has no node with that index or name.' },
  ERR_LAB_CONFLICT: {
    status: 409,
    kind: 'user',
    description:
      'The lab clashes with another lab or the host (its name, subnet, ports or MACs are taken) or with its own settings.',
  },
  ERR_LAB_LOCKED: {
    status: 409,
    kind: 'operational',
    description: 'Another lab command is running on the same lab.',
  },
  ERR_LAB_COMMAND_FAILED: {
    status: 500,
    kind: 'operational',
    description: 'A step of building, changing or removing the lab failed; details name the command and its stderr.',
  },
  ERR_INTERNAL: {
    status: 500,
    kind: 'unexpected',
    description: 'An unexpected error; details are in the server log, not the response.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorCodes;
