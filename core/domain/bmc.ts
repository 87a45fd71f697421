/**
 * Where a node's BMC answers. `bmcAddress` is a host (IPv4, IPv6 or name) with an optional port
 * (`10.0.0.5`, `bmc1.example:623`, `[fd00::5]:8443`), validated at the API edge; the port defaults to
 * the driver's standard one. Pure.
 */
import type { BmcDriverName } from './vocabulary';

/** `ssh` reaches the node itself (its management address), not a BMC: port 22. */
export const defaultBmcPorts: Record<BmcDriverName, number> = { ipmi: 623, redfish: 443, ssh: 22 };

export function bmcEndpoint(address: string, driver: BmcDriverName): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  if (m) return { host: m[1] ?? m[2]!, port: Number(m[3]) };
  return { host: address.replace(/^\[(.*)\]$/, '$1'), port: defaultBmcPorts[driver] };
}
