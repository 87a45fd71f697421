/**
 * The admin hooks actions get (RoleContext.admin): this node's BMC through the power service, its facts,
 * and its network-boot install through the provisioner, all as the `annealer` actor. Errors are the
 * services' own AppErrors (power trouble is operational, so a failing action is retried).
 *
 * `bmc.redfish` (hardware drivers: RAID volumes, BIOS settings) sends one request to the node's Redfish
 * service with the stored credentials, through the per-BMC limits the power service uses (same key), so
 * hardware calls and power calls to one BMC never overlap. The password is read here and handed only to
 * core/power/redfish-http.ts, as the power service does.
 */
import { bmcEndpoint } from '../domain/bmc';
import { parseCidr, type NetworkRecord } from '../domain/ipam';
import { AppError, inputError } from '../errors';
import type { AdminHooks, InstallView, NodeView } from '../plugins/manifest';
import { redfishRequest, type RedfishHttpOptions } from '../power/redfish-http';
import type { CoreServices } from '.';
import { useCase, type ServiceDeps } from './deps';

const ACTOR = 'annealer';

function installView(i: { id: number; os: string; state: string; createdAt: number; completedAt: number | null }) {
  return { id: i.id, os: i.os, state: i.state, requestedAt: i.createdAt, completedAt: i.completedAt };
}

/** How hardware drivers reach Redfish BMCs: the power driver's settings (config.redfish). */
export interface AdminHookOptions {
  redfish?: Partial<RedfishHttpOptions>;
}

export function adminHooksFor(
  deps: ServiceDeps,
  services: CoreServices,
  opts: AdminHookOptions = {},
): (node: NodeView) => AdminHooks {
  const http: RedfishHttpOptions = {
    protocol: opts.redfish?.protocol ?? 'https',
    acceptSelfSignedCertificates: opts.redfish?.acceptSelfSignedCertificates ?? false,
    timeoutMs: opts.redfish?.timeoutMs ?? 20_000,
  };
  return (node) => ({
    power: {
      async status() {
        const n = await services.power.readPower(node.id);
        if (n.powerState === 'unknown')
          throw new AppError('ERR_POWER_FAILED', `BMC of ${node.name} gave no power state`);
        return n.powerState;
      },
      async act(action) {
        await services.power.act(node.id, action, ACTOR);
      },
      async nextBoot(device) {
        await services.power.nextBoot(node.id, device, ACTOR);
      },
    },
    bmc: {
      async settings() {
        const n = await deps.store.nodes.get(node.id);
        const password = await deps.store.nodeSecrets.get(n.id, 'bmc-password');
        return { driver: n.bmcDriver, address: n.bmcAddress, username: n.bmcUsername, hasPassword: Boolean(password) };
      },
      async redfish(method, path, body) {
        const n = await deps.store.nodes.get(node.id);
        const password = await deps.store.nodeSecrets.get(n.id, 'bmc-password');
        const missing = [
          ...(n.bmcAddress ? [] : ['address']),
          ...(n.bmcUsername ? [] : ['username']),
          ...(password ? [] : ['password']),
        ];
        if (n.bmcDriver !== 'redfish' || missing.length) {
          const why = missing.length
            ? `has no BMC ${missing.join(', ')}`
            : `has a ${n.bmcDriver} BMC, not a Redfish one`;
          throw new AppError(
            'ERR_POWER_NOT_CONFIGURED',
            `node ${n.name} ${why}: set its Redfish BMC with PUT /api/v2/nodes/${n.name}/bmc {"driver": "redfish", "address", "username", "password"}`,
            { details: { node: n.name, driver: n.bmcDriver, missing } },
          );
        }
        const { host, port } = bmcEndpoint(n.bmcAddress!, 'redfish');
        const target = { node: n.name, host, port, username: n.bmcUsername!, password: password! };
        const res = await deps.power.limits.schedule(`redfish:${n.bmcAddress}`, () =>
          redfishRequest(target, http, method, path, body),
        );
        return { status: res.status, body: res.body };
      },
    },
    async recordFacts(facts) {
      const current = await deps.store.nodes.get(node.id);
      // Same facts again (a second inventory of the same hardware): no write, the node is unchanged.
      const same = Object.entries(facts).every(([k, v]) => JSON.stringify(current.facts[k]) === JSON.stringify(v));
      if (same) return;
      await deps.store.nodes.update(node.id, { facts: { ...current.facts, ...facts } }, deps.now());
    },
    async recordAttribs(values) {
      const checked = Object.entries(values).map(([name, value]) => {
        const c = deps.registry.validateAttribValue(name, value);
        if (!c.ok) throw inputError(c.issues, 'ERR_ATTRIB_INVALID');
        return { name, value: c.value };
      });
      // One transaction: the values and the re-runs they cause commit together.
      await useCase(deps, async (uow) => {
        const ids = (await uow.tx.catalog.ids()).attribIds;
        const changed = [];
        for (const { name, value } of checked) {
          const change = await uow.tx.attribs.setCommitted(
            { id: ids.get(name)!, name },
            'node',
            node.id,
            value,
            deps.now(),
          );
          if (change) changed.push(change);
        }
        if (changed.length) await services.changes.rerun(changed, ACTOR, uow);
      });
    },
    async deploymentNodes() {
      const { deploymentId } = await deps.store.nodes.get(node.id);
      const nodes = await deps.store.nodes.list({ deploymentId, system: false }, { offset: 0, limit: 1_000_000 });
      return nodes.map((n) => ({ name: n.name, address: n.address }));
    },
    async deploymentAttrib(name) {
      const { deploymentId } = await deps.store.nodes.get(node.id);
      const nodes = await deps.store.nodes.list({ deploymentId, system: false }, { offset: 0, limit: 1_000_000 });
      const values = await deps.store.attribs.committedFor({
        deploymentIds: [],
        nodeIds: nodes.map((n) => n.id),
        nodeRoleIds: [],
      });
      const byNode = new Map(values.filter((v) => v.attrib === name).map((v) => [v.targetId, v.value]));
      return nodes
        .filter((n) => byNode.has(n.id))
        .map((n) => ({ name: n.name, address: n.address, value: byNode.get(n.id) }));
    },
    async clusterMembers(role) {
      const { deploymentId } = await deps.store.nodes.get(node.id);
      return deps.store.nodeRoles.members(deploymentId, role);
    },
    async deploymentAllocations() {
      const { deploymentId } = await deps.store.nodes.get(node.id);
      const allocations = await deps.store.networks.allocations({ nodeDeploymentId: deploymentId });
      const networks = new Map<number, NetworkRecord>();
      for (const id of new Set(allocations.map((a) => a.networkId))) {
        networks.set(id, await deps.store.networks.get(id));
      }
      return allocations.map((a) => {
        const n = networks.get(a.networkId)!;
        return {
          node: a.node,
          address: a.address,
          network: n.name,
          cidr: n.cidr,
          prefix: parseCidr(n.cidr)!.prefix,
          gateway: n.gateway,
          vlan: n.vlan,
          category: n.category,
          interface: n.interface,
        };
      });
    },
    async managedPublicKey() {
      return deps.managedPublicKey;
    },
    install: {
      async request(opts = {}): Promise<InstallView> {
        return installView(await services.provisioner.requestInstall(node.id, opts, ACTOR));
      },
      async current(): Promise<InstallView | null> {
        try {
          return installView(await services.provisioner.currentInstall(node.id));
        } catch (err) {
          if (err instanceof AppError && err.code === 'ERR_INSTALL_NOT_FOUND') return null;
          throw err;
        }
      },
    },
  });
}
