/**
 * Picks a node's hardware driver (core/hardware/driver.ts) for raid-configure and bios-configure: the role's
 * `<barclamp>/driver` attrib when it names one, otherwise (`auto`) `redfish` when bmc-configure found a
 * Redfish BMC (`bmc/driver`), else `lab`.
 */
import type { RoleContext } from '../plugins/manifest';
import type { HardwareDriver, HardwareDriverName } from './driver';
import { createLabHardwareDriver } from './lab';
import { createRedfishHardwareDriver } from './redfish';

export type { HardwareDriver, HardwareDriverName } from './driver';

export function chooseHardwareDriver(setting: 'auto' | HardwareDriverName, bmcDriver: unknown): HardwareDriverName {
  if (setting !== 'auto') return setting;
  return bmcDriver === 'redfish' ? 'redfish' : 'lab';
}

export function hardwareDriverFor(ctx: RoleContext, name: HardwareDriverName): HardwareDriver {
  if (name === 'redfish') {
    return createRedfishHardwareDriver(ctx.node.name, (method, path, body) =>
      ctx.admin.bmc.redfish(method, path, body),
    );
  }
  return createLabHardwareDriver(ctx.node.name, ctx.exec, ctx.signal);
}
