/** Row ↔ record conversions shared by the repositories. */
import type {
  DeploymentRecord,
  ErrorRecord,
  EventRecord,
  NodeRecord,
  NodeRoleRecord,
  RunRecord,
} from '../domain/records';
import type { DeploymentState, NodeRoleState, NodeState, RunAction, RunStatus } from '../domain/vocabulary';

export const num = (v: bigint | number): number => Number(v);
export const numOrNull = (v: bigint | number | null): number | null => (v === null ? null : Number(v));
export const big = (v: number): bigint => BigInt(Math.trunc(v));

export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null || text === '') return fallback;
  return JSON.parse(text) as T;
}

export interface NodeRow {
  id: number;
  name: string;
  description: string;
  macs: string;
  bmcAddress: string | null;
  bmcUsername: string | null;
  bmcDriver: string;
  powerCheckedAt: bigint | null;
  address: string | null;
  sshHostKey: string | null;
  powerState: string;
  bootDevice: string;
  alive: boolean;
  available: boolean;
  admin: boolean;
  system: boolean;
  state: string;
  facts: string;
  tags: string;
  deploymentId: number;
  createdAt: bigint;
  updatedAt: bigint;
}

export function nodeRecord(r: NodeRow): NodeRecord {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    macs: parseJson<string[]>(r.macs, []),
    bmcAddress: r.bmcAddress,
    bmcUsername: r.bmcUsername,
    bmcDriver: r.bmcDriver as NodeRecord['bmcDriver'],
    address: r.address,
    sshHostKey: r.sshHostKey,
    powerState: r.powerState as NodeRecord['powerState'],
    bootDevice: r.bootDevice as NodeRecord['bootDevice'],
    powerCheckedAt: numOrNull(r.powerCheckedAt),
    alive: r.alive,
    available: r.available,
    admin: r.admin,
    system: r.system,
    state: r.state as NodeState,
    facts: parseJson<Record<string, unknown>>(r.facts, {}),
    tags: parseJson<string[]>(r.tags, []),
    deploymentId: r.deploymentId,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
  };
}

export function deploymentRecord(r: {
  id: number;
  name: string;
  description: string;
  parentId: number | null;
  system: boolean;
  state: string;
  createdAt: bigint;
  updatedAt: bigint;
}): DeploymentRecord {
  return { ...r, state: r.state as DeploymentState, createdAt: num(r.createdAt), updatedAt: num(r.updatedAt) };
}

export const nodeRoleInclude = {
  role: { select: { name: true } },
  node: { select: { name: true } },
  deployment: { select: { name: true } },
} as const;

export interface NodeRoleRow {
  id: number;
  deploymentId: number;
  roleId: number;
  nodeId: number;
  state: string;
  cohort: number;
  generation: number;
  observedGeneration: number;
  attempts: number;
  runCount: number;
  nextRunAt: bigint;
  leaseOwner: string | null;
  leaseUntil: bigint | null;
  lastError: string | null;
  wall: string;
  updatedAt: bigint;
  role: { name: string };
  node: { name: string };
  deployment: { name: string };
}

export function nodeRoleRecord(r: NodeRoleRow): NodeRoleRecord {
  return {
    id: r.id,
    deploymentId: r.deploymentId,
    roleId: r.roleId,
    nodeId: r.nodeId,
    role: r.role.name,
    node: r.node.name,
    deployment: r.deployment.name,
    state: r.state as NodeRoleState,
    cohort: r.cohort,
    generation: r.generation,
    observedGeneration: r.observedGeneration,
    attempts: r.attempts,
    runCount: r.runCount,
    nextRunAt: num(r.nextRunAt),
    leaseOwner: r.leaseOwner,
    leaseUntil: numOrNull(r.leaseUntil),
    lastError: parseJson<ErrorRecord | null>(r.lastError, null),
    wall: parseJson<Record<string, unknown>>(r.wall, {}),
    updatedAt: num(r.updatedAt),
  };
}

export function runRecord(r: {
  id: number;
  nodeRoleId: number;
  nodeId: number;
  action: string;
  attempt: number;
  worker: string;
  status: string;
  startedAt: bigint;
  endedAt: bigint | null;
  exitCode: number | null;
  stdoutTail: string;
  stderrTail: string;
  command: string | null;
  inputs: string;
  error: string | null;
}): RunRecord {
  return {
    ...r,
    status: r.status as RunStatus,
    action: r.action as RunAction,
    startedAt: num(r.startedAt),
    endedAt: numOrNull(r.endedAt),
    inputs: parseJson<Record<string, unknown>>(r.inputs, {}),
    error: parseJson<ErrorRecord | null>(r.error, null),
  };
}

export function eventRecord(r: {
  id: number;
  at: bigint;
  actor: string;
  type: string;
  objectType: string;
  objectId: number | null;
  data: string;
}): EventRecord {
  return { ...r, at: num(r.at), data: parseJson<Record<string, unknown>>(r.data, {}) };
}
