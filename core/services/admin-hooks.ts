/**
 * The admin hooks actions get (RoleContext.admin): this node's BMC through the power service, its facts,
 * and its network-boot install through the provisioner, all as the `annealer` actor. Errors are the
 * services' own AppErrors (power trouble is operational, so a failing action is retried).
 */
import { AppError, inputError } from '../errors';
import type { AdminHooks, InstallView, NodeView } from '../plugins/manifest';
import type { Services } from '.';
import type { ServiceDeps } from './deps';

const ACTOR = 'annealer';

function installView(i: { id: number; os: string; state: string; createdAt: number; completedAt: number | null }) {
  return { id: i.id, os: i.os, state: i.state, requestedAt: i.createdAt, completedAt: i.completedAt };
}

export function adminHooksFor(deps: ServiceDeps, services: Services): (node: NodeView) => AdminHooks {
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
    async recordFacts(facts) {
      const current = await deps.store.nodes.get(node.id);
      await deps.store.nodes.update(node.id, { facts: { ...current.facts, ...facts } }, deps.now());
    },
    async recordAttribs(values) {
      const ids = (await deps.store.catalog.ids()).attribIds;
      const changed = [];
      for (const [name, value] of Object.entries(values)) {
        const checked = deps.registry.validateAttribValue(name, value);
        if (!checked.ok) throw inputError(checked.issues, 'ERR_ATTRIB_INVALID');
        const id = ids.get(name)!;
        const change = await deps.store.attribs.setCommitted({ id, name }, 'node', node.id, checked.value, deps.now());
        if (change) changed.push(change);
      }
      if (changed.length) await services.changes.rerun(changed, ACTOR);
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
