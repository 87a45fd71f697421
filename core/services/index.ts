/** Use cases shared by the API, the CLI and the tests. */
import { bindingService } from './binding';
import { blueprintsService } from './blueprints';
import { changesService } from './changes';
import type { ServiceDeps } from './deps';
import { checksService } from './checks';
import { inventoryService } from './inventory';
import { lifecycleService } from './lifecycle';
import { networksService } from './networks';
import { powerService } from './power';
import { provisionerService } from './provisioner';
import { statusService } from './status';
import { tokensService } from './tokens';
import { watchdogService } from './watchdog';

export type { Actor, ServiceDeps } from './deps';
export { useCase } from './deps';

export function createServices(deps: ServiceDeps) {
  const binding = bindingService(deps);
  const changes = changesService(deps);
  const inventory = inventoryService(deps, { binding, changes });
  const lifecycle = lifecycleService(deps, { binding, changes });
  return {
    binding,
    blueprints: blueprintsService(deps, { changes, inventory, lifecycle }),
    changes,
    inventory,
    lifecycle,
    networks: networksService(deps),
    power: powerService(deps),
    provisioner: provisionerService(deps),
    status: statusService(deps),
    tokens: tokensService(deps),
    watchdog: watchdogService(deps),
  };
}

/** The services the annealer's admin hooks use (everything but checks, which stand on the annealer). */
export type CoreServices = ReturnType<typeof createServices>;

/** Every service: the core ones plus checks (built in boot.ts once the annealer exists). */
export type Services = CoreServices & { checks: ReturnType<typeof checksService> };

export { checksService };
