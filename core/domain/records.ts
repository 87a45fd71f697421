/**
 * The records the store returns and the services, API and annealer pass around. Plain data: numbers
 * (timestamps are ms since the epoch), parsed JSON, no ORM types.
 */
import type {
  AttribScope,
  BmcDriverName,
  DeploymentState,
  NodeRoleState,
  NodeState,
  RunAction,
  RunStatus,
} from './vocabulary';

export interface NodeRecord {
  id: number;
  name: string;
  description: string;
  macs: string[];
  bmcAddress: string | null;
  bmcUsername: string | null;
  /** Power driver the BMC speaks. */
  bmcDriver: BmcDriverName;
  /** Management address the ssh jig connects to. */
  address: string | null;
  /** SHA256 fingerprint of the SSH host key recorded on first contact. */
  sshHostKey: string | null;
  powerState: 'on' | 'off' | 'unknown';
  /** When powerState was last read from the BMC; null: never. */
  powerCheckedAt: number | null;
  bootDevice: 'pxe' | 'disk' | 'unknown';
  alive: boolean;
  available: boolean;
  admin: boolean;
  system: boolean;
  state: NodeState;
  facts: Record<string, unknown>;
  /** Operator tags (lower case, sorted): what blueprint selectors and node filters match. */
  tags: string[];
  deploymentId: number;
  createdAt: number;
  updatedAt: number;
}

export interface DeploymentRecord {
  id: number;
  name: string;
  description: string;
  parentId: number | null;
  system: boolean;
  state: DeploymentState;
  createdAt: number;
  updatedAt: number;
}

export interface RoleRecord {
  id: number;
  name: string;
  barclamp: string;
  description: string;
  flags: string[];
  jig: string;
  cohort: number;
  requires: string[];
  precedes: string[];
  wants: string[];
}

export interface ErrorRecord {
  code: string;
  message: string;
  kind: string;
  details?: unknown;
}

export interface NodeRoleRecord {
  id: number;
  deploymentId: number;
  roleId: number;
  nodeId: number;
  role: string;
  node: string;
  deployment: string;
  state: NodeRoleState;
  cohort: number;
  generation: number;
  observedGeneration: number;
  attempts: number;
  runCount: number;
  nextRunAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: ErrorRecord | null;
  wall: Record<string, unknown>;
  updatedAt: number;
}

export interface RunRecord {
  id: number;
  /** The node-role and node it ran for; both may be gone since (a removal's run, a retired node). */
  nodeRoleId: number;
  nodeId: number;
  /** Which of the role's actions ran. */
  action: RunAction;
  attempt: number;
  worker: string;
  status: RunStatus;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  stdoutTail: string;
  stderrTail: string;
  /** What ran when the action ran a script (`bash ntp-client.sh.hbs on 10.0.0.5 over ssh`), else null. */
  command: string | null;
  inputs: Record<string, unknown>;
  error: ErrorRecord | null;
}

export interface EventRecord {
  id: number;
  at: number;
  actor: string;
  type: string;
  objectType: string;
  objectId: number | null;
  data: Record<string, unknown>;
}

export interface AttribValueRecord {
  attrib: string;
  scope: AttribScope;
  targetId: number;
  proposed: unknown;
  committed: unknown;
  hasProposed: boolean;
  hasCommitted: boolean;
}
