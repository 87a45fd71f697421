/**
 * Typed plugin manifests (DESIGN §4). A barclamp or workload is data (roles, attribs, templates) plus
 * behaviour (each role's actions). Manifests are listed explicitly in barclamps/index.ts and
 * workloads/index.ts and validated at boot by registry.ts. Types only: no I/O here.
 */
import type { ZodType } from 'zod';
import type { JigName, RoleFlag } from '../domain/vocabulary';
import type { ErrorCode } from '../errors/codes';

/** A namespaced attrib (`<barclamp>/<name>`) with its schema. */
export interface AttribSpec<T = unknown> {
  description: string;
  schema: ZodType<T>;
  /** Must pass `schema` (checked at boot). Absent: the attrib must be set before a wanting role runs. */
  default?: T;
  /** Secret values are redacted in API responses, logs, events and run records. */
  secret?: boolean;
}

/** What the annealer hands an action. Everything is re-read for each run; nothing is cached across runs. */
export interface RoleContext {
  node: Readonly<NodeView>;
  role: string;
  deployment: string;
  /**
   * The node-role's generation: it grows when the node-role must run again (attrib change, redeploy,
   * retry of a parent). With `wall`, lets a long action tell "resuming my own work" from "start over".
   */
  generation: number;
  /** What the node-role's last run recorded (`wall` of a done or not-yet result); `{}` at first. */
  wall: Readonly<Record<string, unknown>>;
  /** Resolved (defaults < deployment < node < node-role) and validated values of the role's `wants`. */
  attribs: Readonly<Record<string, unknown>>;
  /** Runs a script where the role's jig runs things (admin host for `local`, the node for `ssh`). */
  exec: Executor;
  /** Renders one of the plugin's templates (templates/<name>) in strict mode. */
  render(template: string, data?: Record<string, unknown>): string;
  log: ActionLogger;
  /** Aborted on timeout or shutdown; actions pass it to anything long-running. */
  signal: AbortSignal;
  now(): number;
  /** anneal's own services for this node (power, facts, network boot); out-of-graph hammers. */
  admin: AdminHooks;
}

/**
 * What an action may ask of anneal itself about the node it runs for. Every method throws AppError on
 * failure with anneal's codes (e.g. ERR_POWER_UNREACHABLE is operational, so the annealer retries).
 */
export interface AdminHooks {
  /** The node's BMC, through the power service and its per-BMC limits. */
  power: {
    status(): Promise<'on' | 'off'>;
    act(action: 'on' | 'off' | 'cycle' | 'reset'): Promise<void>;
    nextBoot(device: 'pxe' | 'disk'): Promise<void>;
  };
  /** Merges `facts` into the node's facts (top-level keys replace; nothing is written when every key is unchanged). */
  recordFacts(facts: Record<string, unknown>): Promise<void>;
  /**
   * Sets committed node-scope attribs (each validated against its schema: ERR_ATTRIB_INVALID) for other
   * roles to `want`, e.g. inventory's findings. Node-roles wanting a value that changed re-run, with their
   * descendants; an unchanged value re-runs nothing.
   */
  recordAttribs(values: Record<string, unknown>): Promise<void>;
  /**
   * The node's BMC beyond power, for hardware drivers (raid, bios): its settings (never the password) and
   * single Redfish requests made with its stored credentials through the same per-BMC limits as power.
   * `redfish` throws ERR_POWER_NOT_CONFIGURED unless the node's BMC driver is `redfish`, and otherwise the
   * power errors (ERR_POWER_UNREACHABLE and ERR_POWER_FAILED operational, ERR_POWER_AUTH user).
   */
  bmc: {
    settings(): Promise<BmcSettingsView>;
    redfish(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  };
  /**
   * Every node of this node's deployment except system nodes (the service node): name and management
   * address (null when unknown), ordered by node id, read afresh on each call. For service roles that
   * serve all nodes, e.g. dns-service's A/PTR records.
   */
  deploymentNodes(): Promise<DeploymentNodeView[]>;
  /**
   * The committed node-scope value of attrib `name` on each node of this node's deployment that has one
   * (system nodes excluded), ordered by node id: what other nodes' roles recorded with recordAttribs,
   * e.g. every node's `ssh-access/host-keys`.
   */
  deploymentAttrib(name: string): Promise<DeploymentAttribView[]>;
  /**
   * The members of cluster role `role` in the deployment this node-role runs for: every node with a
   * node-role of that role that is not on its way out (removing members are left out, so a re-run after
   * a member leaves renders the smaller cluster), ordered by node id, read afresh on each call.
   */
  clusterMembers(role: string): Promise<DeploymentNodeView[]>;
  /** IPAM: every allocation of the nodes of this node's deployment, with its network, by network and address. */
  deploymentAllocations(): Promise<AllocationView[]>;
  /** anneal's managed SSH public key line (the key its ssh jig logs in with), or null when it has none. */
  managedPublicKey(): Promise<string | null>;
  /** The node's network-boot install (the provisioner). */
  install: {
    /** Records a new install for the node's next network boot, replacing any pending one. */
    request(opts?: { os?: string }): Promise<InstallView>;
    /** The node's latest install, or null. */
    current(): Promise<InstallView | null>;
  };
}

/** A node's BMC settings as actions see them: no password, only whether one is stored. */
export interface BmcSettingsView {
  driver: string;
  address: string | null;
  username: string | null;
  hasPassword: boolean;
}

/** A node of the deployment as {@link AdminHooks.deploymentNodes} lists it. */
export interface DeploymentNodeView {
  name: string;
  address: string | null;
}

/** One node's value of an attrib, as {@link AdminHooks.deploymentAttrib} lists it. */
export interface DeploymentAttribView {
  name: string;
  address: string | null;
  value: unknown;
}

/** An IPAM allocation with its network, as {@link AdminHooks.deploymentAllocations} lists it. */
export interface AllocationView {
  node: string;
  address: string;
  network: string;
  /** The network's CIDR and prefix length, e.g. 192.168.50.0/24 and 24. */
  cidr: string;
  prefix: number;
  gateway: string | null;
  vlan: number | null;
  category: string;
  /** The nodes' NIC of the network (null: not configured by network-config). */
  interface: string | null;
}

/** An install as actions see it. */
export interface InstallView {
  id: number;
  os: string;
  state: string;
  requestedAt: number;
  completedAt: number | null;
}

/** One ready check: what it checked, whether it passed, what it saw, and what to do when it failed. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Set when the check could not run to its end (it threw): the error's stable code. */
  code?: ErrorCode;
  detail: string;
  remediation: string;
}

/**
 * A role's ready checks, run on demand (GET /nodes/{id}/checks) for active node-roles. MUST NOT change
 * the node. Throwing counts as one failed check named after the role (an unreachable node, say).
 */
export type CheckAction = (ctx: RoleContext) => Promise<CheckResult[]>;

export interface NodeView {
  id: number;
  name: string;
  macs: string[];
  bmcAddress: string | null;
  /** Management address (what the ssh jig connects to). */
  address: string | null;
  admin: boolean;
  system: boolean;
  facts: Record<string, unknown>;
}

export interface ActionLogger {
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What ran (`bash <template>`), when runTemplate ran it; recorded on the run. */
  command?: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

/**
 * Runs one script. Contract: resolves with the exit code and output tails whatever the exit code;
 * rejects with AppError ERR_REMOTE_UNREACHABLE / ERR_REMOTE_TIMEOUT for operational failures.
 */
export interface Executor {
  run(script: string, opts?: ExecOptions): Promise<ExecResult>;
}

/** `done:false` is "not yet": the node-role is requeued after `requeueAfterMs`, not failed. */
export type ActionResult =
  | { done: true; wall?: Record<string, unknown>; output?: ExecResult }
  | { done: false; requeueAfterMs: number; reason: string; wall?: Record<string, unknown> };

/** MUST be idempotent unless the role is `destructive`: it runs again after crashes and attrib changes. */
export type Action = (ctx: RoleContext) => Promise<ActionResult>;

export interface RoleSpec {
  description: string;
  /** Roles that must be active first (bound on the same node if implicit; all members if cluster). */
  requires?: string[];
  /** Soft ordering: when both are bound on a node, this role runs before those. */
  precedes?: string[];
  flags?: RoleFlag[];
  /** Attribs this role reads; a change to any of them re-runs it and its descendants. */
  wants?: string[];
  /** Default `noop`. */
  jig?: JigName;
  /** Per-run timeout; default 10 minutes. */
  timeoutMs?: number;
  /**
   * Run again whenever a new node-role that requires this one is bound (a service whose work covers every
   * node that uses it, e.g. DNS records for every client): the new child waits for that run; existing
   * children do not re-run.
   */
  rerunOnNewChild?: boolean;
  /** Script exit codes that mean "try again later" (operational) rather than a terminal failure. */
  transientExitCodes?: number[];
  /** Template files (under the plugin's templates/ directory) the actions use; compiled at boot. */
  templates?: string[];
  /**
   * Why removing this role leaves the node as it is (e.g. "inventory only reads the node"). Every role
   * has either this or a `remove` action; the registry refuses a role with neither or both.
   */
  noRemove?: string;
  actions?: {
    /** Default for `local`/`ssh` jigs: render templates/<role>.sh.hbs and run it. Default for `noop`: done. */
    apply?: Action;
    /**
     * Undoes what apply did on the node (files restored, daemons it started stopped). Runs when the
     * node-role is unbound, its deployment deleted or its node moved or retired, after everything that
     * depends on it is gone; same context as apply. MUST be idempotent (it runs again after a crash) and
     * succeed when there is nothing left to undo. `done: false` is "not yet" (requeued, e.g. draining).
     */
    remove?: Action;
    check?: CheckAction;
  };
}

export interface PluginManifest {
  kind: 'barclamp' | 'workload';
  name: string;
  version: string;
  description: string;
  /** Absolute directory of the plugin (pass `__dirname`); templates live in `<dir>/templates`. */
  dir: string;
  attribs?: Record<string, AttribSpec>;
  roles: Record<string, RoleSpec>;
}

export type BarclampManifest = Omit<PluginManifest, 'kind'>;

export function defineBarclamp(manifest: BarclampManifest): PluginManifest {
  return { kind: 'barclamp', ...manifest };
}

export function defineWorkload(manifest: BarclampManifest): PluginManifest {
  return { kind: 'workload', ...manifest };
}
