/**
 * Builds the context an action or a check gets for one node-role (DESIGN §4): the node, the resolved
 * attribs, the jig's executor, the plugin's renderer, a logger tagged with node and role, the abort
 * signal, the clock and anneal's admin hooks. Throws ERR_JIG_UNKNOWN when the role's jig cannot reach
 * the node (no key, no address).
 */
import { AppError } from '../errors';
import type { Logger } from '../log';
import type { AdminHooks, NodeView, RoleContext } from '../plugins/manifest';
import { roleTemplateData, type LoadedRole, type Registry } from '../plugins/registry';
import type { Jigs } from './jigs';

export interface RoleContextInput {
  role: LoadedRole;
  node: NodeView;
  deployment: string;
  attribs: Record<string, unknown>;
  generation: number;
  wall: Record<string, unknown>;
}

export interface RoleContextEnv {
  registry: Registry;
  jigs: Jigs;
  now(): number;
  log: Logger;
  admin(node: NodeView): AdminHooks;
}

export function roleContext(input: RoleContextInput, env: RoleContextEnv, signal: AbortSignal): RoleContext {
  const { role, node, deployment, attribs } = input;
  return {
    node,
    role: role.name,
    deployment,
    generation: input.generation,
    wall: input.wall,
    attribs,
    exec: env.jigs(role.jig, node),
    render: (template, data) =>
      env.registry.renderer.renderFile(
        env.registry.templatePath(role.name, template),
        data ?? roleTemplateData({ node, role: role.name, deployment, attribs }),
      ),
    log: {
      info: (msg, data) => env.log.info({ node: node.name, role: role.name, ...data }, msg),
      warn: (msg, data) => env.log.warn({ node: node.name, role: role.name, ...data }, msg),
    },
    signal,
    now: env.now,
    admin: env.admin(node),
  };
}

/** Admin hooks for an annealer built without services (benchmarks, unit tests): every call says so. */
export function adminUnavailable(): AdminHooks {
  const fail = (): Promise<never> =>
    Promise.reject(
      new AppError('ERR_INTERNAL', "anneal's admin services are not wired into this annealer (see core/boot.ts)"),
    );
  return {
    power: { status: fail, act: fail, nextBoot: fail },
    recordFacts: fail,
    recordAttribs: fail,
    deploymentNodes: fail,
    deploymentAttrib: fail,
    deploymentAllocations: fail,
    clusterMembers: fail,
    managedPublicKey: fail,
    bmc: { settings: fail, redfish: fail },
    install: { request: fail, current: fail },
  };
}
