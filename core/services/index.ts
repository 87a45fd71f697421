/** Use cases shared by the API, the CLI and the tests. */
import { bindingService } from './binding';
import { changesService } from './changes';
import { checksService } from './checks';
import type { ServiceDeps } from './deps';
import { inventoryService } from './inventory';
import { networksService } from './networks';
import { powerService } from './power';
import { provisionerService } from './provisioner';
import { statusService } from './status';
import { tokensService } from './tokens';
import { watchdogService } from './watchdog';

export type { Actor, ServiceDeps } from './deps';

export function createServices(deps: ServiceDeps) {
  const binding = bindingService(deps);
  const changes = changesService(deps);
  return {
    binding,
    changes,
    checks: checksService(deps),
    inventory: inventoryService(deps, { binding, changes }),
    networks: networksService(deps),
    power: powerService(deps),
    provisioner: provisionerService(deps),
    status: statusService(deps),
    tokens: tokensService(deps),
    watchdog: watchdogService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
